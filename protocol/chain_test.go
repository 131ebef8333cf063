package protocol

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var fixTerminalPub = fixTerminal.Public().(ed25519.PublicKey)

func TestVerifyChainWhole(t *testing.T) {
	evs := fixEvents(t, 6)
	head, got, err := VerifyChain(ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, fixTerminalPub, evs)
	if err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	if head.Seq != 6 || head.Hash != evs[5].Hash() || len(got) != 6 {
		t.Errorf("head %+v with %d events, want seq 6, hash of event 6, 6 events", head, len(got))
	}
	if got[2].Kind != KindVoid || got[2].Voids.String() != "T-SH001-1:1" {
		t.Errorf("event 3 = %+v, want a void of T-SH001-1:1", got[2])
	}
	// Continuing from a head in the middle works too.
	mid := ChainHead{Terminal: "T-SH001-1", Store: "sh-001", Seq: 4, Hash: evs[3].Hash()}
	if head, _, err := VerifyChain(mid, fixTerminalPub, evs[4:]); err != nil || head.Seq != 6 {
		t.Errorf("from seq 4: head %d, %v", head.Seq, err)
	}
}

func TestVerifyChainBreaks(t *testing.T) {
	evs := fixEvents(t, 5)
	resign := func(seq uint64, mod func(*Event)) SignedEvent {
		var prev Hash
		if seq > 1 {
			prev = evs[seq-2].Hash()
		}
		e := fixEvent(seq, prev)
		mod(&e)
		se, err := SignEvent(fixTerminal, &e)
		if err != nil {
			t.Fatalf("resign %d: %v", seq, err)
		}
		return se
	}
	with := func(i int, se SignedEvent) []SignedEvent {
		out := append([]SignedEvent(nil), evs...)
		out[i] = se
		return out
	}
	forged := evs[2]
	forged.Body = bytes.Replace(forged.Body, []byte(`"uses":1`), []byte(`"uses":9`), 1)
	otherKey := resign(3, func(e *Event) {})
	otherKey.Sig = ed25519.Sign(seedKey("stolen laptop"), eventMessage(otherKey.Body))
	forkEv := resign(4, func(e *Event) { e.Cashier = "c-9999" })  // same seq, other content...
	fork := []SignedEvent{evs[0], evs[1], evs[2], forkEv, evs[4]} // ...so event 5's prev no longer matches
	badBody := resign(3, func(e *Event) {})
	badBody.Body = []byte(`{"v":1,"seq":"three"}`)
	badBody.Sig = ed25519.Sign(fixTerminal, eventMessage(badBody.Body))

	tests := []struct {
		name  string
		head  ChainHead
		seg   []SignedEvent
		index int
		seq   uint64
		kind  BreakKind
		// strictOnly: the body is intact and only its signature is wrong, which
		// VerifyChainLinked by design does not see before the last event.
		strictOnly bool
	}{
		{"edited body", ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, with(2, forged), 2, 0, BreakBadSignature, false},
		{"another key", ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, with(2, otherKey), 2, 0, BreakBadSignature, true},
		{"gap", ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, append(evs[:2:2], evs[3:]...), 2, 4, BreakGap, false},
		{"fork", ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, fork, 4, 5, BreakFork, false},
		{"wrong terminal", ChainHead{Terminal: "T-SH002-1", Store: "sh-001"}, evs, 0, 1, BreakWrongTerminal, false},
		{"wrong store", ChainHead{Terminal: "T-SH001-1", Store: "sh-002"}, evs, 0, 1, BreakWrongStore, false},
		{"stale", ChainHead{Terminal: "T-SH001-1", Store: "sh-001", Seq: 2, Hash: evs[1].Hash()}, evs, 0, 1, BreakStale, false},
		{"head hash differs", ChainHead{Terminal: "T-SH001-1", Store: "sh-001", Seq: 2, Hash: evs[0].Hash()}, evs[2:], 0, 3, BreakFork, false},
		{"malformed body", ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, with(2, badBody), 2, 0, BreakMalformed, false},
		{"first event not seq 1", ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, evs[1:], 0, 2, BreakGap, false},
	}
	verifiers := map[string]func(ChainHead, ed25519.PublicKey, []SignedEvent) (ChainHead, []Event, error){
		"strict": VerifyChain, "linked": VerifyChainLinked,
	}
	for _, tt := range tests {
		for vname, verify := range verifiers {
			if tt.strictOnly && vname == "linked" {
				continue
			}
			t.Run(tt.name+"/"+vname, func(t *testing.T) {
				head, ok, err := verify(tt.head, fixTerminalPub, tt.seg)
				var ce *ChainError
				if !errors.As(err, &ce) {
					t.Fatalf("VerifyChain error %v, want a *ChainError", err)
				}
				if ce.Index != tt.index || ce.Seq != tt.seq || ce.Kind != tt.kind {
					t.Errorf("break at index %d seq %d %s (%v), want index %d seq %d %s", ce.Index, ce.Seq, ce.Kind, err, tt.index, tt.seq, tt.kind)
				}
				if len(ok) != tt.index || head.Seq != tt.head.Seq+uint64(tt.index) {
					t.Errorf("verified prefix %d events to head %d, want %d events", len(ok), head.Seq, tt.index)
				}
			})
		}
	}
}

// TestVerifyChainLinkedSkipsInnerSignatures pins the documented trade-off:
// an inner event whose body is intact but whose signature bytes are wrong
// passes VerifyChainLinked and fails VerifyChain.
func TestVerifyChainLinkedSkipsInnerSignatures(t *testing.T) {
	evs := fixEvents(t, 4)
	evs[1].Sig = append([]byte(nil), evs[1].Sig...)
	evs[1].Sig[0] ^= 1
	if _, _, err := VerifyChainLinked(ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, fixTerminalPub, evs); err != nil {
		t.Errorf("VerifyChainLinked: %v, want the intact chain accepted", err)
	}
	if _, _, err := VerifyChain(ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, fixTerminalPub, evs); err == nil {
		t.Error("VerifyChain accepted a bad inner signature")
	}
	evs[3].Sig = evs[1].Sig // the last signature is always checked
	if _, _, err := VerifyChainLinked(ChainHead{Terminal: "T-SH001-1", Store: "sh-001"}, fixTerminalPub, evs); err == nil {
		t.Error("VerifyChainLinked accepted a bad last signature")
	}
}

func TestSignEventRefusesInvalid(t *testing.T) {
	base := fixEvent(1, Hash{})
	tests := []struct {
		name string
		mod  func(*Event)
		want string
	}{
		{"version", func(e *Event) { e.V = 2 }, "v 2"},
		{"seq 0", func(e *Event) { e.Seq = 0 }, "seq must start at 1"},
		{"prev on seq 1", func(e *Event) { e.Prev[0] = 1 }, "prev must be zero"},
		{"no prev on seq 2", func(e *Event) { e.Seq = 2 }, "prev must be zero"},
		{"no time", func(e *Event) { e.At = time.Time{} }, "missing time"},
		{"mode", func(e *Event) { e.Mode = "maybe" }, "mode"},
		{"entry", func(e *Event) { e.Entry = "telepathy" }, "entry"},
		{"reason", func(e *Event) { e.Reason = "fine" }, "closed list"},
		{"redemption refused", func(e *Event) { e.Reason = UsedUp }, "accepted decision"},
		{"redemption without code", func(e *Event) { e.Code = "" }, "needs code"},
		{"void without target", func(e *Event) { e.Kind = KindVoid }, "voids is set exactly"},
		{"attempt accepted", func(e *Event) { e.Kind, e.Uses = KindAttempt, 0 }, "refusal"},
		{"attempt uses", func(e *Event) { e.Kind, e.Reason = KindAttempt, UsedUp }, "consumes no uses"},
		{"kind", func(e *Event) { e.Kind = "gift" }, `kind "gift"`},
		{"card secret as code", func(e *Event) { e.Code = "abcd1234" }, "code id"},
		{"long order ref", func(e *Event) { e.OrderRef = strings.Repeat("x", 201) }, "at most 200 bytes"},
		{"note not UTF-8", func(e *Event) { e.Note = "bad \xff byte" }, "valid UTF-8"},
		{"amount too large", func(e *Event) { e.Amount = MaxMoney + 1 }, "must be in range"},
		{"void of itself", func(e *Event) { e.Kind, e.Voids = KindVoid, &EventRef{Terminal: e.Terminal, Seq: e.Seq} }, "not an earlier event"},
		{"dynamic without step", func(e *Event) { e.Format = FormatDynamic }, "TOTP step"},
		{"z without totals", func(e *Event) { *e = zEvent(e); e.Z = nil }, "z is set exactly"},
		{"z on a redemption", func(e *Event) { e.Z = &ZReport{Number: 1, From: 1} }, "z is set exactly"},
		{"z with a code", func(e *Event) { z := zEvent(e); z.Code = e.Code; *e = z }, "names no code"},
		{"z number 0", func(e *Event) { *e = zEvent(e); e.Z.Number = 0 }, "want number ≥ 1"},
		{"z covers itself", func(e *Event) { *e = zEvent(e); e.Z.To = e.Seq }, "want number ≥ 1"},
		{"z negative", func(e *Event) { *e = zEvent(e); e.Z.Value = -1 }, "must not be negative"},
		{"z counts too many", func(e *Event) { *e = zEvent(e); e.Z.Redemptions = 2 }, "counts more events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			tt.mod(&e)
			_, err := SignEvent(fixTerminal, &e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SignEvent error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := SignEvent(fixTerminal[:10], &base); err == nil {
		t.Error("SignEvent accepted a short key")
	}
}

// zEvent turns e into a valid z_report at seq 3 closing seqs 1..2.
func zEvent(e *Event) Event {
	z := *e
	z.Seq, z.Prev = 3, Hash{1}
	z.Kind, z.Code, z.Format, z.Campaign, z.Uses, z.Amount, z.Step = KindZReport, "", "", "", 0, 0, 0
	z.Z = &ZReport{Number: 1, From: 1, To: 2, Redemptions: 1, Uses: 1, Value: 500, Refused: 1}
	return z
}

func TestZReportValid(t *testing.T) {
	base := fixEvent(1, Hash{})
	z := zEvent(&base)
	if err := z.Validate(); err != nil {
		t.Fatalf("valid z_report: %v", err)
	}
	empty := z
	empty.Z = &ZReport{Number: 2, From: 3, To: 2} // nothing since the last Z
	if err := empty.Validate(); err != nil {
		t.Fatalf("empty z_report: %v", err)
	}
}

// TestSignedEventBytesSurviveTransport checks that a body signed by one side
// keeps its exact bytes through a batch's encode and decode, so the hub
// verifies what the terminal signed.
func TestSignedEventBytesSurviveTransport(t *testing.T) {
	e := fixEvent(1, Hash{})
	e.Note = `<script>&"quoted" 中文 ` + "\u2028"
	se, err := SignEvent(fixTerminal, &e)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := Encode(&EventBatch{Terminal: e.Terminal, Sent: t0, Events: []SignedEvent{se}})
	if err != nil {
		t.Fatal(err)
	}
	var b EventBatch
	if err := Decode(wire, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Events[0].Body, se.Body) {
		t.Fatalf("body changed in transit\ngot:  %s\nwant: %s", b.Events[0].Body, se.Body)
	}
	got, err := b.Events[0].Verify(fixTerminalPub)
	if err != nil || got.Note != e.Note {
		t.Errorf("Verify after transit: %q, %v", got.Note, err)
	}
	if _, err := b.Events[0].Verify(seedKey("x").Public().(ed25519.PublicKey)); err == nil {
		t.Error("Verify accepted another terminal's key")
	}
}

func TestEventRef(t *testing.T) {
	for _, s := range []string{"T1:1", "a.b-c_d:18446744073709551615"} {
		r, err := ParseEventRef(s)
		if err != nil || r.String() != s {
			t.Errorf("ParseEventRef(%q) = %v, %v", s, r, err)
		}
	}
	for _, s := range []string{"T1", "T1:0", "T1:01", ":5", "T/1:5", "T1:-1", "T1:x"} {
		if _, err := ParseEventRef(s); err == nil {
			t.Errorf("ParseEventRef(%q) accepted", s)
		}
	}
	var r EventRef
	if err := json.Unmarshal([]byte(`"T1:7"`), &r); err != nil || r.Seq != 7 {
		t.Errorf("unmarshal event ref: %+v, %v", r, err)
	}
}

// TestDecodeRefusesNonCanonicalBodies signs bodies that Go would read one
// way and other JSON readers another, or that re-encoding would change, and
// checks each is refused although its signature is good.
func TestDecodeRefusesNonCanonicalBodies(t *testing.T) {
	e := fixEvent(1, Hash{})
	good, err := SignEvent(fixTerminal, &e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Verify(fixTerminalPub); err != nil {
		t.Fatalf("canonical body refused: %v", err)
	}
	body := string(good.Body)
	tests := map[string]string{
		"duplicate key":   strings.Replace(body, `"uses":1,`, `"uses":1,"uses":9,`, 1),
		"mis-cased key":   strings.Replace(body, `"amount":2500`, `"Amount":2500`, 1),
		"unknown key":     strings.Replace(body, `"uses":1,`, `"uses":1,"bonus":true,`, 1),
		"white space":     strings.Replace(body, `"uses":1,`, `"uses": 1,`, 1),
		"raw html":        strings.Replace(body, `"cashier":"c-0042"`, `"cashier":"c-0042","note":"a<b"`, 1),
		"reordered":       strings.Replace(strings.Replace(body, `"v":1,`, ``, 1), `"terminal"`, `"v":1,"terminal"`, 1) + " ",
		"escaped letters": strings.Replace(body, `"store":"sh-001"`, `"store":"sh\u002d001"`, 1),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if b == body {
				t.Fatal("test body unchanged")
			}
			se := SignedEvent{Body: []byte(b), Sig: ed25519.Sign(fixTerminal, eventMessage([]byte(b)))}
			_, err := se.Verify(fixTerminalPub)
			if err == nil || !strings.Contains(err.Error(), "canonical") && !strings.Contains(err.Error(), "event body") {
				t.Errorf("Verify(%s) = %v, want a canonical-form error", b, err)
			}
		})
	}
}
