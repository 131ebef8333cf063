package terminal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// CampaignTotal sums one campaign's events of a day.
type CampaignTotal struct {
	Campaign    string
	Redemptions int   // redemption events
	Uses        int   // uses they took
	Value       int64 // their face value, fen
	Offline     int   // redemptions decided offline
	Voids       int   // void events
	VoidedUses  int
	VoidedValue int64
	Refused     int // attempts (refused scans) naming the campaign
}

// Net is the value redeemed less the value voided.
func (c CampaignTotal) Net() int64 { return c.Value - c.VoidedValue }

// Totals sums events by campaign, ordered by campaign id; refused scans
// that named no campaign (unreadable or unknown codes) are under "".
func Totals(events []protocol.Event) []CampaignTotal {
	by := map[string]*CampaignTotal{}
	for _, e := range events {
		if e.Kind != protocol.KindRedemption && e.Kind != protocol.KindVoid && e.Kind != protocol.KindAttempt {
			continue // a z_report counts nothing itself
		}
		t := by[e.Campaign]
		if t == nil {
			t = &CampaignTotal{Campaign: e.Campaign}
			by[e.Campaign] = t
		}
		switch e.Kind {
		case protocol.KindRedemption:
			t.Redemptions++
			t.Uses += e.Uses
			t.Value += e.Amount
			if e.Mode == protocol.ModeOffline {
				t.Offline++
			}
		case protocol.KindVoid:
			t.Voids++
			t.VoidedUses += e.Uses
			t.VoidedValue += e.Amount
		case protocol.KindAttempt:
			t.Refused++
		}
	}
	out := make([]CampaignTotal, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Campaign < out[j].Campaign })
	return out
}

// Report is an X report (the running totals) or a Z report (the numbered
// close) of this terminal's events since its last Z report.
type Report struct {
	Z       bool
	Number  int               // the Z number; 0 on an X report
	Event   protocol.EventRef // the z_report event; zero on an X report
	Manager string            // who closed the day (Z)
	From    uint64            // first seq covered
	To      uint64            // last seq covered (From-1: nothing since the last Z)
	Since   time.Time         // the last Z report's time; zero before the first
	At      time.Time         // when the report was made
	Lines   []CampaignTotal
}

// Sum adds up the report's lines as a z_report records them.
func (r Report) Sum() protocol.ZReport {
	z := protocol.ZReport{Number: r.Number, From: r.From, To: r.To}
	for _, l := range r.Lines {
		z.Redemptions += l.Redemptions
		z.Uses += l.Uses
		z.Value += l.Value
		z.Voids += l.Voids
		z.VoidedUses += l.VoidedUses
		z.VoidedValue += l.VoidedValue
		z.Offline += l.Offline
		z.Refused += l.Refused
	}
	return z
}

// XReport totals the events since the last Z report without closing
// anything: a manager may print it any number of times.
func (e *Engine) XReport(ctx context.Context) (Report, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sinceZLocked(ctx)
}

// CloseDay makes the next numbered Z report: it totals the events since the
// last one and journals them as a z_report event, which syncs to the hub
// like any other. Z numbers never repeat: the journal is their only
// record. manager is who closed the day.
func (e *Engine) CloseDay(ctx context.Context, manager string) (Report, error) {
	if err := protocol.ValidID(manager); err != nil {
		return Report{}, fmt.Errorf("manager: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if reason := e.store.Revoked(); reason != "" {
		return Report{}, fmt.Errorf("cannot close the day: this terminal was revoked by HQ (%s)", reason)
	}
	if _, err := e.resolveLocked(ctx); err != nil {
		return Report{}, err
	}
	r, err := e.sinceZLocked(ctx)
	if err != nil {
		return Report{}, err
	}
	r.Z, r.Number, r.Manager = true, r.Number+1, manager
	z := r.Sum()
	id := e.ident()
	ev := protocol.Event{V: protocol.WireVersion, Terminal: id.Terminal, Kind: protocol.KindZReport, At: r.At, Store: id.Store,
		Cashier: manager, Mode: e.modeLocked(), Reason: protocol.Accepted, Z: &z}
	ref, err := e.store.Append(ctx, ev, nil)
	if err != nil {
		return Report{}, errRecord(err)
	}
	r.Event = ref
	e.log.Info("day closed", "z", r.Number, "from", r.From, "to", r.To, "manager", manager)
	return r, nil
}

// sinceZLocked totals the events after the last Z report; Number is that
// report's number (0 before the first).
func (e *Engine) sinceZLocked(ctx context.Context) (Report, error) {
	var r Report
	last, err := e.store.LastZ(ctx)
	switch {
	case err == nil:
		if last.Z == nil {
			return Report{}, fmt.Errorf("z report %s has no totals", last.Ref())
		}
		r.Number, r.From, r.Since = last.Z.Number, last.Seq+1, last.At
	case errors.Is(err, ErrNotFound):
		r.From = 1
	default:
		return Report{}, fmt.Errorf("read the last z report: %w", err)
	}
	evs, err := e.store.EventsAfter(ctx, r.From-1)
	if err != nil {
		return Report{}, fmt.Errorf("read events since the last z report: %w", err)
	}
	r.To = r.From - 1
	if len(evs) > 0 {
		r.To = evs[len(evs)-1].Seq
	}
	r.Lines, r.At = Totals(evs), e.now()
	return r, nil
}
