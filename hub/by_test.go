package hub_test

import (
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// originsFor follows terminal's feed from after and returns the changes of
// code with their origins, and the new cursor.
func originsFor(t *testing.T, h *hub.Hub, terminal, code string, after uint64) ([]protocol.Change, uint64) {
	t.Helper()
	all, next := readFeed(t, h, terminal, after, 0)
	var out []protocol.Change
	for _, c := range all {
		if c.Code != nil && c.Code.ID == code {
			out = append(out, c)
		}
	}
	return out, next
}

func sameOrigin(t *testing.T, what string, got *protocol.ChangeOrigin, want protocol.ChangeOrigin) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no by, want %+v", what, want)
	}
	if !got.At.Equal(want.At) {
		t.Errorf("%s: by.at %s, want %s", what, got.At, want.At)
	}
	g := *got
	g.At = want.At
	if g != want {
		t.Errorf("%s: by\n got %+v\nwant %+v", what, g, want)
	}
}

// Terminal A redeems online; terminal A2 of the same store receives the
// change naming A, its cashier, uses, amount and time, live and from the
// feed table again after a restart.
func TestChangeByOnlineClaim(t *testing.T) {
	c := newChain(t, hub.Config{})
	a2 := c.f.Terminal("T-A2", "sh-001")
	_, cursor := readFeed(t, c.f.Hub, a2.ID, 0, 0)
	notices, stop := c.f.Hub.Subscribe(100)
	defer stop()
	code := c.codes[0]
	req := c.a.Claim(code, "multi", protocol.FormatSecret, 2)
	if r, err := c.f.Hub.Claim(ctx, c.a.ID, req); err != nil || r.Reason != protocol.Accepted {
		t.Fatalf("claim: %+v %v", r, err)
	}
	want := protocol.ChangeOrigin{Terminal: "T-A", Store: "sh-001", Seq: req.Seq, Kind: protocol.KindRedemption, Uses: 2,
		Amount: 5000, Mode: protocol.ModeOnline, Cashier: "c1", At: req.At}
	got, _ := originsFor(t, c.f.Hub, a2.ID, code, cursor)
	if len(got) != 1 || got[0].Kind != protocol.ChangeCodeRedeemed {
		t.Fatalf("A2's feed after A's claim: %+v, want one code_redeemed", got)
	}
	sameOrigin(t, "feed", got[0].By, want)
	var pushed *protocol.ChangeOrigin
	for len(notices) > 0 {
		n := <-notices
		for _, p := range n.Pushes {
			if p.Store == "sh-001" {
				pushed = p.Changes[0].By
			}
		}
	}
	sameOrigin(t, "push to sh-001", pushed, want)

	// The event settles the claim and makes no second change.
	c.a.Ingest(c.a.Redemption(code, "multi", protocol.FormatSecret, 2, protocol.ModeOnline))
	c.f.Restart()
	got, _ = originsFor(t, c.f.Hub, a2.ID, code, cursor)
	if len(got) != 1 {
		t.Fatalf("A2's feed after the event and a restart: %d changes of the code, want 1", len(got))
	}
	sameOrigin(t, "feed after restart", got[0].By, want)
	// B, of the other store, is told the code's state and who used it.
	b, _ := originsFor(t, c.f.Hub, c.b.ID, code, 0)
	if len(b) == 0 || b[len(b)-1].By == nil || b[len(b)-1].By.Store != "sh-001" {
		t.Errorf("B's last change of the code %+v, want one naming store sh-001", b)
	}
}

// An offline redemption and its void name their own events when they are
// ingested; an online void claim names the void.
func TestChangeByOfflineAndVoid(t *testing.T) {
	c := newChain(t, hub.Config{})
	a2 := c.f.Terminal("T-A2", "sh-001")
	_, cursor := readFeed(t, c.f.Hub, a2.ID, 0, 0)
	code := c.codes[1]
	red := c.a.Redemption(code, "multi", protocol.FormatSecret, 3, protocol.ModeOffline)
	ev, err := red.Decode()
	if err != nil {
		t.Fatal(err)
	}
	c.f.Clock.Add(time.Minute) // ingested later than it happened
	c.a.Ingest(red)
	void := c.a.Sign(protocol.Event{Kind: protocol.KindVoid, Mode: protocol.ModeOffline, Reason: protocol.Accepted,
		Code: code, Format: protocol.FormatSecret, Campaign: "multi", Uses: 1, Amount: 2500, Cashier: "m1",
		Voids: &protocol.EventRef{Terminal: "T-A", Seq: ev.Seq}, Note: "customer changed mind"})
	vev, _ := void.Decode()
	c.a.Ingest(void)
	vreq := &protocol.ClaimRequest{Terminal: "T-A", Seq: c.a.Seq() + 1, Kind: protocol.KindVoid, Store: "sh-001", Code: code,
		Format: protocol.FormatSecret, Campaign: "multi", Uses: 1, Voids: &protocol.EventRef{Terminal: "T-A", Seq: ev.Seq},
		At: c.f.Clock.Now(), Cashier: "m1"}
	if r, err := c.f.Hub.Claim(ctx, "T-A", vreq); err != nil || r.Reason != protocol.Accepted {
		t.Fatalf("void claim: %+v %v", r, err)
	}
	got, _ := originsFor(t, c.f.Hub, a2.ID, code, cursor)
	if len(got) != 3 {
		t.Fatalf("A2's feed: %+v, want redeemed, voided, voided", got)
	}
	kinds := []protocol.ChangeKind{protocol.ChangeCodeRedeemed, protocol.ChangeCodeVoided, protocol.ChangeCodeVoided}
	for i, k := range kinds {
		if got[i].Kind != k {
			t.Errorf("change %d is %s, want %s", i, got[i].Kind, k)
		}
	}
	sameOrigin(t, "offline redemption", got[0].By, protocol.ChangeOrigin{Terminal: "T-A", Store: "sh-001", Seq: ev.Seq,
		Kind: protocol.KindRedemption, Uses: 3, Amount: 7500, Mode: protocol.ModeOffline, Cashier: "c1", At: ev.At})
	sameOrigin(t, "offline void", got[1].By, protocol.ChangeOrigin{Terminal: "T-A", Store: "sh-001", Seq: vev.Seq,
		Kind: protocol.KindVoid, Uses: 1, Amount: 2500, Mode: protocol.ModeOffline, Cashier: "m1", At: vev.At})
	sameOrigin(t, "online void", got[2].By, protocol.ChangeOrigin{Terminal: "T-A", Store: "sh-001", Seq: vreq.Seq,
		Kind: protocol.KindVoid, Uses: 1, Amount: 2500, Mode: protocol.ModeOnline, Cashier: "m1", At: vreq.At})
	if got[0].By.At.Equal(got[0].At) {
		t.Errorf("the offline change's by.at %s is the hub's time, want the event's", got[0].By.At)
	}
}

// A claim the terminal did not journal as claimed is given back with a
// change naming the claim, undone; the event it did journal follows.
func TestChangeByUndoneClaim(t *testing.T) {
	c := newChain(t, hub.Config{})
	a2 := c.f.Terminal("T-A2", "sh-001")
	_, cursor := readFeed(t, c.f.Hub, a2.ID, 0, 0)

	code := c.codes[2]
	req := c.a.Claim(code, "multi", protocol.FormatSecret, 1)
	if r, _ := c.f.Hub.Claim(ctx, "T-A", req); r.Reason != protocol.Accepted {
		t.Fatalf("claim: %+v", r)
	}
	c.a.Ingest(c.a.Sign(protocol.Event{Kind: protocol.KindAttempt, Mode: protocol.ModeOffline, Reason: protocol.OfflineNotAllowed,
		Code: code, Format: protocol.FormatSecret, Campaign: "multi"}))
	got, cursor := originsFor(t, c.f.Hub, a2.ID, code, cursor)
	if len(got) != 2 || got[1].Kind != protocol.ChangeCodeVoided || got[1].By == nil || !got[1].By.Undone ||
		got[1].By.Event() != (protocol.EventRef{Terminal: "T-A", Seq: req.Seq}) || got[1].By.Kind != protocol.KindRedemption {
		t.Fatalf("A2's feed after the claim and an attempt: %+v, want code_redeemed then code_voided by T-A:%d undone", got, req.Seq)
	}

	code = c.codes[3]
	req = c.a.Claim(code, "multi", protocol.FormatSecret, 2)
	if r, _ := c.f.Hub.Claim(ctx, "T-A", req); r.Reason != protocol.Accepted {
		t.Fatalf("claim: %+v", r)
	}
	c.a.Ingest(c.a.Redemption(code, "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	got, _ = originsFor(t, c.f.Hub, a2.ID, code, cursor)
	if len(got) != 3 {
		t.Fatalf("A2's feed after a claim of 2 and an offline redemption of 1: %+v, want 3 changes", got)
	}
	if b := got[1].By; b == nil || !b.Undone || b.Uses != 2 || b.Seq != req.Seq {
		t.Errorf("second change by %+v, want the claim of 2 undone", b)
	}
	if b := got[2].By; b == nil || b.Undone || b.Uses != 1 || b.Seq != req.Seq || b.Mode != protocol.ModeOffline {
		t.Errorf("third change by %+v, want the offline redemption of 1 at the same seq", b)
	}
	if got[2].Code.UsesLeft != 99 {
		t.Errorf("uses left %d, want 99", got[2].Code.UsesLeft)
	}
}
