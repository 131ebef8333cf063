package protocol

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// messageTypes lists a constructor for every message, indexed by the
// selector byte of FuzzDecodeMessage.
var messageTypes = []func() Message{
	func() Message { return &EventBatch{} },
	func() Message { return &Ack{} },
	func() Message { return &ClaimRequest{} },
	func() Message { return &ClaimReply{} },
	func() Message { return &FeedRequest{} },
	func() Message { return &FeedPage{} },
	func() Message { return &FeedPush{} },
	func() Message { return &SnapshotRequest{} },
	func() Message { return &SnapshotPage{} },
	func() Message { return &Presence{} },
	func() Message { return &VersionAnnounce{} },
}

func kindIndex(m Message) byte {
	for i, mk := range messageTypes {
		if fmt.Sprintf("%T", mk()) == fmt.Sprintf("%T", m) {
			return byte(i)
		}
	}
	panic("kindIndex: unknown type")
}

// writeSeed writes one seed-corpus file for a fuzz target (with -update).
// Arguments may be byte, []byte or string.
func writeSeed(t *testing.T, target, name string, args ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case byte:
			fmt.Fprintf(&b, "byte('\\x%02x')\n", v)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case int64:
			fmt.Fprintf(&b, "int64(%d)\n", v)
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)

		default:
			t.Fatalf("writeSeed: unsupported %T", a)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWriteSeeds writes the fuzzers' seed corpora with -update.
func TestWriteSeeds(t *testing.T) {
	if !*update {
		t.Skip("only with -update")
	}
	seeds := map[string]string{
		"signed":       fixSignedText(t),
		"signed-lower": strings.ToLower(fixSignedText(t)),
		"secret":       "ABCD-1234-EFGH-5678",
		"fullwidth":    "ＡＢＣＤ１２３４５６７８",
		"dynamic":      DynamicAt("D00000000042", fixSeed, t0),
		"garbage":      "HX1:!!!!",
	}
	for name, s := range seeds {
		writeSeed(t, "FuzzParseCode", name, s)
	}
	writeSeed(t, "FuzzSignedRoundTrip", "one-store", "k1", "C7K2M9Q4XW1Z", "iqiyi-vip-month", t0.Unix(), int64(86400*90), 1, "sh-001", uint8(1), "east")
	writeSeed(t, "FuzzSignedRoundTrip", "no-scope", "k1", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "meal-10x", int64(0), int64(1), MaxUses, "", uint8(0), "")
	writeSeed(t, "FuzzSignedRoundTrip", "wide-scope", "k2026-issuing-01", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "x", int64(1<<33), int64(1<<34), MaxUses, "shanghai-0a1", uint8(16), "")
	chain, _ := json.Marshal(fixEvents(t, 4))
	writeSeed(t, "FuzzVerifyChain", "chain-4", chain, uint64(0))
	writeSeed(t, "FuzzVerifyChain", "chain-4-from-2", chain, uint64(2))
	writeSeed(t, "FuzzVerifyChain", "bad-sig", []byte(`[{"body":{"v":1},"sig":"AAAA"}]`), uint64(0))
	for name, s := range map[string]string{"lunch": "10:30-14:00", "night": "22:00-02:00", "all-day": "00:00-24:00", "bad": "9-17"} {
		writeSeed(t, "FuzzParseHours", name, s)
	}
	for name, s := range map[string]string{"plain": "T-SH001-1:42", "colons": "a:b:3", "zero": "T1:0"} {
		writeSeed(t, "FuzzParseEventRef", name, s)
	}
	for name, s := range map[string]string{
		"events":  "hx/v1/t/T-SH001-1/events",
		"store":   "hx/v1/s/sh-001/feed",
		"version": "hx/v1/hub/version",
		"wild":    "hx/v1/t/+/presence",
	} {
		writeSeed(t, "FuzzParseTopic", name, s)
	}
}

func FuzzParseCode(f *testing.F) {
	f.Add(fixSignedText(f))
	f.Add("ABCD1234EFGH")
	f.Add(DynamicAt("D1", fixSeed, t0))
	ring, err := NewKeyRing(fixKey.IssuingKey)
	if err != nil {
		f.Fatal(err)
	}
	hasher, _ := NewSecretHasher(fixPepper)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			var ce *CodeError
			if !errors.As(err, &ce) || ce.Reason != Malformed || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCode(%q) error %v is not a malformed *CodeError", s, err)
			}
			if len(s) >= MinSecretLen && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q repeats the input", err)
			}
			return
		}
		switch c.Format {
		case FormatSigned:
			if err := c.Signed.Validate(); err != nil {
				t.Fatalf("parsed signed code does not validate: %v", err)
			}
			err := ring.Verify(c.Signed, t0)
			if r := ReasonOf(err); err != nil && r != UnknownCode && r != BadSignature {
				t.Fatalf("Verify reason %s for %v", r, err)
			}
		case FormatSecret:
			n, err := NormalizeSecret(c.Secret)
			if err != nil || n != c.Secret {
				t.Fatalf("secret %q not a fixed point of NormalizeSecret: %q, %v", c.Secret, n, err)
			}
			_ = hasher.Hash(c.Secret)
		case FormatDynamic:
			if _, err := ParseDynamic(c.Dynamic.String()); err != nil {
				t.Fatalf("dynamic %q does not re-parse: %v", c.Dynamic, err)
			}
			_, err := VerifyTOTP(fixSeed, c.Dynamic.Value, t0)
			if r := ReasonOf(err); err != nil && r != Expired && r != BadSignature {
				t.Fatalf("VerifyTOTP reason %s for %v", r, err)
			}
		default:
			t.Fatalf("format %q", c.Format)
		}
	})
}

func FuzzSignedRoundTrip(f *testing.F) {
	f.Add("kf", "C1", "camp", int64(0), int64(3600), 1, "sh-001", uint8(1), "east")
	f.Add("k2026-issuing-01", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "x", int64(1<<33), int64(1<<34), MaxUses, "shanghai-0a1", uint8(16), "")
	f.Fuzz(func(t *testing.T, keyID, id, camp string, from, span int64, uses int, store string, nStores uint8, region string) {
		c := SignedCode{ID: id, Campaign: camp, ValidFrom: time.Unix(from, 0), ValidUntil: time.Unix(from+span, 0), Uses: uses}
		for i := range int(nStores % 20) {
			c.Stores = append(c.Stores, fmt.Sprintf("%s%d", store, i))
		}
		if region != "" {
			c.Regions = []string{region}
		}
		k := testSigningKey(keyID, time.Unix(0, 0), time.Time{})
		s, err := k.Sign(c, t0)
		if err != nil {
			return
		}
		ring, _ := NewKeyRing(k.IssuingKey)
		got, err := ring.ParseVerify(s, t0)
		if err != nil {
			t.Fatalf("signed %q does not verify: %v", s, err)
		}
		if got.ID != id || got.Campaign != camp || got.Uses != uses || got.ValidFrom.Unix() != from || got.ValidUntil.Unix() != from+span ||
			len(got.Stores) != len(c.Stores) || got.KeyID != keyID {
			t.Fatalf("round trip %+v, want %+v", got, c)
		}
		if len(s) > MaxCodeLen {
			t.Fatalf("signed code of %d bytes exceeds MaxCodeLen", len(s))
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range fixMessages(f) {
		b, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(kindIndex(m), b)
	}
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		m := messageTypes[int(kind)%len(messageTypes)]()
		if err := Decode(data, m); err != nil {
			return
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded %T does not re-encode: %v", m, err)
		}
		again := messageTypes[int(kind)%len(messageTypes)]()
		if err := Decode(b, again); err != nil {
			t.Fatalf("re-encoded %T does not decode: %v\n%s", m, err, b)
		}
		b2, _ := Encode(again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable:\n%s\n%s", b, b2)
		}
	})
}

func FuzzVerifyChain(f *testing.F) {
	evs := fixEvents(f, 4)
	batch, _ := json.Marshal(evs)
	f.Add(batch, uint64(0))
	f.Add(batch, uint64(2))
	f.Add([]byte(`[{"body":{"v":1},"sig":"AAAA"}]`), uint64(0))
	pub := fixTerminal.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte, skip uint64) {
		var segment []SignedEvent
		if json.Unmarshal(data, &segment) != nil {
			return
		}
		head := ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}
		// Start from a real prefix of the fixture chain when asked.
		if n := skip % 5; n > 0 {
			head = ChainHead{Terminal: "T-SH001-1", Store: "sh-001", Seq: n, Hash: evs[n-1].Hash()}
		}
		got, ok, err := VerifyChain(head, pub, segment)
		if len(ok) > len(segment) || got.Seq != head.Seq+uint64(len(ok)) {
			t.Fatalf("head %d after %d verified events from %d", got.Seq, len(ok), head.Seq)
		}
		if err == nil && len(ok) != len(segment) {
			t.Fatalf("no error but %d of %d verified", len(ok), len(segment))
		}
		if err != nil {
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Index != len(ok) {
				t.Fatalf("error %v does not point at index %d", err, len(ok))
			}
		}
		if len(ok) > 0 && got.Hash != segment[len(ok)-1].Hash() {
			t.Fatalf("head hash is not the last verified event's")
		}
		lhead, lok, lerr := VerifyChainLinked(head, pub, segment)
		if err == nil && (lerr != nil || lhead != got || len(lok) != len(ok)) {
			t.Fatalf("strict accepted to %d, linked: head %d, %v", got.Seq, lhead.Seq, lerr)
		}
		if lerr != nil && (err == nil || lerr.Error() != err.Error() || lhead != got) {
			t.Fatalf("linked failed with %v, strict with %v", lerr, err)
		}
		// Linked may accept more than strict only past a bad signature on an
		// inner event whose body is intact: then it accepts the whole segment.
		if lerr == nil && err != nil {
			var ce *ChainError
			errors.As(err, &ce)
			if ce.Kind != BreakBadSignature || ce.Index >= len(segment)-1 || len(lok) != len(segment) {
				t.Fatalf("linked accepted %d events where strict broke with %v", len(lok), err)
			}
		}
	})
}

func FuzzParseTopic(f *testing.F) {
	for _, s := range Topics {
		f.Add(strings.NewReplacer("{terminal}", "T1", "{store}", "s1").Replace(s.Pattern))
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTopic(s)
		if err != nil {
			return
		}
		if tp.String() != s {
			t.Fatalf("ParseTopic(%q).String() = %q", s, tp.String())
		}
		if _, ok := tp.Kind.Spec(); !ok {
			t.Fatalf("kind %q has no spec", tp.Kind)
		}
		if TerminalMayPublish("T1", s) && (tp.Terminal != "T1") {
			t.Fatalf("T1 may publish on %q", s)
		}
	})
}

func FuzzParseHours(f *testing.F) {
	f.Add("10:30-14:00")
	f.Add("22:00-02:00")
	f.Add("00:00-24:00")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHours(s)
		if err != nil {
			return
		}
		back, err := ParseHours(h.String())
		if err != nil || back != h {
			t.Fatalf("ParseHours(%q) = %v, re-parse %v, %v", s, h, back, err)
		}
	})
}

func FuzzParseEventRef(f *testing.F) {
	f.Add("T-SH001-1:42")
	f.Add("a:b:3")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseEventRef(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseEventRef(%q).String() = %q", s, r.String())
		}
	})
}
