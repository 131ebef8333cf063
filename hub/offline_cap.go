package hub

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// offlineCap raises, or extends, the offline_cap alert of terminal t for
// e, an attempt it journaled with reason offline_limit: deciding offline,
// it refused a code because one of the campaign's offline caps (count,
// value or age) was reached. One alert per terminal while it is open; each
// refusal adds its event, and the detail counts the refusals since the
// alert was raised and names their campaigns. Called after e is queued.
func (w *writer) offlineCap(t *Terminal, e protocol.Event) error {
	ref := e.Ref()
	a := Alert{Kind: AlertOfflineCap, Key: t.ID, Stores: []string{t.Store}, Terminals: []string{t.ID},
		Events: []protocol.EventRef{ref}}
	open, err := w.tx.OpenAlert(AlertOfflineCap, t.ID)
	if errors.Is(err, ErrNotFound) {
		a.Detail = capDetail(t, 1, union(nil, []string{e.Campaign}), e.At, e)
		return w.raise(a)
	}
	if err != nil {
		return fmt.Errorf("open alert: %w", err)
	}
	// The alert is open: count the refusals from its first one on.
	first := ref
	for _, r := range open.Events {
		if r.Terminal == t.ID && r.Seq < first.Seq {
			first = r
		}
	}
	n, camps, since, err := w.capRefusals(t.ID, first)
	if err != nil {
		return err
	}
	a.Detail = capDetail(t, n, camps, since, e)
	if len(open.Events) >= maxAlertEvents {
		// raise would find nothing new to list: the count is what changed.
		open.Detail = a.Detail
		if err := w.tx.UpdateAlert(open); err != nil {
			return fmt.Errorf("update alert %d: %w", open.ID, err)
		}
		w.alerts = append(w.alerts, open)
		return nil
	}
	return w.raise(a)
}

// capRefusals counts terminal's offline_limit attempts from the one at
// first on (queued ones included) and returns their campaigns, sorted,
// and the time of the first.
func (w *writer) capRefusals(terminal string, first protocol.EventRef) (n int, camps []string, since time.Time, err error) {
	start, err := w.event(first)
	if err != nil {
		return 0, nil, since, fmt.Errorf("first refusal %s: %w", first, err)
	}
	since = start.At
	f := EventFilter{Terminal: terminal, Kinds: []protocol.EventKind{protocol.KindAttempt}, AfterID: start.ID - 1}
	err = w.tx.Events(f, func(e Event) error {
		if e.Reason == protocol.OfflineLimit {
			n++
			camps = append(camps, e.Campaign)
		}
		return nil
	})
	if err != nil {
		return 0, nil, since, fmt.Errorf("refusals of %s: %w", terminal, err)
	}
	return n, union(nil, camps), since, nil
}

// capDetail says how many codes t refused at its offline caps since when,
// of which campaigns (sorted, distinct), and why the latest, e, was refused.
func capDetail(t *Terminal, n int, camps []string, since time.Time, e protocol.Event) string {
	var b strings.Builder
	noun := "codes"
	if n == 1 {
		noun = "code"
	}
	fmt.Fprintf(&b, "terminal %s of store %s refused %d %s offline because an offline cap was reached, since %s",
		t.ID, t.Store, n, noun, since.UTC().Format(time.RFC3339))
	if len(camps) > 0 {
		fmt.Fprintf(&b, "; campaigns %s", strings.Join(camps, ", "))
	}
	fmt.Fprintf(&b, "; latest %s", e.Ref())
	if e.Note != "" {
		fmt.Fprintf(&b, ": %s", e.Note)
	}
	return b.String()
}
