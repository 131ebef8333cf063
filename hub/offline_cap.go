package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// metaOfflineCap + a terminal id is the meta key of the tally of its open
// offline_cap alert, so that each refusal costs a few indexed reads
// however many came before.
const metaOfflineCap = "offline_cap/"

// capTally counts the refusals an offline_cap alert stands for.
type capTally struct {
	Alert     int64     `json:"alert"`
	Count     int       `json:"count"`
	Campaigns []string  `json:"campaigns"` // sorted, distinct
	Since     time.Time `json:"since"`     // the first refusal, terminal time
}

// offlineCap raises, or extends, the offline_cap alert of terminal t for
// e, an attempt it journaled with reason offline_limit: deciding offline,
// it refused a code because one of the campaign's offline caps (count,
// value or age) was reached. One alert per terminal while it is open; each
// refusal adds its event, and the detail counts the refusals since the
// alert was raised and names their campaigns.
func (w *writer) offlineCap(t *Terminal, e protocol.Event) error {
	a := Alert{Kind: AlertOfflineCap, Key: t.ID, Stores: []string{t.Store}, Terminals: []string{t.ID},
		Events: []protocol.EventRef{e.Ref()}}
	key := metaOfflineCap + t.ID
	open, err := w.tx.OpenAlert(AlertOfflineCap, t.ID)
	if errors.Is(err, ErrNotFound) {
		tally := capTally{Count: 1, Campaigns: union(nil, []string{e.Campaign}), Since: e.At}
		a.Detail = capDetail(t, tally, e)
		if err := w.raise(a); err != nil {
			return err
		}
		tally.Alert = w.alerts[len(w.alerts)-1].ID
		return w.putTally(key, tally)
	}
	if err != nil {
		return fmt.Errorf("open alert: %w", err)
	}
	var tally capTally
	b, err := w.tx.Meta(key)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &tally); err != nil {
			return fmt.Errorf("meta %s: %w", key, err)
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	if tally.Alert != open.ID { // not expected: count what the alert lists
		tally = capTally{Alert: open.ID, Count: len(open.Events), Since: open.At}
	}
	tally.Count++
	tally.Campaigns = union(tally.Campaigns, []string{e.Campaign})
	a.Detail = capDetail(t, tally, e)
	if len(open.Events) >= maxAlertEvents {
		// raise would find nothing new to list: the count is what changed.
		open.Detail = a.Detail
		if err := w.tx.UpdateAlert(open); err != nil {
			return fmt.Errorf("update alert %d: %w", open.ID, err)
		}
		w.alerts = append(w.alerts, open)
	} else if err := w.raise(a); err != nil {
		return err
	}
	w.coalesce(open.ID)
	return w.putTally(key, tally)
}

// coalesce keeps one notice of alert id, the last, so a batch of many
// refusals tells the stream the alert's final state once.
func (w *writer) coalesce(id int64) {
	last := len(w.alerts) - 1
	if last < 0 || w.alerts[last].ID != id {
		return
	}
	latest := w.alerts[last]
	w.alerts = append(slices.DeleteFunc(w.alerts[:last], func(a Alert) bool { return a.ID == id }), latest)
}

func (w *writer) putTally(key string, tally capTally) error {
	b, err := json.Marshal(tally)
	if err != nil {
		return err
	}
	return w.tx.SetMeta(key, b)
}

// capDetail says how many codes t refused at its offline caps since when,
// of which campaigns, and why the latest, e, was refused.
func capDetail(t *Terminal, tally capTally, e protocol.Event) string {
	var b strings.Builder
	noun := "codes"
	if tally.Count == 1 {
		noun = "code"
	}
	fmt.Fprintf(&b, "terminal %s of store %s refused %d %s offline because an offline cap was reached, since %s",
		t.ID, t.Store, tally.Count, noun, tally.Since.UTC().Format(time.RFC3339))
	if len(tally.Campaigns) > 0 {
		fmt.Fprintf(&b, "; campaigns %s", strings.Join(tally.Campaigns, ", "))
	}
	fmt.Fprintf(&b, "; latest %s", e.Ref())
	if e.Note != "" {
		fmt.Fprintf(&b, ": %s", e.Note)
	}
	return b.String()
}
