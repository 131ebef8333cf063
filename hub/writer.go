package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// maxAlertEvents bounds the events one alert lists; its detail keeps the count.
const maxAlertEvents = 50

// writer is one ledger transaction and what it will tell others once it
// commits.
type writer struct {
	h       *Hub
	tx      Tx
	now     time.Time
	changes []Change // as pushed: dynamic seeds in the clear
	events  []Event

	// Rows not yet written: changes and events, each written by one call
	// at the end or before a read needs them.
	queued  []queuedChange
	inserts []Event
	alerts  []Alert
	term    *Terminal

	totals rollup   // what the events of the transaction add to the roll-up, not yet written
	added  []Totals // what was written to the roll-up, for the overview's cache once committed
}

// update runs fn in a ledger transaction under wmu and, once it commits,
// publishes what it changed, in order.
func (h *Hub) update(ctx context.Context, fn func(w *writer) error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	var w *writer
	err := h.store.Update(ctx, func(tx Tx) error {
		w = &writer{h: h, tx: tx, now: h.now().UTC()}
		return w.run(fn)
	})
	if err != nil {
		return err
	}
	h.committed(w)
	return nil
}

// run runs fn and writes what it queued.
func (w *writer) run(fn func(w *writer) error) error {
	if err := fn(w); err != nil {
		return err
	}
	if err := w.flushEvents(); err != nil {
		return err
	}
	if err := w.flushTotals(); err != nil {
		return err
	}
	return w.flushChanges()
}

// committed publishes what w's committed transaction changed. Callers hold
// wmu.
func (h *Hub) committed(w *writer) {
	h.stats.Alerts.Add(int64(len(w.alerts)))
	h.cache.committed(w.added)
	h.publish(Notice{Pushes: h.pushes(w.changes), Events: w.events, Alerts: w.alerts, Terminal: w.term})
}

// groupReq is an update waiting to join a group commit.
type groupReq struct {
	ctx  context.Context
	fn   func(*writer) error
	err  error
	wake chan bool // true: lead the next group; false: done, err is set
}

// maxGroup bounds the updates one group commit takes.
const maxGroup = 8

// updateGrouped is update for ingest, with group commit: the updates that
// arrive while a transaction commits wait, then share the next one and
// its one fsync. The first waiting caller leads the next group. When any
// fn of a group fails the group is rolled back and each of its updates is
// run again alone, so one update's error never touches another's. fn may
// therefore run twice and must not change anything outside the ledger;
// fns of one group must not depend on each other (Ingest holds the
// terminal's lock, so a group has at most one batch per terminal).
func (h *Hub) updateGrouped(ctx context.Context, fn func(w *writer) error) error {
	r := &groupReq{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	h.gmu.Lock()
	h.waiting = append(h.waiting, r)
	if !h.leading {
		h.leading = true
		r.wake <- true
	}
	h.gmu.Unlock()
	for <-r.wake {
		h.gmu.Lock()
		n := min(len(h.waiting), maxGroup)
		g := slices.Clone(h.waiting[:n])
		h.waiting = slices.Delete(h.waiting, 0, n)
		h.gmu.Unlock()
		h.commitGroup(g)
		h.gmu.Lock()
		if len(h.waiting) > 0 {
			h.waiting[0].wake <- true
		} else {
			h.leading = false
		}
		h.gmu.Unlock()
	}
	return r.err
}

// commitGroup runs g's updates in one transaction, or each alone when
// that fails, and wakes each with its result.
func (h *Hub) commitGroup(g []*groupReq) {
	live := make([]*groupReq, 0, len(g))
	for _, r := range g {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			r.wake <- false
			continue
		}
		live = append(live, r)
	}
	if len(live) > 1 {
		h.wmu.Lock()
		ws := make([]*writer, len(live))
		err := h.store.Update(context.WithoutCancel(live[0].ctx), func(tx Tx) error {
			now := h.now().UTC()
			for i, r := range live {
				ws[i] = &writer{h: h, tx: tx, now: now}
				if err := ws[i].run(r.fn); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			h.stats.IngestCommits.Add(1)
			for i, w := range ws {
				h.committed(w)
				live[i].wake <- false
			}
			h.wmu.Unlock()
			return
		}
		h.wmu.Unlock()
	}
	for _, r := range live {
		r.err = h.update(r.ctx, r.fn)
		if r.err == nil {
			h.stats.IngestCommits.Add(1)
		}
		r.wake <- false
	}
}

// change appends c to the feed for audience a.
func (w *writer) change(c protocol.Change, a Audience) error {
	return w.add(c, c, a)
}

// codeChange tells the terminals that may redeem code its new state. The
// feed row holds a dynamic code's seed sealed; the push carries it clear.
func (w *writer) codeChange(kind protocol.ChangeKind, code Code) error {
	return w.codeChangeBy(kind, code, nil)
}

// codeChangeBy is codeChange naming the redemption or void behind it (by
// may be nil), stored in the feed row and pushed alike.
func (w *writer) codeChangeBy(kind protocol.ChangeKind, code Code, by *protocol.ChangeOrigin) error {
	st, err := w.h.codeState(code)
	if err != nil {
		return err
	}
	stored := st
	if code.Format == protocol.FormatDynamic {
		stored.Seed = code.SealedSeed
	}
	return w.add(protocol.Change{Kind: kind, Code: &st, By: by}, protocol.Change{Kind: kind, Code: &stored, By: by},
		w.h.codeAudience(code))
}

// claimOrigin is the origin of the change a claim of terminal t on code
// makes: online, at the terminal's time, worth the campaign's face value
// per use (the claim carries no amount).
func (w *writer) claimOrigin(t Terminal, req *protocol.ClaimRequest, code Code) *protocol.ChangeOrigin {
	return &protocol.ChangeOrigin{Terminal: t.ID, Store: t.Store, Seq: req.Seq, Kind: req.Kind, Uses: req.Uses,
		Amount: w.h.amount(code.Campaign, req.Uses), Mode: protocol.ModeOnline, Cashier: req.Cashier, At: req.At}
}

// amount is uses of campaign's face value, in fen, within protocol.MaxMoney.
func (h *Hub) amount(campaign string, uses int) int64 {
	camp, _ := h.campaign(campaign)
	if uses <= 0 || camp.FaceValue <= 0 {
		return 0
	}
	return min(camp.FaceValue, protocol.MaxMoney/int64(uses)) * int64(uses)
}

// add queues row for the feed and pushed, the same change as terminals
// receive it; flushChanges gives them their seq.
func (w *writer) add(pushed, row protocol.Change, a Audience) error {
	row.At, pushed.At = w.now, w.now
	w.queued = append(w.queued, queuedChange{row: row, pushed: pushed, aud: a})
	return nil
}

// queuedChange is a change as stored (row) and as pushed, for its audience.
type queuedChange struct {
	row, pushed protocol.Change
	aud         Audience
}

// flushChanges writes the queued changes and queues their pushes with the
// seqs the store gave. An invalid change fails the transaction, so nothing
// of it is kept.
func (w *writer) flushChanges() error {
	if len(w.queued) == 0 {
		return nil
	}
	rows := make([]Change, len(w.queued))
	for i, q := range w.queued {
		rows[i] = Change{Change: q.row, Audience: q.aud}
	}
	seqs, err := w.tx.AddChanges(rows...)
	if err != nil {
		return fmt.Errorf("add changes: %w", err)
	}
	if len(seqs) != len(rows) {
		return fmt.Errorf("add changes: %d seqs for %d changes", len(seqs), len(rows))
	}
	for i, q := range w.queued {
		q.pushed.Seq = seqs[i]
		if err := q.pushed.Validate(); err != nil {
			return fmt.Errorf("change %s: %w", q.pushed.Kind, err)
		}
		w.changes = append(w.changes, Change{Change: q.pushed, Audience: q.aud})
	}
	w.queued = w.queued[:0]
	return nil
}

// insert queues an event for the ledger.
func (w *writer) insert(e Event) {
	w.inserts = append(w.inserts, e)
}

// flushEvents writes the queued events; a read of the ledger's events in
// the transaction calls it first.
func (w *writer) flushEvents() error {
	if len(w.inserts) == 0 {
		return nil
	}
	if err := w.tx.InsertEvents(w.inserts...); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	w.inserts = w.inserts[:0]
	return nil
}

// event and codeEvents read the ledger's events, queued ones included.
func (w *writer) event(ref protocol.EventRef) (Event, error) {
	if err := w.flushEvents(); err != nil {
		return Event{}, err
	}
	return w.tx.Event(ref)
}

func (w *writer) codeEvents(code string) ([]Event, error) {
	if err := w.flushEvents(); err != nil {
		return nil, err
	}
	return w.tx.CodeEvents(code)
}

// raise records an alert, or extends the open one of the same kind about
// the same key with new parties, so one incident is one alert.
func (w *writer) raise(a Alert) error {
	a.At = w.now
	open, err := w.tx.OpenAlert(a.Kind, a.Key)
	switch {
	case err == nil:
		merged := open
		merged.Stores = union(open.Stores, a.Stores)
		merged.Terminals = union(open.Terminals, a.Terminals)
		merged.Events = unionRefs(open.Events, a.Events)
		if slices.Equal(merged.Stores, open.Stores) && slices.Equal(merged.Terminals, open.Terminals) &&
			len(merged.Events) == len(open.Events) {
			return nil // nothing new: a re-sent event, or the same party again
		}
		merged.Detail = a.Detail
		if err := w.tx.UpdateAlert(merged); err != nil {
			return fmt.Errorf("update alert %d: %w", open.ID, err)
		}
		w.alerts = append(w.alerts, merged)
		return nil
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("open alert: %w", err)
	}
	a.Stores = union(nil, a.Stores)
	a.Terminals = union(nil, a.Terminals)
	a.Events = unionRefs(nil, a.Events)
	id, err := w.tx.AddAlert(a)
	if err != nil {
		return fmt.Errorf("add alert: %w", err)
	}
	a.ID = id
	w.alerts = append(w.alerts, a)
	w.h.log.Warn("alert", "kind", a.Kind, "key", a.Key, "detail", a.Detail)
	return nil
}

// union returns the sorted distinct non-empty strings of a and b.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, s := range append(slices.Clone(a), b...) {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func unionRefs(a, b []protocol.EventRef) []protocol.EventRef {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.Contains(out, r) && len(out) < maxAlertEvents {
			out = append(out, r)
		}
	}
	return out
}

// codeAudience is who must know about code: its own scope, else its
// campaign's, else every store.
func (h *Hub) codeAudience(c Code) Audience {
	if len(c.Stores) > 0 || len(c.Regions) > 0 {
		return Audience{Stores: c.Stores, Regions: c.Regions}
	}
	camp, ok := h.campaign(c.Campaign)
	if ok && (len(camp.Stores) > 0 || len(camp.Regions) > 0) {
		return Audience{Stores: camp.Stores, Regions: camp.Regions}
	}
	return Audience{All: true}
}

// codeState is what a terminal caches of c, with a dynamic seed unsealed.
func (h *Hub) codeState(c Code) (protocol.CodeState, error) {
	st := protocol.CodeState{
		ID: c.ID, Campaign: c.Campaign, Format: c.Format, SecretHash: c.SecretHash,
		Uses: c.Uses, UsesLeft: c.UsesLeft(), Status: c.Status, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
		Stores: c.Stores, Regions: c.Regions, LastUsed: c.LastUse.At, LastStep: c.LastStep,
	}
	if c.Format == protocol.FormatDynamic {
		seed, err := h.sec.Open("seed/"+c.ID, c.SealedSeed)
		if err != nil {
			return st, err
		}
		st.Seed = seed
	}
	return st, nil
}

// inScope reports whether code may be redeemed at store.
func (h *Hub) inScope(c Code, store string) bool {
	h.mu.RLock()
	s := h.stores[store]
	camp, ok := h.campaigns[c.Campaign]
	h.mu.RUnlock()
	if len(c.Stores) > 0 || len(c.Regions) > 0 {
		return protocol.InScope(c.Stores, c.Regions, store, s.Region)
	}
	return !ok || camp.InScope(store, s.Region)
}

func (h *Hub) campaign(id string) (protocol.Campaign, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.campaigns[id]
	return c, ok
}

func (h *Hub) storeByID(id string) (protocol.Store, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, ok := h.stores[id]
	return s, ok
}
