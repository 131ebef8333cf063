package hub_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

// will delivers term's last will live, as the broker does when its
// connection drops.
func will(t *testing.T, f *hubtest.Fixture, term *hubtest.Term) {
	t.Helper()
	p := &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: term.ID, State: protocol.PresenceOffline}
	if err := f.Hub.Presence(ctx, term.ID, p, true); err != nil {
		t.Fatalf("will of %s: %v", term.ID, err)
	}
}

func sweep(t *testing.T, h *hub.Hub) {
	t.Helper()
	if err := h.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
}

// alertsAbout returns the alerts of kind about terminal, newest first.
func alertsAbout(t *testing.T, h *hub.Hub, kind hub.AlertKind, terminal string) []hub.Alert {
	t.Helper()
	var out []hub.Alert
	for _, a := range alerts(t, h, kind) {
		if slices.Contains(a.Terminals, terminal) {
			out = append(out, a)
		}
	}
	return out
}

// drain returns the alerts of kind in the notices waiting in ch.
func drain(ch <-chan hub.Notice, kind hub.AlertKind) []hub.Alert {
	var out []hub.Alert
	for {
		select {
		case n := <-ch:
			for _, a := range n.Alerts {
				if a.Kind == kind {
					out = append(out, a)
				}
			}
		default:
			return out
		}
	}
}

// A terminal offline longer than OfflineAlertAfter raises one
// terminal_offline alert, which reaches the notices; no other while it is
// open, even over a later stretch; none again for the same stretch once
// acknowledged; one for a new stretch after the acknowledgement. A
// terminal that never connected counts from its enrollment.
func TestTerminalOfflineAlert(t *testing.T) {
	c := newChain(t, hub.Config{OfflineAlertAfter: 30 * time.Minute})
	h := c.f.Hub
	ch, stop := h.Subscribe(64)
	defer stop()
	count := func(term *hubtest.Term, want int) []hub.Alert {
		t.Helper()
		as := alertsAbout(t, h, hub.AlertTermOffline, term.ID)
		if len(as) != want {
			t.Fatalf("at %s: terminal_offline alerts of %s %+v, want %d", c.f.Clock.Now().Sub(hubtest.Now), term.ID, as, want)
		}
		return as
	}

	c.a.Birth()
	c.f.Clock.Add(10 * time.Minute)
	will(t, c.f, c.a) // A offline from +10m; B never connected (enrolled at +0)
	c.f.Clock.Add(20 * time.Minute)
	sweep(t, h) // +30m: B exactly 30 min, not longer
	count(c.b, 0)
	c.f.Clock.Add(time.Minute)
	sweep(t, h) // +31m
	bs := count(c.b, 1)
	count(c.a, 0)
	if d := bs[0].Detail; !strings.Contains(d, "terminal T-B of store sh-002 has not connected since its enrollment at 2026-11-22T04:00:00Z") {
		t.Errorf("B's detail %q, want it to name B, its store and its enrollment time", d)
	}
	if b := bs[0]; !slices.Equal(b.Stores, []string{"sh-002"}) || b.Key != c.b.ID || b.Code != "" {
		t.Errorf("B's alert %+v, want store sh-002, key T-B, no code", b)
	}
	if got := drain(ch, hub.AlertTermOffline); len(got) != 1 || got[0].ID != bs[0].ID {
		t.Errorf("notices carried %+v, want B's alert %d", got, bs[0].ID)
	}

	c.f.Clock.Add(10 * time.Minute)
	sweep(t, h) // +41m: A 31 min
	as := count(c.a, 1)
	if d := as[0].Detail; !strings.Contains(d, "terminal T-A of store sh-001 has been offline since 2026-11-22T04:10:00Z") ||
		!strings.Contains(d, "last will") {
		t.Errorf("A's detail %q, want it to name A, its store, since 04:10:00Z and its last presence", d)
	}
	c.f.Clock.Add(time.Hour)
	sweep(t, h)
	count(c.a, 1)
	count(c.b, 1)
	if got := drain(ch, hub.AlertTermOffline); len(got) != 1 {
		t.Errorf("notices carried %+v, want A's alert only", got)
	}

	// A back and gone again while its alert is open: the same alert.
	c.a.Birth()
	sweep(t, h)
	c.f.Clock.Add(time.Minute)
	will(t, c.f, c.a)
	secondSince := c.f.Clock.Now()
	c.f.Clock.Add(time.Hour)
	sweep(t, h)
	count(c.a, 1)

	// Acknowledged: B, still in the same stretch, stays quiet; A, in a new
	// one, raises a new alert; a hub restart in between changes neither.
	for _, a := range []hub.Alert{as[0], bs[0]} {
		if _, err := h.AckAlert(ctx, a.ID, "hq", "seen"); err != nil {
			t.Fatal(err)
		}
	}
	c.f.Restart()
	h = c.f.Hub
	sweep(t, h)
	count(c.b, 1)
	as = count(c.a, 2)
	if !as[0].Acked.IsZero() || !strings.Contains(as[0].Detail, secondSince.UTC().Format(time.RFC3339)) {
		t.Errorf("A's new alert %+v, want open, offline since %s", as[0], secondSince)
	}
	if _, err := h.AckAlert(ctx, as[0].ID, "hq", "seen"); err != nil {
		t.Fatal(err)
	}
	c.f.Clock.Add(time.Hour)
	sweep(t, h)
	count(c.a, 2)
	count(c.b, 1)
}

// A revoked terminal never raises terminal_offline, whether it never
// connected or went offline before its revocation.
func TestTerminalOfflineRevoked(t *testing.T) {
	c := newChain(t, hub.Config{})
	never := c.f.Terminal("T-C", "sh-001")
	gone := c.f.Terminal("T-D", "sh-002")
	gone.Birth()
	c.f.Clock.Add(time.Minute)
	will(t, c.f, gone)
	for _, id := range []string{never.ID, gone.ID} {
		if _, err := c.f.Hub.RevokeTerminal(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	c.f.Clock.Add(5 * time.Hour)
	sweep(t, c.f.Hub)
	for _, term := range []*hubtest.Term{never, gone} {
		if as := alertsAbout(t, c.f.Hub, hub.AlertTermOffline, term.ID); len(as) != 0 {
			t.Errorf("revoked %s: alerts %+v, want none", term.ID, as)
		}
	}
	// The active terminals of the same hub do alert: the sweep ran.
	if as := alerts(t, c.f.Hub, hub.AlertTermOffline); len(as) != 2 {
		t.Errorf("alerts %+v, want T-A's and T-B's", as)
	}
}

// OfflineAlertAfter: 0 is 30 minutes, negative is off, otherwise the
// limit itself. Run's sweep counts from its own start at the earliest.
func TestTerminalOfflineLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  time.Duration
		quiet  time.Duration // no alert yet at this age
		alerts time.Duration // the alert at this age (0: never)
	}{
		{"default", 0, 30 * time.Minute, 31 * time.Minute},
		{"2h", 2 * time.Hour, 119 * time.Minute, 121 * time.Minute},
		{"off", -1, 30 * 24 * time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, hub.Config{OfflineAlertAfter: tc.after})
			c.f.Clock.Add(tc.quiet)
			sweep(t, c.f.Hub)
			if as := alerts(t, c.f.Hub, hub.AlertTermOffline); len(as) != 0 {
				t.Fatalf("after %s: %+v, want no alert", tc.quiet, as)
			}
			if tc.alerts == 0 {
				return
			}
			c.f.Clock.Add(tc.alerts - tc.quiet)
			sweep(t, c.f.Hub)
			if as := alerts(t, c.f.Hub, hub.AlertTermOffline); len(as) != 2 {
				t.Fatalf("after %s: %+v, want one alert for each terminal", tc.alerts, as)
			}
		})
	}
	t.Run("counted from the sweeper's start", func(t *testing.T) {
		c := newChain(t, hub.Config{})
		started := hubtest.Now.Add(2 * time.Hour) // the hub was down until then
		c.f.Clock.Add(2*time.Hour + 30*time.Minute)
		if err := c.f.Hub.SweepFrom(ctx, started); err != nil {
			t.Fatal(err)
		}
		if as := alerts(t, c.f.Hub, hub.AlertTermOffline); len(as) != 0 {
			t.Fatalf("30 min after the start: %+v, want none", as)
		}
		c.f.Clock.Add(time.Minute)
		if err := c.f.Hub.SweepFrom(ctx, started); err != nil {
			t.Fatal(err)
		}
		if as := alerts(t, c.f.Hub, hub.AlertTermOffline); len(as) != 2 {
			t.Fatalf("31 min after the start: %+v, want two", as)
		}
	})
}

// A terminal's last presence that tells its mode and outbox is quoted.
func TestTerminalOfflineDetail(t *testing.T) {
	c := newChain(t, hub.Config{})
	p := &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: c.a.ID, Store: c.a.Store,
		State: protocol.PresenceOffline, Mode: protocol.ModeOffline, Outbox: 17}
	if err := c.f.Hub.Presence(ctx, c.a.ID, p, true); err != nil {
		t.Fatal(err)
	}
	c.a.Ingest(c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	c.f.Clock.Add(time.Hour)
	sweep(t, c.f.Hub)
	as := alertsAbout(t, c.f.Hub, hub.AlertTermOffline, c.a.ID)
	if len(as) != 1 || !strings.Contains(as[0].Detail, "mode offline, 17 events in its outbox") ||
		!strings.Contains(as[0].Detail, "up to seq 1") {
		t.Fatalf("alerts %+v, want one quoting mode offline, outbox 17 and seq 1", as)
	}
}

// Run sweeps on its ticker until its context ends, then returns nil.
func TestRunSweeps(t *testing.T) {
	c := newChain(t, hub.Config{SweepEvery: 5 * time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.f.Hub.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// The hour goes by in steps (Run reads the clock once it starts).
	deadline := time.Now().Add(10 * time.Second)
	for len(alerts(t, c.f.Hub, hub.AlertTermOffline)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("Run raised no terminal_offline alerts in 10 s")
		}
		c.f.Clock.Add(10 * time.Minute)
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkSweep is the steady state of a chain's night: 1,000 terminals
// offline, each with its alert raised (acknowledged or not), swept again.
func BenchmarkSweep(b *testing.B) {
	f := hubtest.New(b, hub.Config{})
	f.Store("sh-001", "east")
	for i := range 1000 {
		f.Terminal(fmt.Sprintf("T-%04d", i), "sh-001")
	}
	f.Clock.Add(time.Hour)
	if err := f.Hub.Sweep(ctx); err != nil {
		b.Fatal(err)
	}
	as, err := f.Hub.Alerts(ctx, hub.AlertFilter{Kind: hub.AlertTermOffline})
	if err != nil || len(as) != 1000 {
		b.Fatalf("%d alerts, %v; want 1000", len(as), err)
	}
	for _, a := range as[:500] {
		if _, err := f.Hub.AckAlert(ctx, a.ID, "hq", ""); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if err := f.Hub.Sweep(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
