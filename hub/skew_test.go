package hub_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

var shanghai = time.FixedZone("CST", 8*3600)

// setClock moves the fixture clock forward to at.
func setClock(t *testing.T, f *hubtest.Fixture, at time.Time) {
	t.Helper()
	d := at.Sub(f.Clock.Now())
	if d < 0 {
		t.Fatalf("clock at %s, cannot go back to %s", f.Clock.Now(), at)
	}
	f.Clock.Add(d)
}

func redemptionRow(t *testing.T, h *hub.Hub, ref protocol.EventRef) hub.Redemption {
	t.Helper()
	var out []hub.Redemption
	err := h.Redemptions(ctx, hub.EventFilter{Terminal: ref.Terminal}, func(r hub.Redemption) error {
		if r.Seq == ref.Seq {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d rows for %s, want 1", len(out), ref)
	}
	return out[0]
}

// A terminal whose clock the hub has flagged is held to hub time: the
// business day of a redemption it voids offline (for the settlement lock)
// is the day on the hub's clock, and so is the code's last use; its
// events keep their own signed time and show the hub's as hub_at. A
// terminal 30 s off is trusted as it is.
func TestSkewedTerminalOfflineRules(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hub       time.Time // hub clock at the redemption
		skew      time.Duration
		lock      string // the settled day
		afterLock bool   // the void is flagged after_lock
		corrected bool
	}{
		{"3 h ahead, the hub's day settled", time.Date(2026, 11, 22, 22, 0, 0, 0, shanghai), 3 * time.Hour, "2026-11-22", true, true},
		{"3 h ahead, only the terminal's day settled", time.Date(2026, 11, 22, 22, 0, 0, 0, shanghai), 3 * time.Hour, "2026-11-23", false, true},
		{"3 h behind, the hub's day settled", time.Date(2026, 11, 23, 1, 0, 0, 0, shanghai), -3 * time.Hour, "2026-11-23", true, true},
		{"3 h behind, only the terminal's day settled", time.Date(2026, 11, 23, 1, 0, 0, 0, shanghai), -3 * time.Hour, "2026-11-22", false, true},
		{"30 s ahead, the terminal's day settled", time.Date(2026, 11, 22, 23, 59, 45, 0, shanghai), 30 * time.Second, "2026-11-23", true, false},
		{"30 s ahead, only the hub's day settled", time.Date(2026, 11, 22, 23, 59, 45, 0, shanghai), 30 * time.Second, "2026-11-22", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, hub.Config{})
			code := c.codes[0]
			c.a.Skew = tc.skew
			setClock(t, c.f, tc.hub)
			c.a.Birth()
			red := c.a.Redemption(code, "multi", protocol.FormatSecret, 2, protocol.ModeOffline)
			c.a.Ingest(red)
			if _, err := c.f.Hub.Lock(ctx, "sh-001", tc.lock); err != nil {
				t.Fatal(err)
			}
			c.f.Clock.Add(time.Minute)
			void := c.a.Sign(protocol.Event{Kind: protocol.KindVoid, Mode: protocol.ModeOffline, Reason: protocol.Accepted,
				Code: code, Format: protocol.FormatSecret, Campaign: "multi", Uses: 1, Amount: 2500,
				Voids: &protocol.EventRef{Terminal: c.a.ID, Seq: 1}, Note: "customer changed mind"})
			c.a.Ingest(void)

			termAt := tc.hub.Add(tc.skew)
			wantHubAt := time.Time{}
			if tc.corrected {
				wantHubAt = tc.hub
			}
			row := redemptionRow(t, c.f.Hub, protocol.EventRef{Terminal: c.a.ID, Seq: 1})
			if !row.At.Equal(termAt) || !row.HubAt.Equal(wantHubAt) {
				t.Errorf("redemption at %s, hub_at %s; want at %s (the terminal's) and hub_at %s",
					row.At, row.HubAt, termAt, wantHubAt)
			}
			b, err := json.Marshal(row)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(b), `"hub_at"`); got != tc.corrected {
				t.Errorf("redemption JSON %s: hub_at shown %v, want %v", b, got, tc.corrected)
			}
			info := c.code(t, code)
			ruleAt := termAt // what the rules read
			if tc.corrected {
				ruleAt = tc.hub
			}
			if info.LastUse == nil || !info.LastUse.At.Equal(ruleAt) {
				t.Errorf("last use %+v, want at %s", info.LastUse, ruleAt)
			}
			if info.Used != 1 {
				t.Errorf("used %d after redeeming 2 and voiding 1, want 1", info.Used)
			}
			vrow := redemptionRow(t, c.f.Hub, protocol.EventRef{Terminal: c.a.ID, Seq: 2})
			if got := slices.Contains(vrow.Flags, hub.FlagAfterLock); got != tc.afterLock {
				t.Errorf("void flags %v: after_lock %v, want %v", vrow.Flags, got, tc.afterLock)
			}
			as := alerts(t, c.f.Hub, hub.AlertAfterLock)
			if want := map[bool]int{true: 1}[tc.afterLock]; len(as) != want {
				t.Fatalf("void_after_settlement alerts %+v, want %d", as, want)
			}
			if tc.afterLock && !strings.Contains(as[0].Detail, tc.lock) {
				t.Errorf("alert detail %q does not name day %s", as[0].Detail, tc.lock)
			}
		})
	}
}

// The minimum interval between uses counts from a flagged terminal's
// offline redemption on the hub's clock: a terminal 3 h ahead does not
// block the code online for 3 h more.
func TestSkewedTerminalMinInterval(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.f.Campaign("paced", 10, func(cp *protocol.Campaign) { cp.MinInterval = protocol.Duration(time.Hour) })
	code := c.f.Import("paced", 1)[0]
	c.a.Skew = 3 * time.Hour
	c.a.Birth()
	redeemed := c.f.Clock.Now()
	c.a.Ingest(c.a.Redemption(code, "paced", protocol.FormatSecret, 1, protocol.ModeOffline))
	if lu := c.code(t, code).LastUse; lu == nil || !lu.At.Equal(redeemed) {
		t.Fatalf("last use %+v, want at %s (hub time)", lu, redeemed)
	}
	c.f.Clock.Add(59 * time.Minute)
	if r, err := c.f.Hub.Claim(ctx, c.b.ID, c.b.Claim(code, "paced", protocol.FormatSecret, 1)); err != nil || r.Reason != protocol.TooSoon {
		t.Fatalf("claim 59 min later: %+v, %v; want too_soon", r, err)
	}
	c.b.Ingest(c.b.Sign(protocol.Event{Kind: protocol.KindAttempt, Mode: protocol.ModeOnline, Reason: protocol.TooSoon,
		Code: code, Format: protocol.FormatSecret, Campaign: "paced"}))
	c.f.Clock.Add(2 * time.Minute)
	if r, err := c.f.Hub.Claim(ctx, c.b.ID, c.b.Claim(code, "paced", protocol.FormatSecret, 1)); err != nil || r.Reason != protocol.Accepted {
		t.Fatalf("claim 61 min later: %+v, %v; want accepted", r, err)
	}
}

// A void claim of a flagged terminal's offline redemption counts the undo
// window (15 min + 1 min of slack) on the hub's clock.
func TestSkewedTerminalVoidClaim(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.a.Skew = 3 * time.Hour
	c.a.Birth()
	c.a.Ingest(
		c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline),
		c.a.Redemption(c.codes[1], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	voidClaim := func(code string, of uint64) protocol.Reason {
		t.Helper()
		req := c.a.Claim(code, "multi", protocol.FormatSecret, 1)
		req.Kind, req.Voids = protocol.KindVoid, &protocol.EventRef{Terminal: c.a.ID, Seq: of}
		r, err := c.f.Hub.Claim(ctx, c.a.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		// What the terminal journals at the claim's seq.
		e := protocol.Event{Kind: protocol.KindVoid, Mode: protocol.ModeOnline, Reason: r.Reason,
			Code: code, Format: protocol.FormatSecret, Campaign: "multi", Uses: 1, Amount: 2500, Voids: req.Voids}
		if r.Reason != protocol.Accepted {
			e = protocol.Event{Kind: protocol.KindAttempt, Mode: protocol.ModeOnline, Reason: r.Reason,
				Code: code, Format: protocol.FormatSecret, Campaign: "multi"}
		}
		if ack := c.a.Ingest(c.a.Sign(e)); ack.Refused != nil {
			t.Fatalf("journal of the void claim refused: %+v", ack.Refused)
		}
		return r.Reason
	}
	c.f.Clock.Add(10 * time.Minute)
	if r := voidClaim(c.codes[0], 1); r != protocol.Accepted {
		t.Errorf("void claim 10 min after the redemption: %s, want accepted", r)
	}
	c.f.Clock.Add(10 * time.Minute)
	if r := voidClaim(c.codes[1], 2); r != protocol.Expired {
		t.Errorf("void claim 20 min after the redemption: %s, want expired", r)
	}
}

// A terminal's skew becoming flagged raises one clock_skew alert; the
// same skew again, or after the alert is acknowledged, raises none; a
// terminal set right and flagged again raises a new one. 30 s off is no
// alert.
func TestClockSkewAlert(t *testing.T) {
	c := newChain(t, hub.Config{})
	terminal := func(id string) hub.TerminalInfo {
		t.Helper()
		ts, err := c.f.Hub.Terminals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range ts {
			if i.ID == id {
				return i
			}
		}
		t.Fatalf("terminal %s not listed", id)
		return hub.TerminalInfo{}
	}
	birth := func(skew time.Duration) {
		t.Helper()
		c.a.Skew = skew
		c.a.Birth()
		c.f.Clock.Add(time.Minute)
	}
	count := func(want int) []hub.Alert {
		t.Helper()
		as := alerts(t, c.f.Hub, hub.AlertClockSkew)
		if len(as) != want {
			t.Fatalf("clock_skew alerts %+v, want %d", as, want)
		}
		return as
	}

	birth(30 * time.Second)
	if i := terminal(c.a.ID); i.SkewFlagged || i.ClockSkew == nil {
		t.Fatalf("30 s ahead: %+v, want skew measured and not flagged", i)
	}
	count(0)

	birth(3 * time.Hour)
	if i := terminal(c.a.ID); !i.SkewFlagged || i.ClockSkew == nil || time.Duration(*i.ClockSkew) != 3*time.Hour {
		t.Fatalf("3 h ahead: %+v, want skew 3h flagged", i)
	}
	as := count(1)
	if a := as[0]; !slices.Equal(a.Terminals, []string{c.a.ID}) || !slices.Equal(a.Stores, []string{c.a.Store}) ||
		!strings.Contains(a.Detail, "3h0m0s ahead") {
		t.Fatalf("alert %+v, want one naming %s of %s, 3h0m0s ahead", a, c.a.ID, c.a.Store)
	}
	birth(3 * time.Hour)
	birth(2 * time.Hour) // still flagged: the same incident
	count(1)
	if _, err := c.f.Hub.AckAlert(ctx, as[0].ID, "hq", "clock being fixed"); err != nil {
		t.Fatal(err)
	}
	birth(2 * time.Hour)
	count(1)

	birth(0)
	birth(-5 * time.Minute)
	as = count(2)
	if a := as[0]; !a.Acked.IsZero() || !strings.Contains(a.Detail, "5m0s behind") {
		t.Fatalf("newest alert %+v, want open, 5m0s behind", a)
	}
	if i := terminal(c.b.ID); i.SkewFlagged {
		t.Errorf("%s flagged without a presence", c.b.ID)
	}
}
