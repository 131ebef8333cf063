package hub_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

var ctx = context.Background()

// chain is the usual set-up: two stores of region east, a multi-use
// campaign with imported codes, one terminal per store.
type chain struct {
	f      *hubtest.Fixture
	a, b   *hubtest.Term
	codes  []string
	single []string // codes of a single-use campaign
}

func newChain(t testing.TB, cfg hub.Config) *chain {
	f := hubtest.New(t, cfg)
	f.Store("sh-001", "east")
	f.Store("sh-002", "east")
	f.Campaign("multi", 100, nil)
	f.Campaign("single", 1, nil)
	return &chain{f: f, a: f.Terminal("T-A", "sh-001"), b: f.Terminal("T-B", "sh-002"),
		codes: f.Import("multi", 40), single: f.Import("single", 40)}
}

func (c *chain) code(t testing.TB, id string) hub.CodeInfo {
	t.Helper()
	info, err := c.f.Hub.LookupCode(ctx, id)
	if err != nil {
		t.Fatalf("lookup %s: %v", id, err)
	}
	return info
}

func (c *chain) countEvents(t testing.TB, terminal string) int {
	t.Helper()
	n := 0
	err := c.f.Hub.Redemptions(ctx, hub.EventFilter{Terminal: terminal, Kinds: []protocol.EventKind{
		protocol.KindRedemption, protocol.KindVoid, protocol.KindAttempt}}, func(hub.Redemption) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func alerts(t testing.TB, h *hub.Hub, kind hub.AlertKind) []hub.Alert {
	t.Helper()
	as, err := h.Alerts(ctx, hub.AlertFilter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// The same three batches, each delivered three times in a random order,
// with a hub restart somewhere in the middle, count once: every event in
// the ledger once, every code's uses taken once.
func TestIngestThreeTimesReorderedWithRestart(t *testing.T) {
	for seed := range uint64(12) {
		c := newChain(t, hub.Config{})
		var batches [][]protocol.SignedEvent
		for b := range 3 {
			var evs []protocol.SignedEvent
			for i := range 10 {
				evs = append(evs, c.a.Redemption(c.codes[b*10+i], "multi", protocol.FormatSecret, 1+i%3, protocol.ModeOffline))
			}
			batches = append(batches, evs)
		}
		order := []int{0, 1, 2, 0, 1, 2, 0, 1, 2}
		r := rand.New(rand.NewPCG(seed, 7))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		restartAt := 1 + r.IntN(len(order)-1)
		var ack protocol.Ack
		for i, b := range order {
			if i == restartAt {
				c.f.Restart()
			}
			evs := slices.Clone(batches[b])
			if r.IntN(2) == 0 { // reordered inside the batch too
				r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			}
			ack = c.a.Ingest(evs...)
			if ack.Refused != nil {
				t.Fatalf("seed %d: delivery %d refused: %+v", seed, i, ack.Refused)
			}
		}
		// What a terminal does: re-send everything after the watermark.
		if ack.Seq < 30 {
			var rest []protocol.SignedEvent
			for _, b := range batches {
				for _, se := range b {
					e, _ := se.Decode()
					if e.Seq > ack.Seq {
						rest = append(rest, se)
					}
				}
			}
			ack = c.a.Ingest(rest...)
		}
		if ack.Seq != 30 {
			t.Fatalf("seed %d: watermark %d after every event was delivered, want 30", seed, ack.Seq)
		}
		if n := c.countEvents(t, "T-A"); n != 30 {
			t.Fatalf("seed %d: %d events in the ledger, want 30", seed, n)
		}
		for i, id := range c.codes[:30] {
			if got, want := c.code(t, id).Used, 1+i%10%3; got != want {
				t.Fatalf("seed %d: code %d used %d times, want %d", seed, i, got, want)
			}
		}
		if as, _ := c.f.Hub.Alerts(ctx, hub.AlertFilter{}); len(as) != 0 {
			t.Fatalf("seed %d: alerts %+v, want none", seed, as)
		}
	}
}

// A batch that jumps ahead waits for the missing events; they complete the
// chain when they come. A gap that stays open past the grace period is an
// alert.
func TestIngestGap(t *testing.T) {
	c := newChain(t, hub.Config{GapGrace: time.Minute})
	var evs []protocol.SignedEvent
	for i := range 6 {
		evs = append(evs, c.a.Redemption(c.codes[i], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	}
	if ack := c.a.Ingest(evs[3:]...); ack.Seq != 0 || ack.Refused != nil {
		t.Fatalf("ack of events 4-6 with 1-3 missing: %+v, want watermark 0 and no refusal", ack)
	}
	if got := alerts(t, c.f.Hub, hub.AlertGap); len(got) != 0 {
		t.Fatalf("gap alert at once: %+v", got)
	}
	c.f.Clock.Add(2 * time.Minute)
	if ack := c.a.Ingest(evs[4]); ack.Seq != 0 {
		t.Fatalf("ack %d, want 0", ack.Seq)
	}
	gaps := alerts(t, c.f.Hub, hub.AlertGap)
	if len(gaps) != 1 || !slices.Equal(gaps[0].Terminals, []string{"T-A"}) {
		t.Fatalf("gap alerts %+v, want one naming T-A", gaps)
	}
	if ack := c.a.Ingest(evs[:3]...); ack.Seq != 6 {
		t.Fatalf("ack after the gap filled: %d, want 6", ack.Seq)
	}
	if n := c.countEvents(t, "T-A"); n != 6 {
		t.Fatalf("%d events, want 6", n)
	}
}

func otherKey(id string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("not the terminal's key " + id))
	return ed25519.NewKeyFromSeed(s[:])
}

// Forged events are refused in the ack, raise an alert and change nothing.
func TestIngestForged(t *testing.T) {
	t.Run("bad signature", func(t *testing.T) {
		c := newChain(t, hub.Config{})
		good := c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline)
		e, _ := good.Decode()
		forged, err := protocol.SignEvent(otherKey("a"), &e)
		if err != nil {
			t.Fatal(err)
		}
		ack := c.a.Ingest(forged)
		if ack.Refused == nil || ack.Refused.Kind != protocol.BreakBadSignature || ack.Seq != 0 {
			t.Fatalf("ack %+v, want watermark 0 refused bad_signature", ack)
		}
		if got := alerts(t, c.f.Hub, hub.AlertForged); len(got) != 1 || got[0].Terminals[0] != "T-A" {
			t.Fatalf("alerts %+v, want one forged_event of T-A", got)
		}
		if n := c.code(t, c.codes[0]).Used; n != 0 {
			t.Fatalf("forged event took %d uses", n)
		}
		// The same forgery again extends nothing and raises no new alert.
		c.a.Ingest(forged)
		if got := alerts(t, c.f.Hub, hub.AlertForged); len(got) != 1 {
			t.Fatalf("%d alerts after the same forgery twice, want 1", len(got))
		}
		if ack := c.a.Ingest(good); ack.Seq != 1 || ack.Refused != nil {
			t.Fatalf("the genuine event after a forgery: %+v", ack)
		}
	})
	t.Run("another terminal's events on this terminal's topic", func(t *testing.T) {
		c := newChain(t, hub.Config{})
		theirs := c.b.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline)
		// Published by T-A, naming T-B inside.
		ack, err := c.f.Hub.Ingest(ctx, "T-A", &protocol.EventBatch{Terminal: "T-A", Sent: hubtest.Now, Events: []protocol.SignedEvent{theirs}})
		if err != nil {
			t.Fatal(err)
		}
		// Signed with T-B's key, it fails T-A's signature check first.
		if ack.Refused == nil || (ack.Refused.Kind != protocol.BreakWrongTerminal && ack.Refused.Kind != protocol.BreakBadSignature) {
			t.Fatalf("ack refused %+v, want wrong_terminal or bad_signature", ack.Refused)
		}
		// A batch that claims to come from T-B on T-A's topic.
		ack, err = c.f.Hub.Ingest(ctx, "T-A", c.b.Batch(theirs))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Refused == nil || ack.Refused.Kind != protocol.BreakWrongTerminal {
			t.Fatalf("ack %+v, want refused wrong_terminal", ack)
		}
		got := alerts(t, c.f.Hub, hub.AlertForged)
		if len(got) != 1 || !slices.Equal(got[0].Terminals, []string{"T-A"}) {
			t.Fatalf("alerts %+v, want one forged_event naming T-A", got)
		}
		if n := c.countEvents(t, ""); n != 0 {
			t.Fatalf("%d events in the ledger, want 0", n)
		}
	})
	t.Run("fork", func(t *testing.T) {
		c := newChain(t, hub.Config{})
		first := c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline)
		c.a.Ingest(first)
		e, _ := first.Decode()
		e.Code = c.codes[1]
		other, err := protocol.SignEvent(c.a.Priv, &e)
		if err != nil {
			t.Fatal(err)
		}
		ack := c.a.Ingest(other)
		if ack.Refused == nil || ack.Refused.Kind != protocol.BreakFork || ack.Seq != 1 {
			t.Fatalf("ack %+v, want watermark 1 refused fork", ack)
		}
		if got := alerts(t, c.f.Hub, hub.AlertFork); len(got) != 1 {
			t.Fatalf("fork alerts %+v, want 1", got)
		}
		if n := c.code(t, c.codes[1]).Used; n != 0 {
			t.Fatalf("the forked event took %d uses", n)
		}
	})
	t.Run("unknown and revoked terminals", func(t *testing.T) {
		c := newChain(t, hub.Config{})
		ev := c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline)
		if _, err := c.f.Hub.Ingest(ctx, "T-NOBODY", &protocol.EventBatch{Terminal: "T-NOBODY", Events: []protocol.SignedEvent{ev}}); err == nil {
			t.Fatal("an unknown terminal's batch was taken")
		}
		if _, err := c.f.Hub.RevokeTerminal(ctx, "T-A"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.f.Hub.Ingest(ctx, "T-A", c.a.Batch(ev)); err == nil {
			t.Fatal("a revoked terminal's batch was taken")
		}
		if got := alerts(t, c.f.Hub, hub.AlertRevokedTerm); len(got) != 1 {
			t.Fatalf("alerts %+v, want one revoked_terminal", got)
		}
		if n := c.code(t, c.codes[0]).Used; n != 0 {
			t.Fatalf("code used %d times", n)
		}
	})
}

// Two terminals offline both redeem one single-use code: both events are
// in the ledger (both customers were served), both flagged or counted, and
// exactly one over_redemption alert names both stores and terminals —
// whatever the order they arrive in and however often.
func TestOverRedemptionTwoOffline(t *testing.T) {
	for _, order := range []string{"AB", "BA", "ABAB", "BBAA"} {
		t.Run(order, func(t *testing.T) {
			c := newChain(t, hub.Config{})
			code := c.single[0]
			ev := map[byte]protocol.SignedEvent{
				'A': c.a.Redemption(code, "single", protocol.FormatSecret, 1, protocol.ModeOffline),
				'B': c.b.Redemption(code, "single", protocol.FormatSecret, 1, protocol.ModeOffline),
			}
			term := map[byte]*hubtest.Term{'A': c.a, 'B': c.b}
			for i := range len(order) {
				term[order[i]].Ingest(ev[order[i]])
			}
			got := alerts(t, c.f.Hub, hub.AlertOverRedemption)
			if len(got) != 1 {
				t.Fatalf("%d over_redemption alerts, want 1: %+v", len(got), got)
			}
			a := got[0]
			if !slices.Equal(a.Stores, []string{"sh-001", "sh-002"}) || !slices.Equal(a.Terminals, []string{"T-A", "T-B"}) || a.Code != code {
				t.Fatalf("alert %+v, want code %s, stores sh-001 and sh-002, terminals T-A and T-B", a, code)
			}
			info := c.code(t, code)
			if info.Used != 2 || info.UsesLeft != 0 || len(info.Redemptions) != 2 {
				t.Fatalf("code used %d, left %d, %d redemptions; want 2, 0, 2", info.Used, info.UsesLeft, len(info.Redemptions))
			}
			flagged := 0
			for _, r := range info.Redemptions {
				if slices.Contains(r.Flags, hub.FlagOverRedemption) {
					flagged++
				}
			}
			if flagged != 1 {
				t.Fatalf("%d redemptions flagged over_redemption, want 1", flagged)
			}
		})
	}
}

// A code redeemed offline outside its campaign's stores is recorded,
// flagged and alerted.
func TestScopeViolation(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.f.Campaign("only-a", 1, func(cp *protocol.Campaign) { cp.Stores = []string{"sh-001"} })
	ids := c.f.Import("only-a", 1)
	c.b.Ingest(c.b.Redemption(ids[0], "only-a", protocol.FormatSecret, 1, protocol.ModeOffline))
	got := alerts(t, c.f.Hub, hub.AlertScope)
	if len(got) != 1 || !slices.Equal(got[0].Stores, []string{"sh-002"}) || got[0].Code != ids[0] {
		t.Fatalf("scope alerts %+v, want one for %s at sh-002", got, ids[0])
	}
	info := c.code(t, ids[0])
	if len(info.Redemptions) != 1 || !slices.Contains(info.Redemptions[0].Flags, hub.FlagScope) {
		t.Fatalf("redemptions %+v, want one flagged scope_violation", info.Redemptions)
	}
}

// Voids give uses back; a void of a settled day is still recorded, and
// alerted.
func TestVoidOffline(t *testing.T) {
	c := newChain(t, hub.Config{})
	code := c.codes[0]
	red := c.a.Redemption(code, "multi", protocol.FormatSecret, 3, protocol.ModeOffline)
	c.a.Ingest(red)
	void := func(uses int) protocol.SignedEvent {
		return c.a.Sign(protocol.Event{Kind: protocol.KindVoid, Mode: protocol.ModeOffline, Reason: protocol.Accepted,
			Code: code, Format: protocol.FormatSecret, Campaign: "multi", Uses: uses, Amount: 2500 * int64(uses),
			Voids: &protocol.EventRef{Terminal: "T-A", Seq: 1}, Note: "customer changed mind"})
	}
	c.a.Ingest(void(1))
	if got := c.code(t, code).Used; got != 2 {
		t.Fatalf("used %d after voiding 1 of 3, want 2", got)
	}
	if _, err := c.f.Hub.Lock(ctx, "sh-001", "2026-11-22"); err != nil {
		t.Fatal(err)
	}
	c.a.Ingest(void(1))
	if got := c.code(t, code).Used; got != 1 {
		t.Fatalf("used %d after the second void, want 1", got)
	}
	if got := alerts(t, c.f.Hub, hub.AlertAfterLock); len(got) != 1 {
		t.Fatalf("void_after_settlement alerts %+v, want 1", got)
	}
}

// A batch that does not decode is refused at the watermark with the
// reason, and raises one malformed_message alert however often it comes.
func TestRefuseMalformed(t *testing.T) {
	c := newChain(t, hub.Config{})
	ack := c.a.Ingest(c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	for range 3 {
		got, err := c.f.Hub.RefuseMalformed(ctx, c.a.ID, protocol.TopicEvents, "wire version 9 is not supported")
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != ack.Seq || got.Hash != ack.Hash || got.Refused == nil || got.Refused.Seq != ack.Seq+1 ||
			got.Refused.Kind != protocol.BreakMalformed || !strings.Contains(got.Refused.Detail, "wire version 9") {
			t.Fatalf("ack %+v, want the watermark %d refusing %d as malformed with the reason", got, ack.Seq, ack.Seq+1)
		}
	}
	as := alerts(t, c.f.Hub, hub.AlertMalformed)
	if len(as) != 1 || !slices.Equal(as[0].Terminals, []string{c.a.ID}) || !strings.Contains(as[0].Detail, "wire version 9") {
		t.Errorf("alerts %+v, want one naming %s and the reason", as, c.a.ID)
	}
	if _, err := c.f.Hub.RefuseMalformed(ctx, "T-NOBODY", protocol.TopicEvents, "x"); hub.AsError(err) == nil || hub.AsError(err).Kind != hub.NotFound {
		t.Errorf("unknown terminal: %v, want not found", err)
	}
}

// Presence: a live birth sets online and the clock skew; a retained copy
// replayed after it (older) changes nothing; a live will sets offline.
func TestPresenceOrder(t *testing.T) {
	c := newChain(t, hub.Config{})
	info := func() hub.TerminalInfo {
		t.Helper()
		ts, err := c.f.Hub.Terminals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range ts {
			if i.ID == c.a.ID {
				return i
			}
		}
		t.Fatalf("terminal %s not listed", c.a.ID)
		return hub.TerminalInfo{}
	}
	birth := &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: c.a.ID, Store: c.a.Store,
		State: protocol.PresenceOnline, Clock: c.f.Clock.Now().Add(3 * time.Second)}
	will := &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: c.a.ID, State: protocol.PresenceOffline}
	// A retained will from before the hub started, then the live birth.
	if err := c.f.Hub.Presence(ctx, c.a.ID, will, false); err != nil {
		t.Fatal(err)
	}
	if info().Online {
		t.Fatal("online after a retained will")
	}
	if err := c.f.Hub.Presence(ctx, c.a.ID, birth, true); err != nil {
		t.Fatal(err)
	}
	if i := info(); !i.Online || i.ClockSkew == nil || time.Duration(*i.ClockSkew) != 3*time.Second {
		t.Fatalf("after a live birth 3 s ahead: %+v, want online with skew 3s", i)
	}
	// The version gate, as HQ sees it: a newer terminal is flagged.
	for _, c2 := range []struct{ version, want string }{{"2.0.0", "upgrade the hub first"}, {protocol.Version, ""}} {
		b := *birth
		b.Protocol = c2.version
		if err := c.f.Hub.Presence(ctx, c.a.ID, &b, true); err != nil {
			t.Fatal(err)
		}
		if i := info(); c2.want == "" && i.Incompatible != "" || !strings.Contains(i.Incompatible, c2.want) {
			t.Errorf("terminal on protocol %s: incompatible %q, want %q", c2.version, i.Incompatible, c2.want)
		}
	}
	// The stale retained will again (a broker replay): ignored.
	if err := c.f.Hub.Presence(ctx, c.a.ID, will, false); err != nil {
		t.Fatal(err)
	}
	if !info().Online {
		t.Error("a retained will replayed after the live birth took the terminal offline")
	}
	b := *birth
	b.Protocol, b.App = protocol.Version, "1.4.2"
	if err := c.f.Hub.Presence(ctx, c.a.ID, &b, true); err != nil {
		t.Fatal(err)
	}
	if err := c.f.Hub.Presence(ctx, c.a.ID, will, true); err != nil {
		t.Fatal(err)
	}
	if i := info(); i.Online {
		t.Error("still online after its live will")
	} else if i.App != "1.4.2" || i.Protocol != protocol.Version {
		t.Errorf("after its will the terminal shows app %q protocol %q, want the birth's 1.4.2 and %s kept", i.App, i.Protocol, protocol.Version)
	}
}
