package hub_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

// overviewJSON is o without its time, for comparing two overviews.
func overviewJSON(t testing.TB, o hub.Overview) string {
	t.Helper()
	o.At = time.Time{}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The overview's cache follows ingest: read before, during and after a
// day of ingest it equals an overview a restarted hub reads afresh from
// the ledger; and its figures are each store's own today.
func TestOverview(t *testing.T) {
	c := newRollupChain(t, hub.Config{})
	if _, err := c.f.Hub.Overview(ctx, "", ""); err != nil { // loads today's days into the cache
		t.Fatal(err)
	}
	c.ingestDay(t) // the clock ends at 00:30 on 23 Nov in Shanghai, 11:30 on the 22nd in New York
	c.a.Birth()    // T-A online; T-B never seen; T-N seen, then its will
	c.n.Birth()
	c.f.Clock.Add(5 * time.Minute)
	will := &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: c.n.ID, Store: c.n.Store,
		State: protocol.PresenceOffline}
	if err := c.f.Hub.Presence(ctx, c.n.ID, will, true); err != nil {
		t.Fatal(err)
	}
	c.f.Clock.Add(10 * time.Minute)
	got, err := c.f.Hub.Overview(ctx, "", "2026-11-22")
	if err != nil {
		t.Fatal(err)
	}
	today, err := c.f.Hub.Overview(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.f.Restart()
	for _, day := range []string{"2026-11-22", ""} {
		afresh, err := c.f.Hub.Overview(ctx, "", day)
		if err != nil {
			t.Fatal(err)
		}
		cached := got
		if day == "" {
			cached = today
		}
		if g, w := overviewJSON(t, cached), overviewJSON(t, afresh); g != w {
			t.Errorf("overview of %q from the cache\n%s\nfrom the ledger\n%s", day, g, w)
		}
	}

	// 22 Nov: sh-001 online 2 uses + single 1; sh-002 3 − 1 + 1 (skewed); ny-001 01:10 (2 uses).
	if got.Totals.Redemptions != 5 || got.Totals.Voids != 1 || got.Totals.Uses != 8 || got.Totals.Value != 20000 ||
		got.Totals.Online != 1 || got.Totals.Offline != 4 {
		t.Errorf("totals of the 22nd: %+v", got.Totals)
	}
	if got.Hours[12].Redemptions != 4 || got.Hours[1].Redemptions != 1 {
		t.Errorf("hours of the 22nd: 12h %+v, 1h %+v; want 4 and 1 redemptions", got.Hours[12], got.Hours[1])
	}
	if len(got.Campaigns) != 2 || got.Campaigns[0].ID != "multi" || got.Campaigns[0].Value != 17500 ||
		got.Campaigns[0].Name != "Campaign multi" || got.Campaigns[1].ID != "single" {
		t.Errorf("campaigns of the 22nd: %+v", got.Campaigns)
	}
	// Today: Shanghai is on the 23rd (one redemption at sh-001), New York
	// on the 22nd (its 01:10 redemption).
	want := map[string]struct {
		day             string
		red, terms, off int
	}{"ny-001": {"2026-11-22", 1, 1, 1}, "sh-001": {"2026-11-23", 1, 1, 0}, "sh-002": {"2026-11-23", 0, 2, 1}}
	for _, s := range today.Stores {
		w := want[s.ID]
		if s.Day != w.day || s.Redemptions != int64(w.red) || s.Terminals != w.terms || s.TerminalsOffline != w.off {
			t.Errorf("today at %s: day %s, %d redemptions, %d terminals, %d offline; want %+v",
				s.ID, s.Day, s.Redemptions, s.Terminals, s.TerminalsOffline, w)
		}
	}
	if today.Terminals != 4 || today.TerminalsOffline != 2 || len(today.Offline) != 2 {
		t.Fatalf("terminals %d, %d offline: %+v", today.Terminals, today.TerminalsOffline, today.Offline)
	}
	n := today.Offline[0]
	if n.ID != "ny-001" || n.Name != "Fifth Ave" || len(n.Terminals) != 1 || n.Terminals[0].ID != "T-N" ||
		time.Duration(n.Terminals[0].OfflineFor) != 10*time.Minute || n.Terminals[0].LastSeen.IsZero() {
		t.Errorf("ny-001 offline: %+v, want T-N last seen at its will, 10 min ago", n)
	}
	if b := today.Offline[1]; b.ID != "sh-002" || b.Terminals[0].ID != "T-B" || !b.Terminals[0].LastSeen.IsZero() {
		t.Errorf("sh-002 offline: %+v, want T-B, never seen", b)
	}

	one, err := c.f.Hub.Overview(ctx, "sh-002", "2026-11-22")
	if err != nil || one.Store != "sh-002" || len(one.Stores) != 1 || one.Totals.Redemptions != 2 || one.Totals.Voids != 1 {
		t.Errorf("sh-002's 22nd: %+v %v", one, err)
	}
	for _, c2 := range []struct {
		scope, day string
		kind       hub.ErrorKind
	}{{"nope", "", hub.NotFound}, {"", "2026-13-01", hub.Invalid}, {"", "today", hub.Invalid}} {
		_, err := c.f.Hub.Overview(ctx, c2.scope, c2.day)
		if e := hub.AsError(err); e == nil || e.Kind != c2.kind {
			t.Errorf("overview %q %q: %v, want %s", c2.scope, c2.day, err, c2.kind)
		}
	}
}

func TestReport(t *testing.T) {
	c := newRollupChain(t, hub.Config{})
	c.ingestDay(t)
	if _, err := c.f.Hub.Lock(ctx, "sh-002", "2026-11-22"); err != nil {
		t.Fatal(err)
	}
	rows, err := c.f.Hub.Report(ctx, hub.ReportFilter{From: "2026-11-21", To: "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.ReportRow{
		{Day: "2026-11-21", Store: "ny-001", Campaign: "multi", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
		{Day: "2026-11-21", Store: "ny-001", Campaign: "other", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
		{Day: "2026-11-22", Store: "ny-001", Campaign: "multi", Counts: hub.Counts{Redemptions: 1, Uses: 2, Value: 5000, Offline: 1}},
		{Day: "2026-11-22", Store: "sh-001", Campaign: "multi", Counts: hub.Counts{Redemptions: 1, Uses: 2, Value: 5000, Online: 1}},
		{Day: "2026-11-22", Store: "sh-001", Campaign: "single", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
		{Day: "2026-11-22", Store: "sh-002", Campaign: "multi", Counts: hub.Counts{Redemptions: 2, Voids: 1, Uses: 3, Value: 7500, Offline: 2}, Locked: true},
		{Day: "2026-11-23", Store: "sh-001", Campaign: "multi", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
	}
	if g, w := fmt.Sprintf("%+v", rows), fmt.Sprintf("%+v", want); g != w {
		t.Errorf("report\n got %s\nwant %s", g, w)
	}
	rows, err = c.f.Hub.Report(ctx, hub.ReportFilter{From: "2026-11-22", To: "2026-11-22", Store: "sh-001", Campaign: "multi"})
	if err != nil || len(rows) != 1 || rows[0] != want[3] {
		t.Errorf("sh-001's multi on the 22nd: %+v %v", rows, err)
	}
	for _, f := range []hub.ReportFilter{{}, {From: "2026-11-22"}, {From: "2026-11-22", To: "2026-11-21"},
		{From: "2025-01-01", To: "2026-11-22"}, {From: "2026-11-22", To: "2026-11-22", Campaign: "a b"}} {
		if _, err := c.f.Hub.Report(ctx, f); hub.AsError(err) == nil || hub.AsError(err).Kind != hub.Invalid {
			t.Errorf("report %+v: %v, want invalid", f, err)
		}
	}
	if _, err := c.f.Hub.Report(ctx, hub.ReportFilter{From: "2026-11-22", To: "2026-11-22", Store: "nope"}); hub.AsError(err) == nil ||
		hub.AsError(err).Kind != hub.NotFound {
		t.Errorf("report of an unknown store: %v, want not found", err)
	}
}

// benchRollup is a chain of stores stores and campaigns campaigns whose
// roll-up holds days days before hubtest.Now's, each store redeeming every
// campaign in 12 hours of each day online and offline, and three terminals
// a store (one of them offline).
func benchRollup(b *testing.B, stores, campaigns, days int) *hubtest.Fixture {
	f := hubtest.New(b, hub.Config{})
	for c := range campaigns {
		f.Campaign(fmt.Sprintf("camp-%02d", c), 1, nil)
	}
	for s := range stores {
		if _, err := f.Hub.PutStore(ctx, protocol.Store{ID: fmt.Sprintf("s-%03d", s), Name: fmt.Sprintf("Store %d", s),
			Timezone: "Asia/Shanghai"}); err != nil {
			b.Fatal(err)
		}
	}
	err := f.DB.Update(ctx, func(tx hub.Tx) error {
		for s := range stores {
			for k := range 3 {
				t := hub.Terminal{ID: fmt.Sprintf("T-%03d-%d", s, k), Store: fmt.Sprintf("s-%03d", s), Status: hub.TerminalActive,
					Created: hubtest.Now.Add(-time.Hour), LastSeen: hubtest.Now.Add(-time.Minute)}
				if k > 0 {
					t.Presence = &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: t.ID, Store: t.Store,
						State: protocol.PresenceOnline, Mode: protocol.ModeOnline}
				}
				if err := tx.PutTerminal(t); err != nil {
					return err
				}
			}
		}
		for d := range days {
			day := hubtest.Now.AddDate(0, 0, -d).Format(time.DateOnly)
			var rows []hub.Totals
			for s := range stores {
				for c := range campaigns {
					for h := 9; h < 21; h++ {
						for _, m := range []protocol.Mode{protocol.ModeOnline, protocol.ModeOffline} {
							rows = append(rows, hub.Totals{TotalsKey: hub.TotalsKey{Day: day, Store: fmt.Sprintf("s-%03d", s),
								Campaign: fmt.Sprintf("camp-%02d", c), Hour: h, Mode: m}, Redemptions: 3, Uses: 3, Value: 7500})
						}
					}
				}
			}
			if err := tx.AddTotals(rows...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	f.Restart() // a hub whose cache starts empty
	return f
}

// BenchmarkOverview is the dashboard's first page for a chain of 500
// stores, 10 campaigns and 1,500 terminals (120,000 roll-up rows a day):
// warm, the day in the cache; cold, the day read from the ledger first
// (once a day per day shown).
func BenchmarkOverview(b *testing.B) {
	f := benchRollup(b, 500, 10, 10)
	b.Run("warm", func(b *testing.B) {
		if _, err := f.Hub.Overview(ctx, "", ""); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			o, err := f.Hub.Overview(ctx, "", "")
			if err != nil || o.Totals.Redemptions != 500*10*24*3 || o.TerminalsOffline != 500 {
				b.Fatalf("%+v %v", o.Totals, err)
			}
		}
	})
	b.Run("warm/one-store", func(b *testing.B) {
		for range b.N {
			if _, err := f.Hub.Overview(ctx, "s-007", ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		for i := range b.N {
			// A day the cache does not hold: nine days in turn, one more
			// than it keeps.
			day := hubtest.Now.AddDate(0, 0, -1-i%9).Format(time.DateOnly)
			if _, err := f.Hub.Overview(ctx, "", day); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReportMonth is a 30-day report of the same chain: one store
// (what a store manager asks) and the whole chain (150,000 rows).
func BenchmarkReportMonth(b *testing.B) {
	f := benchRollup(b, 500, 10, 30)
	from := hubtest.Now.AddDate(0, 0, -29).Format(time.DateOnly)
	to := hubtest.Now.Format(time.DateOnly)
	for _, c := range []struct{ name, store string }{{"one-store", "s-007"}, {"chain", ""}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				rows, err := f.Hub.Report(ctx, hub.ReportFilter{From: from, To: to, Store: c.store})
				if err != nil || len(rows) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
