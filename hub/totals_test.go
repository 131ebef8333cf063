package hub_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/internal/testlog"
	"github.com/hexiao/hexiao/protocol"
)

// rollupChain is newChain with a third store in New York and a terminal
// there, and a terminal in sh-002 whose clock runs 3 h ahead.
type rollupChain struct {
	*chain
	n, skewed *hubtest.Term
}

func newRollupChain(t *testing.T, cfg hub.Config) *rollupChain {
	c := newChain(t, cfg)
	if _, err := c.f.Hub.PutStore(ctx, protocol.Store{ID: "ny-001", Name: "Fifth Ave", Region: "us",
		Timezone: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	rc := &rollupChain{chain: c, n: c.f.Terminal("T-N", "ny-001"), skewed: c.f.Terminal("T-S", "sh-002")}
	rc.skewed.Skew = 3 * time.Hour
	rc.skewed.Birth() // the hub measures the skew and reads its events on the hub's clock
	return rc
}

// ingestDay redeems and voids across the three stores, online and
// offline, across midnight in New York (hubtest.Now is 23:00 there) and
// then in Shanghai; it leaves the clock at 00:30 in Shanghai on 23 Nov.
func (c *rollupChain) ingestDay(t *testing.T) {
	t.Helper()
	// 12:00 Shanghai, 23:00 the day before in New York.
	req := c.a.Claim(c.codes[0], "multi", protocol.FormatSecret, 2)
	if r, err := c.f.Hub.Claim(ctx, c.a.ID, req); err != nil || r.Reason != protocol.Accepted {
		t.Fatalf("claim: %+v %v", r, err)
	}
	c.a.Ingest(c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 2, protocol.ModeOnline))
	c.a.Ingest(c.a.Redemption(c.single[0], "single", protocol.FormatSecret, 1, protocol.ModeOffline))
	red := c.b.Redemption(c.codes[1], "multi", protocol.FormatSecret, 3, protocol.ModeOffline)
	ev, _ := red.Decode()
	void := c.b.Sign(protocol.Event{Kind: protocol.KindVoid, Mode: protocol.ModeOffline, Reason: protocol.Accepted,
		Code: c.codes[1], Format: protocol.FormatSecret, Campaign: "multi", Uses: 1, Amount: 2500, Cashier: "m1",
		Voids: &protocol.EventRef{Terminal: c.b.ID, Seq: ev.Seq}, Note: "changed mind"})
	c.b.Ingest(red, void)
	c.n.Ingest(c.n.Redemption(c.codes[2], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	// A code the hub does not know is flagged, and counted all the same.
	c.n.Ingest(c.n.Redemption("ZZZZ00000001", "other", protocol.FormatSecret, 1, protocol.ModeOffline))
	// The skewed terminal writes 15:10; the hub reads 12:10.
	c.f.Clock.Add(10 * time.Minute)
	c.skewed.Ingest(c.skewed.Redemption(c.codes[3], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))

	// 01:10 in New York: its next day.
	c.f.Clock.Add(2 * time.Hour)
	c.n.Ingest(c.n.Redemption(c.codes[2], "multi", protocol.FormatSecret, 2, protocol.ModeOffline))
	// 00:30 in Shanghai, 23 Nov.
	c.f.Clock.Add(10*time.Hour + 20*time.Minute)
	c.a.Ingest(c.a.Redemption(c.codes[4], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
}

// rollup reads the whole roll-up from the ledger.
func rollup(t *testing.T, f *hubtest.Fixture) []hub.Totals {
	t.Helper()
	var out []hub.Totals
	err := f.DB.View(ctx, func(r hub.Reader) error {
		var err error
		out, err = r.Totals(hub.TotalsFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recount counts the ledger's redemptions and voids again, by the roll-up's
// rules written out here: the store's zone, the hub's time of the event,
// voids subtracting.
func recount(t *testing.T, f *hubtest.Fixture) map[hub.TotalsKey]hub.Totals {
	t.Helper()
	out := map[hub.TotalsKey]hub.Totals{}
	err := f.Hub.Redemptions(ctx, hub.EventFilter{}, func(x hub.Redemption) error {
		st, err := f.Hub.StoreByID(x.Store)
		if err != nil {
			return err
		}
		loc, err := time.LoadLocation(st.Timezone)
		if err != nil {
			return err
		}
		at := x.At
		if !x.HubAt.IsZero() {
			at = x.HubAt
		}
		at = at.In(loc)
		k := hub.TotalsKey{Day: at.Format(time.DateOnly), Store: x.Store, Campaign: x.Campaign, Hour: at.Hour(), Mode: x.Mode}
		r := out[k]
		r.TotalsKey = k
		switch x.Kind {
		case protocol.KindRedemption:
			r.Redemptions++
			r.Uses += int64(x.Uses)
			r.Value += x.Amount
		case protocol.KindVoid:
			r.Voids++
			r.Uses -= int64(x.Uses)
			r.Value -= x.Amount
		}
		out[k] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAsRecount fails unless the roll-up holds exactly the recount's rows.
func sameAsRecount(t *testing.T, f *hubtest.Fixture) []hub.Totals {
	t.Helper()
	got := rollup(t, f)
	want := recount(t, f)
	if len(got) != len(want) {
		t.Errorf("roll-up has %d rows, the recount %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for _, r := range got {
		if w, ok := want[r.TotalsKey]; !ok || w != r {
			t.Errorf("roll-up row %+v, recount %+v (found %v)", r, w, ok)
		}
	}
	return got
}

func TestRollupEqualsRecount(t *testing.T) {
	c := newRollupChain(t, hub.Config{})
	c.ingestDay(t)
	rows := sameAsRecount(t, c.f)
	find := func(day, store, campaign string, hour int, mode protocol.Mode) hub.Totals {
		t.Helper()
		k := hub.TotalsKey{Day: day, Store: store, Campaign: campaign, Hour: hour, Mode: mode}
		i := slices.IndexFunc(rows, func(r hub.Totals) bool { return r.TotalsKey == k })
		if i < 0 {
			t.Fatalf("no roll-up row %+v in %+v", k, rows)
		}
		return rows[i]
	}
	// Written out by hand, so a rule wrong in both the hub and the recount
	// still fails.
	for _, c := range []struct {
		got  hub.Totals
		want [4]int64 // redemptions, voids, uses, value
	}{
		{find("2026-11-22", "sh-001", "multi", 12, protocol.ModeOnline), [4]int64{1, 0, 2, 5000}},
		{find("2026-11-22", "sh-001", "single", 12, protocol.ModeOffline), [4]int64{1, 0, 1, 2500}},
		{find("2026-11-22", "sh-002", "multi", 12, protocol.ModeOffline), [4]int64{2, 1, 3, 7500}}, // 3 − 1 voided, + the skewed 1
		{find("2026-11-21", "ny-001", "multi", 23, protocol.ModeOffline), [4]int64{1, 0, 1, 2500}},
		{find("2026-11-21", "ny-001", "other", 23, protocol.ModeOffline), [4]int64{1, 0, 1, 2500}},
		{find("2026-11-22", "ny-001", "multi", 1, protocol.ModeOffline), [4]int64{1, 0, 2, 5000}},
		{find("2026-11-23", "sh-001", "multi", 0, protocol.ModeOffline), [4]int64{1, 0, 1, 2500}},
	} {
		if got := [4]int64{c.got.Redemptions, c.got.Voids, c.got.Uses, c.got.Value}; got != c.want {
			t.Errorf("%+v: got %v, want %v", c.got.TotalsKey, got, c.want)
		}
	}
	if len(rows) != 7 {
		t.Errorf("%d roll-up rows, want 7: %+v", len(rows), rows)
	}
}

// A ledger from before the roll-up (no totals, no version) is rebuilt at
// start from its events, once, and logged with the count; a ledger whose
// roll-up is current is left alone.
func TestRollupRebuiltAtStart(t *testing.T) {
	c := newRollupChain(t, hub.Config{})
	c.ingestDay(t)
	before := rollup(t, c.f)
	err := c.f.DB.Update(ctx, func(tx hub.Tx) error {
		if err := tx.ClearTotals(); err != nil {
			return err
		}
		return tx.SetMeta("totals_version", []byte("0"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs testlog.Buffer
	c.f.Cfg.Log = logs.Logger()
	c.f.Restart()
	if n := logs.Count("totals rebuilt"); n != 1 {
		t.Fatalf("%d rebuilds logged, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "events=9 rows=7") {
		t.Errorf("the rebuild's log does not count 9 events in 7 rows:\n%s", logs.String())
	}
	after := sameAsRecount(t, c.f)
	if !slices.Equal(after, before) {
		t.Errorf("rebuilt roll-up\n got %+v\nwant %+v", after, before)
	}
	// Ingest goes on adding to the rebuilt roll-up.
	c.a.Ingest(c.a.Redemption(c.codes[5], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	sameAsRecount(t, c.f)
	c.f.Restart()
	if n := logs.Count("totals rebuilt"); n != 1 {
		t.Errorf("%d rebuilds logged after a restart on a current roll-up, want still 1", n)
	}
}

// A group commit that fails is run again alone, update by update: the
// roll-up counts each event once, and nothing of the failed group.
func TestRollupGroupCommitRetry(t *testing.T) {
	c := newChain(t, hub.Config{})
	done := make(chan error, 3)
	ingest := func(term *hubtest.Term) {
		se := term.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline)
		go func() {
			_, err := c.f.Hub.Ingest(context.Background(), term.ID, term.Batch(se))
			done <- err
		}()
	}
	release := c.f.Hub.HoldWriter()
	ingest(c.a)
	waitQueue(t, c.f.Hub, true, 0) // T-A's batch commits alone, held at the writer
	go func() { done <- c.f.Hub.GroupedMeta(context.Background(), "k", "v", context.Canceled) }()
	ingest(c.b)
	waitQueue(t, c.f.Hub, true, 2) // the failing update and T-B's batch: one group
	release()
	failed := 0
	for range 3 {
		if err := <-done; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d updates failed, want the one that fails by design", failed)
	}
	rows := sameAsRecount(t, c.f)
	if len(rows) != 2 || rows[0].Redemptions != 1 || rows[1].Redemptions != 1 {
		t.Errorf("roll-up %+v, want one redemption at each store", rows)
	}
}
