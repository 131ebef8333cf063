package protocol

import (
	"crypto/ed25519"
	"testing"
)

// BenchmarkSignedParseVerify is the signed-code part of scan-to-verdict:
// base32 decode, payload parse and one Ed25519 verification.
func BenchmarkSignedParseVerify(b *testing.B) {
	s := fixSignedText(b)
	ring, _ := NewKeyRing(fixKey.IssuingKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.ParseVerify(s, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignedParseOnly(b *testing.B) {
	s := fixSignedText(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSigned(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	c := fixSignedCode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fixKey.Sign(c, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSecretHash is the card-secret part of scan-to-verdict:
// normalisation and the keyed hash that is then looked up.
func BenchmarkSecretHash(b *testing.B) {
	h, _ := NewSecretHasher(fixPepper)
	b.ReportAllocs()
	for b.Loop() {
		n, err := NormalizeSecret("abcd-1234-efgh-5678")
		if err != nil {
			b.Fatal(err)
		}
		_ = h.Hash(n)
	}
}

// BenchmarkTOTPCheck parses a dynamic code and verifies it at the current
// step (the common case: one HMAC).
func BenchmarkTOTPCheck(b *testing.B) {
	s := DynamicAt("D00000000042", fixSeed, t0)
	b.ReportAllocs()
	for b.Loop() {
		d, err := ParseDynamic(s)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := VerifyTOTP(fixSeed, d.Value, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTOTPCheckMiss is the worst case: a wrong value checks every step
// of the stale window before it is refused.
func BenchmarkTOTPCheckMiss(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyTOTP(fixSeed, "00000000", t0); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkEventEncode(b *testing.B) {
	e := fixEvent(1, Hash{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignEvent(fixTerminal, &e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventDecode(b *testing.B) {
	se := fixEvents(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := se.Verify(fixTerminalPub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventDecodeNoSig is the JSON part of EventDecode alone.
func BenchmarkEventDecodeNoSig(b *testing.B) {
	se := fixEvents(b, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := se.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchDecodeVerify is the hub's per-batch ingest work before the
// ledger: decode a 100-event batch and verify its chain, every signature.
// ns/op / 100 is the cost per event.
func BenchmarkBatchDecodeVerify(b *testing.B) { benchBatch(b, VerifyChain) }

// BenchmarkBatchDecodeVerifyLinked is the same with VerifyChainLinked: one
// signature verification per batch.
func BenchmarkBatchDecodeVerifyLinked(b *testing.B) { benchBatch(b, VerifyChainLinked) }

func benchBatch(b *testing.B, verify func(ChainHead, ed25519.PublicKey, []SignedEvent) (ChainHead, []Event, error)) {
	evs := fixEvents(b, 100)
	wire, err := Encode(&EventBatch{Terminal: "T-SH001-1", Sent: t0, Events: evs})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		var batch EventBatch
		if err := Decode(wire, &batch); err != nil {
			b.Fatal(err)
		}
		if _, _, err := verify(ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, fixTerminalPub, batch.Events); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBatchEncode(b *testing.B) {
	batch := &EventBatch{Terminal: "T-SH001-1", Sent: t0, Events: fixEvents(b, 100)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClaimRoundTrip(b *testing.B) {
	msgs := fixMessages(b)
	req, reply := msgs["claim_request"], msgs["claim_reply"]
	b.ReportAllocs()
	for b.Loop() {
		rb, _ := Encode(req)
		var r ClaimRequest
		if err := Decode(rb, &r); err != nil {
			b.Fatal(err)
		}
		pb, _ := Encode(reply)
		var p ClaimReply
		if err := Decode(pb, &p); err != nil {
			b.Fatal(err)
		}
	}
}
