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
	alerts  []Alert
	term    *Terminal
}

// update runs fn in a ledger transaction under wmu and, once it commits,
// publishes what it changed, in order.
func (h *Hub) update(ctx context.Context, fn func(w *writer) error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	var w *writer
	err := h.store.Update(ctx, func(tx Tx) error {
		w = &writer{h: h, tx: tx, now: h.now().UTC()}
		return fn(w)
	})
	if err != nil {
		return err
	}
	h.stats.Alerts.Add(int64(len(w.alerts)))
	h.publish(Notice{Pushes: h.pushes(w.changes), Events: w.events, Alerts: w.alerts, Terminal: w.term})
	return nil
}

// change appends c to the feed for audience a.
func (w *writer) change(c protocol.Change, a Audience) (uint64, error) {
	return w.add(c, c, a)
}

// codeChange tells the terminals that may redeem code its new state. The
// feed row holds a dynamic code's seed sealed; the push carries it clear.
func (w *writer) codeChange(kind protocol.ChangeKind, code Code) error {
	st, err := w.h.codeState(code)
	if err != nil {
		return err
	}
	stored := st
	if code.Format == protocol.FormatDynamic {
		stored.Seed = code.SealedSeed
	}
	_, err = w.add(protocol.Change{Kind: kind, Code: &st}, protocol.Change{Kind: kind, Code: &stored}, w.h.codeAudience(code))
	return err
}

// add stores row in the feed and queues pushed, the same change as
// terminals receive it, with the seq the store gave. An invalid change
// fails the transaction, so nothing of it is kept.
func (w *writer) add(pushed, row protocol.Change, a Audience) (uint64, error) {
	row.At, pushed.At = w.now, w.now
	seq, err := w.tx.AddChange(Change{Change: row, Audience: a})
	if err != nil {
		return 0, fmt.Errorf("add change: %w", err)
	}
	pushed.Seq = seq
	if err := pushed.Validate(); err != nil {
		return 0, fmt.Errorf("change %s: %w", pushed.Kind, err)
	}
	w.changes = append(w.changes, Change{Change: pushed, Audience: a})
	return seq, nil
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
