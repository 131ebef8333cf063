package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// The defaults of Config.OfflineAlertAfter and Config.SweepEvery.
const (
	DefaultOfflineAlertAfter = 30 * time.Minute
	DefaultSweepEvery        = time.Minute
)

// offlineAlertAfter is Config.OfflineAlertAfter with its default; 0 means
// the alert is off.
func (h *Hub) offlineAlertAfter() time.Duration {
	switch d := h.cfg.OfflineAlertAfter; {
	case d < 0:
		return 0
	case d == 0:
		return DefaultOfflineAlertAfter
	default:
		return d
	}
}

// Run sweeps (see Sweep) every Config.SweepEvery until ctx ends, then
// returns nil. A sweep that fails is logged and the next one tries again.
// A terminal already offline when Run starts is given the full
// OfflineAlertAfter from then on: while the hub itself was down it could
// not tell who was offline, and terminals reconnect once it is back.
// Whoever starts Run waits for it before closing the Store.
func (h *Hub) Run(ctx context.Context) error {
	every := h.cfg.SweepEvery
	if every <= 0 {
		every = DefaultSweepEvery
	}
	start := h.now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := h.sweep(ctx, start); err != nil && ctx.Err() == nil {
				h.log.Warn("sweep", "err", err)
			}
		}
	}
}

// Sweep raises a terminal_offline alert for each active terminal whose
// presence has been offline, or that has not connected since its
// enrollment, for longer than Config.OfflineAlertAfter, at the hub's
// clock. One offline stretch raises at most one alert: none while an
// earlier terminal_offline alert of the terminal is still open, none
// again once the stretch's alert is acknowledged; the terminal's next
// stretch (after a live presence back online) may raise a new one. A
// revoked terminal never alerts. The alerts go out with the other
// notices (Notice.Alerts).
func (h *Hub) Sweep(ctx context.Context) error {
	return h.sweep(ctx, time.Time{})
}

// sweep is Sweep counting offline time from watchFrom at the earliest.
func (h *Hub) sweep(ctx context.Context, watchFrom time.Time) error {
	after := h.offlineAlertAfter()
	if after <= 0 {
		return nil
	}
	now := h.now().UTC()
	var due []string
	err := h.store.View(ctx, func(r Reader) error {
		ts, err := r.Terminals()
		if err != nil {
			return err
		}
		for _, t := range ts {
			a, err := offlineAlert(r, t, now, watchFrom, after)
			if err != nil {
				return err
			}
			if a != nil {
				due = append(due, t.ID)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if len(due) == 0 {
		return nil
	}
	// Again inside the write: a terminal may have come back meanwhile.
	err = h.update(ctx, func(w *writer) error {
		for _, id := range due {
			t, err := w.tx.Terminal(id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			a, err := offlineAlert(w.tx, t, w.now, watchFrom, after)
			if err != nil {
				return err
			}
			if a == nil {
				continue
			}
			if err := w.raise(*a); err != nil {
				return err
			}
			since, _ := offlineSince(t)
			if err := w.tx.SetMeta(metaOfflineAlerted+t.ID, []byte(stretchID(since))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

// offlineSince returns since when t has been offline as the hub knows it —
// its last live presence when that presence is its last will (or a
// retained "offline"), its enrollment when it never connected — and
// whether it is offline at all.
func offlineSince(t Terminal) (time.Time, bool) {
	switch {
	case t.Presence == nil:
		return t.Created, true
	case t.Presence.State == protocol.PresenceOnline:
		return time.Time{}, false
	case !t.LastSeen.IsZero():
		return t.LastSeen, true
	default:
		return t.Created, true
	}
}

// offlineAlert returns the terminal_offline alert t is due at now, or nil.
// The stretch counts from its start or watchFrom, whichever is later.
func offlineAlert(r Reader, t Terminal, now, watchFrom time.Time, after time.Duration) (*Alert, error) {
	if t.Status != TerminalActive {
		return nil, nil
	}
	since, offline := offlineSince(t)
	if !offline || now.Sub(later(since, watchFrom)) <= after {
		return nil, nil
	}
	alerted, err := r.Meta(metaOfflineAlerted + t.ID)
	switch {
	case err == nil && string(alerted) == stretchID(since):
		return nil, nil // this stretch has had its alert
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, err
	}
	if _, err := r.OpenAlert(AlertTermOffline, t.ID); err == nil {
		return nil, nil // one open alert per terminal
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("open alert: %w", err)
	}
	return &Alert{Kind: AlertTermOffline, Key: t.ID, Stores: []string{t.Store}, Terminals: []string{t.ID},
		Detail: offlineDetail(t, since, after)}, nil
}

// metaOfflineAlerted + a terminal id is the meta key that holds the
// stretch (stretchID) of the terminal's last terminal_offline alert: one
// indexed read tells an alerted stretch from a new one, whether its alert
// is open or acknowledged.
const metaOfflineAlerted = "offline_alerted/"

// stretchID names an offline stretch by its start.
func stretchID(since time.Time) string { return since.UTC().Format(time.RFC3339Nano) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// offlineDetail says which terminal is offline since when, and what its
// last presence told.
func offlineDetail(t Terminal, since time.Time, after time.Duration) string {
	var b strings.Builder
	at := since.UTC().Format(time.RFC3339)
	if t.Presence == nil {
		fmt.Fprintf(&b, "terminal %s of store %s has not connected since its enrollment at %s (alert after %s)", t.ID, t.Store, at, after)
	} else {
		fmt.Fprintf(&b, "terminal %s of store %s has been offline since %s (alert after %s)", t.ID, t.Store, at, after)
	}
	switch p := t.Presence; {
	case p == nil:
	case p.Mode != "":
		fmt.Fprintf(&b, "; its last presence: mode %s, %d events in its outbox", p.Mode, p.Outbox)
	default:
		b.WriteString("; its last presence was its last will, which tells neither its mode nor its outbox")
	}
	if t.Head > 0 {
		fmt.Fprintf(&b, "; the hub holds its events up to seq %d", t.Head)
	}
	return b.String()
}
