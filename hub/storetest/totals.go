package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func row(day, store, campaign string, hour int, mode protocol.Mode, red, voids, uses, value int64) hub.Totals {
	return hub.Totals{TotalsKey: hub.TotalsKey{Day: day, Store: store, Campaign: campaign, Hour: hour, Mode: mode},
		Redemptions: red, Voids: voids, Uses: uses, Value: value}
}

const (
	on  = protocol.ModeOnline
	off = protocol.ModeOffline
)

// readTotals reads the rows f selects in a View.
func readTotals(t *testing.T, s hub.Store, f hub.TotalsFilter) []hub.Totals {
	t.Helper()
	var out []hub.Totals
	view(t, s, func(r hub.Reader) error {
		var err error
		out, err = r.Totals(f)
		return err
	})
	return out
}

// Rows added twice, within one call and across calls, sum; every filter
// selects its rows, in key order; Daily sums a day's hours per mode.
func testTotals(t *testing.T, s hub.Store) {
	same(t, "totals of an empty ledger", len(readTotals(t, s, hub.TotalsFilter{})), 0)
	update(t, s, func(tx hub.Tx) error {
		return tx.AddTotals(
			row("2026-03-14", "S-2", "C-1", 9, off, 1, 0, 1, 2500),
			row("2026-03-14", "S-1", "C-1", 9, on, 1, 0, 2, 5000),
			row("2026-03-14", "S-1", "C-1", 9, on, 1, 0, 1, 2500), // same key in one call
			row("2026-03-14", "S-1", "C-1", 23, off, 0, 1, -1, -2500),
			row("2026-03-13", "S-1", "C-2", 0, off, 3, 0, 3, 300),
		)
	})
	update(t, s, func(tx hub.Tx) error {
		return tx.AddTotals(
			row("2026-03-14", "S-1", "C-1", 9, on, 0, 1, -1, -2500), // an existing key
			row("2026-03-15", "S-1", "C-1", 9, on, 1, 0, 1, 2500),
			row("2026-03-14", "S-1", "C-1", 9, off, 2, 0, 2, 5000),
		)
	})
	all := []hub.Totals{
		row("2026-03-13", "S-1", "C-2", 0, off, 3, 0, 3, 300),
		row("2026-03-14", "S-1", "C-1", 9, off, 2, 0, 2, 5000),
		row("2026-03-14", "S-1", "C-1", 9, on, 2, 1, 2, 5000),
		row("2026-03-14", "S-1", "C-1", 23, off, 0, 1, -1, -2500),
		row("2026-03-14", "S-2", "C-1", 9, off, 1, 0, 1, 2500),
		row("2026-03-15", "S-1", "C-1", 9, on, 1, 0, 1, 2500),
	}
	same(t, "every row", readTotals(t, s, hub.TotalsFilter{}), all)
	same(t, "from 2026-03-14 to 2026-03-14", readTotals(t, s, hub.TotalsFilter{From: "2026-03-14", To: "2026-03-14"}), all[1:5])
	same(t, "from 2026-03-14", readTotals(t, s, hub.TotalsFilter{From: "2026-03-14"}), all[1:])
	same(t, "to 2026-03-14", readTotals(t, s, hub.TotalsFilter{To: "2026-03-14"}), all[:5])
	same(t, "store S-2", readTotals(t, s, hub.TotalsFilter{Store: "S-2"}), all[4:5])
	same(t, "campaign C-2", readTotals(t, s, hub.TotalsFilter{Campaign: "C-2"}), all[:1])
	same(t, "store S-1, campaign C-1, to 2026-03-14",
		readTotals(t, s, hub.TotalsFilter{Store: "S-1", Campaign: "C-1", To: "2026-03-14"}), all[1:4])
	same(t, "nothing matches", len(readTotals(t, s, hub.TotalsFilter{Store: "S-3"})), 0)

	daily := []hub.Totals{
		row("2026-03-13", "S-1", "C-2", -1, off, 3, 0, 3, 300),
		row("2026-03-14", "S-1", "C-1", -1, off, 2, 1, 1, 2500), // hours 9 and 23
		row("2026-03-14", "S-1", "C-1", -1, on, 2, 1, 2, 5000),
		row("2026-03-14", "S-2", "C-1", -1, off, 1, 0, 1, 2500),
		row("2026-03-15", "S-1", "C-1", -1, on, 1, 0, 1, 2500),
	}
	same(t, "daily", readTotals(t, s, hub.TotalsFilter{Daily: true}), daily)
	same(t, "daily, store S-1 on 2026-03-14",
		readTotals(t, s, hub.TotalsFilter{Daily: true, Store: "S-1", From: "2026-03-14", To: "2026-03-14"}), daily[1:3])
}

// A zero-sum row is kept: it counts events even when they cancel out.
// ClearTotals empties the roll-up; an Update that fails leaves none of
// what it added.
func testTotalsClearAndRollback(t *testing.T, s hub.Store) {
	update(t, s, func(tx hub.Tx) error {
		return tx.AddTotals(row("2026-03-14", "S-1", "C-1", 9, on, 1, 1, 0, 0))
	})
	same(t, "a row that nets to zero", readTotals(t, s, hub.TotalsFilter{}),
		[]hub.Totals{row("2026-03-14", "S-1", "C-1", 9, on, 1, 1, 0, 0)})
	err := s.Update(context.Background(), func(tx hub.Tx) error {
		check(t, "add totals", tx.AddTotals(row("2026-03-14", "S-1", "C-1", 9, on, 5, 0, 5, 500),
			row("2026-03-14", "S-9", "C-1", 9, on, 5, 0, 5, 500)))
		return errBoom
	})
	isErr(t, "failed update", err, errBoom)
	same(t, "after a rolled-back add", readTotals(t, s, hub.TotalsFilter{}),
		[]hub.Totals{row("2026-03-14", "S-1", "C-1", 9, on, 1, 1, 0, 0)})
	same(t, "daily after a rolled-back add", readTotals(t, s, hub.TotalsFilter{Daily: true}),
		[]hub.Totals{row("2026-03-14", "S-1", "C-1", -1, on, 1, 1, 0, 0)})
	update(t, s, func(tx hub.Tx) error { return tx.ClearTotals() })
	same(t, "after clear", len(readTotals(t, s, hub.TotalsFilter{})), 0)
	same(t, "daily after clear", len(readTotals(t, s, hub.TotalsFilter{Daily: true})), 0)
	update(t, s, func(tx hub.Tx) error { return tx.ClearTotals() }) // nothing to clear: no error
}

// Many rows in one call (more than any one statement takes) all land, and
// a second pass adds to each.
func testTotalsMany(t *testing.T, s hub.Store) {
	var rows []hub.Totals
	for i := range 203 {
		rows = append(rows, row("2026-03-14", fmt.Sprintf("S-%03d", i), "C-1", i%24, off, 1, 0, 1, int64(i)))
	}
	update(t, s, func(tx hub.Tx) error { return tx.AddTotals(rows...) })
	update(t, s, func(tx hub.Tx) error { return tx.AddTotals(rows...) })
	got := readTotals(t, s, hub.TotalsFilter{})
	if len(got) != len(rows) {
		t.Fatalf("%d rows, want %d", len(got), len(rows))
	}
	for i, r := range got {
		want := rows[i]
		want.Redemptions, want.Uses, want.Value = 2, 2, 2*want.Value
		same(t, fmt.Sprintf("row %d", i), r, want)
	}
	daily := readTotals(t, s, hub.TotalsFilter{Daily: true})
	if len(daily) != len(rows) {
		t.Fatalf("%d daily rows, want %d", len(daily), len(rows))
	}
	for i, r := range daily {
		want := rows[i]
		want.Hour, want.Redemptions, want.Uses, want.Value = -1, 2, 2, 2*want.Value
		same(t, fmt.Sprintf("daily row %d", i), r, want)
	}
}

// LocksBetween selects by store and by day, either end open, by store
// and day.
func testLocksBetween(t *testing.T, s hub.Store) {
	mk := func(store, day string, h int) protocol.SettlementLock {
		return protocol.SettlementLock{Store: store, Day: day, At: at(time.Duration(h) * time.Hour)}
	}
	locks := []protocol.SettlementLock{mk("S-1", "2026-03-12", 1), mk("S-1", "2026-03-13", 2),
		mk("S-1", "2026-03-14", 3), mk("S-2", "2026-03-13", 4)}
	view(t, s, func(r hub.Reader) error {
		l, err := r.LocksBetween("", "", "")
		check(t, "locks between", err)
		same(t, "locks of an empty ledger", len(l), 0)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		for _, i := range []int{3, 2, 0, 1} {
			check(t, "put lock", tx.PutLock(locks[i]))
		}
		return nil
	})
	for _, c := range []struct {
		store, from, to string
		want            []protocol.SettlementLock
	}{
		{"", "", "", locks},
		{"S-1", "", "", locks[:3]},
		{"S-2", "", "", locks[3:]},
		{"S-3", "", "", nil},
		{"", "2026-03-13", "2026-03-13", []protocol.SettlementLock{locks[1], locks[3]}},
		{"", "2026-03-13", "", locks[1:]},
		{"S-1", "", "2026-03-13", locks[:2]},
		{"S-1", "2026-03-15", "", nil},
	} {
		view(t, s, func(r hub.Reader) error {
			l, err := r.LocksBetween(c.store, c.from, c.to)
			check(t, "locks between", err)
			if len(c.want) == 0 {
				same(t, fmt.Sprintf("locks of %q from %q to %q", c.store, c.from, c.to), len(l), 0)
			} else {
				same(t, fmt.Sprintf("locks of %q from %q to %q", c.store, c.from, c.to), l, c.want)
			}
			return nil
		})
	}
}
