package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// The roll-up: every ingested redemption and void adds to one row of the
// ledger's totals table, in the transaction that records the event, so the
// table always equals a recount of the events table. Overview and Report
// read it instead of the events.

// totalsVersion is the version of the rules that fill the roll-up. A
// ledger whose roll-up was built by older rules (or never, a ledger from
// before the roll-up) is rebuilt from its events at start.
const totalsVersion = 1

// metaTotals is the meta key holding the roll-up's version.
const metaTotals = "totals_version"

// TotalsKey is what one roll-up row counts: the events of one store and
// campaign decided in one mode, in one hour of the store's business day.
// Day and Hour are of the event's RuleTime in the store's time zone.
type TotalsKey struct {
	Day      string // YYYY-MM-DD
	Store    string
	Campaign string
	Hour     int // 0–23; -1 in rows summed over the day (TotalsFilter.Daily)
	Mode     protocol.Mode
}

// Totals is one roll-up row, or (as Tx.AddTotals takes it) what to add to
// one.
type Totals struct {
	TotalsKey
	Redemptions int64 // redemption events
	Voids       int64 // void events
	Uses        int64 // net uses: redeemed minus voided
	Value       int64 // net value in fen: the redemptions' amounts minus the voids'
}

// add adds o's counts to t's.
func (t *Totals) add(o Totals) {
	t.Redemptions += o.Redemptions
	t.Voids += o.Voids
	t.Uses += o.Uses
	t.Value += o.Value
}

// TotalsFilter selects roll-up rows. Zero fields match everything.
type TotalsFilter struct {
	From, To string // days YYYY-MM-DD, both inclusive
	Store    string
	Campaign string
	// Daily sums the hours of each day, store, campaign and mode into one
	// row whose Hour is -1.
	Daily bool
}

// totalsOf is what event e adds to the roll-up, in store's zone of h.
func (h *Hub) totalsOf(e *Event) Totals {
	local := e.RuleTime().In(h.location(e.Store))
	t := Totals{TotalsKey: TotalsKey{Day: local.Format(time.DateOnly), Store: e.Store, Campaign: e.Campaign,
		Hour: local.Hour(), Mode: e.Mode}}
	switch e.Kind {
	case protocol.KindRedemption:
		t.Redemptions, t.Uses, t.Value = 1, int64(e.Uses), e.Amount
	case protocol.KindVoid:
		t.Voids, t.Uses, t.Value = 1, -int64(e.Uses), -e.Amount
	}
	return t
}

// rollup sums the totals of events by key.
type rollup map[TotalsKey]*Totals

func (r rollup) add(t Totals) {
	if cur, ok := r[t.TotalsKey]; ok {
		cur.add(t)
		return
	}
	r[t.TotalsKey] = &t
}

// rows returns r's rows in key order.
func (r rollup) rows() []Totals {
	out := make([]Totals, 0, len(r))
	for _, t := range r {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Totals) int { return compareKeys(a.TotalsKey, b.TotalsKey) })
	return out
}

func compareKeys(a, b TotalsKey) int {
	if c := strings.Compare(a.Day, b.Day); c != 0 {
		return c
	}
	if c := strings.Compare(a.Store, b.Store); c != 0 {
		return c
	}
	if c := strings.Compare(a.Campaign, b.Campaign); c != 0 {
		return c
	}
	if a.Hour != b.Hour {
		return a.Hour - b.Hour
	}
	return strings.Compare(string(a.Mode), string(b.Mode))
}

// count adds an ingested redemption or void to the transaction's roll-up;
// flushTotals writes it.
func (w *writer) count(e *Event) {
	if w.totals == nil {
		w.totals = rollup{}
	}
	w.totals.add(w.h.totalsOf(e))
}

// flushTotals adds what the transaction counted to the roll-up.
func (w *writer) flushTotals() error {
	if len(w.totals) == 0 {
		return nil
	}
	rows := w.totals.rows()
	if err := w.tx.AddTotals(rows...); err != nil {
		return fmt.Errorf("add totals: %w", err)
	}
	w.added = append(w.added, rows...)
	clear(w.totals)
	return nil
}

// ensureTotals rebuilds the roll-up from the events table when the ledger
// has none of this version: a ledger from before the roll-up, or one whose
// rules changed. It runs at start, before anything is ingested.
func (h *Hub) ensureTotals(ctx context.Context) error {
	var have []byte
	err := h.store.View(ctx, func(r Reader) error {
		var err error
		have, err = r.Meta(metaTotals)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("totals version: %w", err)
	}
	if v, _ := strconv.Atoi(string(have)); err == nil && v >= totalsVersion {
		return nil
	}
	start := h.now()
	var events, rows int
	err = h.update(ctx, func(w *writer) error {
		events, rows = 0, 0
		if err := w.tx.ClearTotals(); err != nil {
			return fmt.Errorf("clear totals: %w", err)
		}
		sums := rollup{}
		f := EventFilter{Kinds: []protocol.EventKind{protocol.KindRedemption, protocol.KindVoid}}
		if err := w.tx.Events(f, func(e Event) error {
			events++
			sums.add(h.totalsOf(&e))
			return nil
		}); err != nil {
			return err
		}
		all := sums.rows()
		rows = len(all)
		for len(all) > 0 { // in slices, so no one statement list grows with the ledger
			n := min(len(all), 4096)
			if err := w.tx.AddTotals(all[:n]...); err != nil {
				return fmt.Errorf("add totals: %w", err)
			}
			all = all[n:]
		}
		return w.tx.SetMeta(metaTotals, []byte(strconv.Itoa(totalsVersion)))
	})
	if err != nil {
		return fmt.Errorf("rebuild totals: %w", err)
	}
	h.cache.reset()
	h.log.Info("totals rebuilt from the ledger's events", "version", totalsVersion, "events", events, "rows", rows,
		"took", h.now().Sub(start))
	return nil
}

// Locks returns the settlement locks of store ("" for every store) for days
// from to to (inclusive; "" leaves that end open), by store and day.
func (h *Hub) Locks(ctx context.Context, store, from, to string) ([]protocol.SettlementLock, error) {
	if store != "" {
		if _, ok := h.storeByID(store); !ok {
			return nil, notFound("no store %q", store)
		}
	}
	if err := checkRange(from, to, 0); err != nil {
		return nil, err
	}
	var out []protocol.SettlementLock
	err := h.store.View(ctx, func(r Reader) error {
		var err error
		out, err = r.LocksBetween(store, from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("locks: %w", err)
	}
	if out == nil {
		out = []protocol.SettlementLock{}
	}
	return out, nil
}

// checkRange checks days from and to (either may be "" for open) and, when
// maxDays > 0 and both are given, that the range holds at most maxDays.
func checkRange(from, to string, maxDays int) error {
	var f, t time.Time
	var err error
	if from != "" {
		if f, err = time.Parse(time.DateOnly, from); err != nil {
			return invalid("from=%q is not a day; use YYYY-MM-DD", from)
		}
	}
	if to != "" {
		if t, err = time.Parse(time.DateOnly, to); err != nil {
			return invalid("to=%q is not a day; use YYYY-MM-DD", to)
		}
	}
	if from != "" && to != "" {
		if t.Before(f) {
			return invalid("to=%s is before from=%s", to, from)
		}
		if n := int(t.Sub(f).Hours()/24) + 1; maxDays > 0 && n > maxDays {
			return invalid("from=%s to=%s is %d days; ask for at most %d at a time", from, to, n, maxDays)
		}
	}
	return nil
}
