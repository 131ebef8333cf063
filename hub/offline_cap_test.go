package hub_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

// refusal is term's next event: an attempt at code of campaign refused
// offline for reason.
func refusal(term *hubtest.Term, code, campaign string, reason protocol.Reason, note string) protocol.SignedEvent {
	return term.Sign(protocol.Event{Kind: protocol.KindAttempt, Mode: protocol.ModeOffline, Entry: protocol.EntryScanned,
		Reason: reason, Code: code, Format: protocol.FormatSecret, Campaign: campaign, Cashier: "c1", Note: note})
}

func refs(term string, seqs ...uint64) []protocol.EventRef {
	out := make([]protocol.EventRef, len(seqs))
	for i, s := range seqs {
		out[i] = protocol.EventRef{Terminal: term, Seq: s}
	}
	return out
}

// A terminal's offline_limit refusals raise one offline_cap alert, which
// later refusals extend (their events added, the count and campaigns in
// the detail) until it is acknowledged; other refusals, redemptions and
// re-sent events do not count. Past the events an alert lists, the count
// still grows.
func TestOfflineCapAlert(t *testing.T) {
	c := newChain(t, hub.Config{})
	h := c.f.Hub
	ch, stop := h.Subscribe(256)
	defer stop()
	one := func() hub.Alert { // the one open offline_cap alert
		t.Helper()
		as, err := h.Alerts(ctx, hub.AlertFilter{Kind: hub.AlertOfflineCap, Open: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 1 {
			t.Fatalf("open offline_cap alerts %+v, want one", as)
		}
		return as[0]
	}

	first := refusal(c.a, c.codes[0], "multi", protocol.OfflineLimit, "3 offline redemptions of multi wait for the hub; cap 3")
	c.a.Ingest(first)
	a := one()
	if !slices.Equal(a.Terminals, []string{"T-A"}) || !slices.Equal(a.Stores, []string{"sh-001"}) ||
		!slices.Equal(a.Events, refs("T-A", 1)) || a.Key != "T-A" {
		t.Fatalf("alert %+v, want T-A of sh-001 with event T-A:1", a)
	}
	for _, want := range []string{"terminal T-A of store sh-001 refused 1 code offline", "campaigns multi", "latest T-A:1: 3 offline redemptions"} {
		if !strings.Contains(a.Detail, want) {
			t.Errorf("detail %q, want %q in it", a.Detail, want)
		}
	}
	if got := drain(ch, hub.AlertOfflineCap); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("notices carried %+v, want alert %d", got, a.ID)
	}

	c.a.Ingest(
		refusal(c.a, c.single[0], "single", protocol.OfflineLimit, "offline value 7500+2500 over cap 8000"),
		refusal(c.a, c.codes[1], "multi", protocol.TooSoon, "used 2 min ago"),
		c.a.Redemption(c.codes[2], "multi", protocol.FormatSecret, 1, protocol.ModeOffline),
		refusal(c.a, c.codes[3], "multi", protocol.OfflineNotAllowed, "campaign multi is online only"),
		refusal(c.a, c.codes[4], "multi", protocol.OfflineLimit, "last hub contact never, cap 24h0m0s"))
	c.a.Ingest(first) // re-sent: counted once
	b := one()
	if b.ID != a.ID || !slices.Equal(b.Events, refs("T-A", 1, 2, 6)) {
		t.Fatalf("alert %+v, want alert %d extended with T-A:2 and T-A:6", b, a.ID)
	}
	for _, want := range []string{"refused 3 codes offline", "campaigns multi, single", "latest T-A:6: last hub contact never"} {
		if !strings.Contains(b.Detail, want) {
			t.Errorf("detail %q, want %q in it", b.Detail, want)
		}
	}
	if got := drain(ch, hub.AlertOfflineCap); len(got) != 1 || got[0].Detail != b.Detail {
		t.Errorf("notices carried %+v, want the alert once more (one batch), with the detail stored", got)
	}

	// Other reasons, from another terminal: nothing.
	c.b.Ingest(refusal(c.b, c.codes[5], "multi", protocol.TooSoon, ""),
		refusal(c.b, c.codes[6], "multi", protocol.OfflineNotAllowed, ""),
		refusal(c.b, c.codes[7], "multi", protocol.UsedUp, ""))
	if as := alertsAbout(t, h, hub.AlertOfflineCap, "T-B"); len(as) != 0 {
		t.Errorf("T-B's other refusals raised %+v", as)
	}

	// Acknowledged: the next refusal raises a new alert, counting from it;
	// 60 refusals list 50 events and count 60.
	if _, err := h.AckAlert(ctx, a.ID, "hq", "reconnecting the store"); err != nil {
		t.Fatal(err)
	}
	drain(ch, hub.AlertOfflineCap)
	for range 3 {
		var evs []protocol.SignedEvent
		for i := range 20 {
			evs = append(evs, refusal(c.a, c.codes[10+i], "multi", protocol.OfflineLimit, fmt.Sprintf("cap %d", i)))
		}
		c.a.Ingest(evs...)
	}
	as := alerts(t, h, hub.AlertOfflineCap)
	if len(as) != 2 || as[0].ID == a.ID || !as[0].Acked.IsZero() {
		t.Fatalf("alerts %+v, want a new open one beside the acknowledged %d", as, a.ID)
	}
	n := as[0]
	if len(n.Events) != 50 || n.Events[0] != (protocol.EventRef{Terminal: "T-A", Seq: 7}) {
		t.Errorf("new alert lists %d events from %v, want 50 from T-A:7", len(n.Events), n.Events[:1])
	}
	if !strings.Contains(n.Detail, "refused 60 codes offline") || !strings.Contains(n.Detail, "latest T-A:66: cap 19") {
		t.Errorf("new alert's detail %q, want 60 refusals, the latest T-A:66", n.Detail)
	}
	got := drain(ch, hub.AlertOfflineCap)
	if len(got) != 3 || got[2].Detail != n.Detail {
		t.Errorf("%d notices of the alert, want 3 (one a batch), the last with the detail counting 60", len(got))
	}
}

// BenchmarkOfflineCapIngest ingests batches of 50 offline_limit refusals
// that extend one open offline_cap alert, against batches of 50 other
// refusals: the alert's cost per batch.
func BenchmarkOfflineCapIngest(b *testing.B) {
	for _, reason := range []protocol.Reason{protocol.OfflineLimit, protocol.TooSoon} {
		b.Run(string(reason), func(b *testing.B) {
			c := newChain(b, hub.Config{})
			for b.Loop() {
				b.StopTimer()
				evs := make([]protocol.SignedEvent, 50)
				for i := range evs {
					evs[i] = refusal(c.a, c.codes[i%len(c.codes)], "multi", reason, "cap")
				}
				b.StartTimer()
				c.a.Ingest(evs...)
			}
		})
	}
}
