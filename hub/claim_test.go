package hub_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

// decide does what a counter does online: claim, then journal the outcome
// at the claim's seq (a redemption if the hub agreed, else an attempt) and
// send it.
func decide(t *testing.T, c *chain, term *hubtest.Term, code, campaign string, uses int) protocol.ClaimReply {
	t.Helper()
	r, err := c.f.Hub.Claim(ctx, term.ID, term.Claim(code, campaign, protocol.FormatSecret, uses))
	if err != nil {
		t.Fatalf("claim by %s: %v", term.ID, err)
	}
	journal(term, r, code, campaign, uses)
	return r
}

func journal(term *hubtest.Term, r protocol.ClaimReply, code, campaign string, uses int) {
	if r.Reason == protocol.Accepted {
		term.Ingest(term.Redemption(code, campaign, protocol.FormatSecret, uses, protocol.ModeOnline))
		return
	}
	term.Ingest(term.Sign(protocol.Event{Kind: protocol.KindAttempt, Mode: protocol.ModeOnline, Reason: r.Reason,
		Code: code, Format: protocol.FormatSecret, Campaign: campaign}))
}

// Two terminals claim one single-use code at the same instant: exactly one
// wins, the other is told used_up with where the code went.
func TestClaimRace(t *testing.T) {
	c := newChain(t, hub.Config{})
	ids := c.f.Import("single", 200)
	for i, code := range ids {
		reqs := []*protocol.ClaimRequest{
			c.a.Claim(code, "single", protocol.FormatSecret, 1),
			c.b.Claim(code, "single", protocol.FormatSecret, 1),
		}
		terms := []string{"T-A", "T-B"}
		replies := make([]protocol.ClaimReply, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := c.f.Hub.Claim(ctx, terms[k], reqs[k])
				if err != nil {
					t.Errorf("claim %d by %s: %v", i, terms[k], err)
				}
				replies[k] = r
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for k, r := range replies {
			switch r.Reason {
			case protocol.Accepted:
				won++
				if r.UsesLeft != 0 {
					t.Fatalf("round %d: winner told %d uses left", i, r.UsesLeft)
				}
			case protocol.UsedUp:
				if r.LastUse == nil || r.LastUse.Terminal != terms[1-k] {
					t.Fatalf("round %d: loser's last use %+v, want the other terminal %s", i, r.LastUse, terms[1-k])
				}
			default:
				t.Fatalf("round %d: reply %s", i, r.Reason)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1 (%+v)", i, won, replies)
		}
		journal(c.a, replies[0], code, "single", 1)
		journal(c.b, replies[1], code, "single", 1)
		if got := c.code(t, code).Used; got != 1 {
			t.Fatalf("round %d: code used %d, want 1", i, got)
		}
	}
}

// A claim is idempotent by its event id, and the event the terminal finally
// journals at that seq settles it: the same redemption counts once; an
// attempt (or an offline decision the hub did not take) puts the code right.
func TestClaimSettlement(t *testing.T) {
	c := newChain(t, hub.Config{})
	t.Run("online event after an accepted claim counts once", func(t *testing.T) {
		code := c.codes[0]
		req := c.a.Claim(code, "multi", protocol.FormatSecret, 2)
		r1, err := c.f.Hub.Claim(ctx, "T-A", req)
		if err != nil || r1.Reason != protocol.Accepted || r1.UsesLeft != 98 {
			t.Fatalf("claim: %+v %v", r1, err)
		}
		r2, err := c.f.Hub.Claim(ctx, "T-A", req)
		if err != nil || r2 != r1 {
			t.Fatalf("the same claim again: %+v %v, want the first reply %+v", r2, err, r1)
		}
		c.a.Ingest(c.a.Redemption(code, "multi", protocol.FormatSecret, 2, protocol.ModeOnline))
		if got := c.code(t, code).Used; got != 2 {
			t.Fatalf("used %d, want 2", got)
		}
	})
	t.Run("claim unanswered in time, decided offline", func(t *testing.T) {
		code := c.codes[1]
		if r, _ := c.f.Hub.Claim(ctx, "T-A", c.a.Claim(code, "multi", protocol.FormatSecret, 1)); r.Reason != protocol.Accepted {
			t.Fatalf("claim: %+v", r)
		}
		c.a.Ingest(c.a.Redemption(code, "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
		if got := c.code(t, code).Used; got != 1 {
			t.Fatalf("used %d, want 1", got)
		}
	})
	t.Run("claim accepted, terminal journaled an attempt", func(t *testing.T) {
		code := c.codes[2]
		if r, _ := c.f.Hub.Claim(ctx, "T-A", c.a.Claim(code, "multi", protocol.FormatSecret, 1)); r.Reason != protocol.Accepted {
			t.Fatalf("claim: %+v", r)
		}
		c.a.Ingest(c.a.Sign(protocol.Event{Kind: protocol.KindAttempt, Mode: protocol.ModeOffline, Reason: protocol.OfflineNotAllowed,
			Code: code, Format: protocol.FormatSecret, Campaign: "multi"}))
		if got := c.code(t, code).Used; got != 0 {
			t.Fatalf("used %d after the terminal refused, want 0", got)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		code := c.single[5]
		if r := decide(t, c, c.a, code, "single", 2); r.Reason != protocol.UsedUp {
			t.Fatalf("2 uses of a single-use code: %s, want used_up", r.Reason)
		}
		if r := decide(t, c, c.a, "NOSUCHCODE", "single", 1); r.Reason != protocol.UnknownCode {
			t.Fatalf("unknown code: %s", r.Reason)
		}
		if _, err := c.f.Hub.Revoke(ctx, code, "leaked"); err != nil {
			t.Fatal(err)
		}
		if r := decide(t, c, c.a, code, "single", 1); r.Reason != protocol.Revoked {
			t.Fatalf("revoked code: %s", r.Reason)
		}
		if got := c.code(t, code).Used; got != 0 {
			t.Fatalf("refused claims took %d uses", got)
		}
		forged := c.b.Claim(c.single[6], "single", protocol.FormatSecret, 1)
		if _, err := c.f.Hub.Claim(ctx, "T-A", forged); err == nil {
			t.Fatal("a claim naming T-B was answered on T-A's behalf")
		}
	})
}

// A campaign's minimum interval and a dynamic code's used step are
// enforced at the hub.
func TestClaimTooSoon(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.f.Campaign("gym", 10, func(cp *protocol.Campaign) { cp.MinInterval = protocol.Duration(time.Hour) })
	ids := c.f.Import("gym", 1)
	if r := decide(t, c, c.a, ids[0], "gym", 1); r.Reason != protocol.Accepted {
		t.Fatalf("first use: %s", r.Reason)
	}
	c.f.Clock.Add(10 * time.Minute)
	r := decide(t, c, c.b, ids[0], "gym", 1)
	if r.Reason != protocol.TooSoon || r.LastUse == nil || r.LastUse.Store != "sh-001" {
		t.Fatalf("second use 10 minutes later: %+v, want too_soon with the last use at sh-001", r)
	}
}
