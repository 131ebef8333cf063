package storetest

import (
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func fullAlert() hub.Alert {
	return hub.Alert{Kind: hub.AlertOverRedemption, Key: "CODE-1", Code: "CODE-1",
		Stores: []string{"S-1", "S-2"}, Terminals: []string{"T-1", "T-2"},
		Events: []protocol.EventRef{{Terminal: "T-1", Seq: 4}, {Terminal: "T-2", Seq: 9}},
		At:     t0, Detail: "code CODE-1 redeemed 3 times, 2 allowed"}
}

func addAlerts(t *testing.T, s hub.Store, as ...hub.Alert) []hub.Alert {
	t.Helper()
	out := make([]hub.Alert, len(as))
	update(t, s, func(tx hub.Tx) error {
		for i, a := range as {
			a.ID = 0
			id, err := tx.AddAlert(a)
			check(t, "add alert", err)
			a.ID = id
			out[i] = a
		}
		return nil
	})
	return out
}

func testAlertRoundTrip(t *testing.T, s hub.Store) {
	view(t, s, func(r hub.Reader) error {
		_, err := r.Alert(1)
		isErr(t, "missing alert", err, hub.ErrNotFound)
		l, err := r.Alerts(hub.AlertFilter{})
		check(t, "alerts", err)
		same(t, "alerts of an empty ledger", len(l), 0)
		return nil
	})
	full := fullAlert()
	acked := hub.Alert{Kind: hub.AlertGap, Key: "T-3", Terminals: []string{"T-3"}, At: at(time.Hour),
		Detail: "events 5 to 9 missing", Acked: at(2 * time.Hour), AckedBy: "hq-admin", Note: "known outage"}
	bare := hub.Alert{Kind: hub.AlertForged, Key: "T-4", At: at(3 * time.Hour)}
	added := addAlerts(t, s, full, acked, bare)
	ids := map[int64]bool{}
	for _, a := range added {
		if a.ID == 0 || ids[a.ID] {
			t.Fatalf("AddAlert ids %d, %d, %d: want distinct and non-zero", added[0].ID, added[1].ID, added[2].ID)
		}
		ids[a.ID] = true
	}
	view(t, s, func(r hub.Reader) error {
		for _, want := range added {
			got, err := r.Alert(want.ID)
			check(t, "alert", err)
			same(t, "alert "+string(want.Kind), got, want)
		}
		return nil
	})
}

func testUpdateAlert(t *testing.T, s hub.Store) {
	a := addAlerts(t, s, fullAlert(), fullAlert())
	want := a[0]
	want.Stores = []string{"S-1", "S-2", "S-3"}
	want.Terminals = []string{"T-1", "T-2", "T-3"}
	want.Events = append(want.Events, protocol.EventRef{Terminal: "T-3", Seq: 1})
	want.Detail = "code CODE-1 redeemed 4 times, 2 allowed"
	want.Acked, want.AckedBy, want.Note = at(time.Hour), "hq-admin", "refunded at S-3"
	update(t, s, func(tx hub.Tx) error {
		check(t, "update alert", tx.UpdateAlert(want))
		missing := want
		missing.ID = a[0].ID + a[1].ID + 100
		isErr(t, "update a missing alert", tx.UpdateAlert(missing), hub.ErrNotFound)
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Alert(want.ID)
		check(t, "alert", err)
		same(t, "alert after UpdateAlert", got, want)
		got, err = r.Alert(a[1].ID)
		check(t, "alert", err)
		same(t, "other alert after UpdateAlert", got, a[1])
		return nil
	})
	// Parties can shrink back to none.
	want.Stores, want.Terminals, want.Events, want.Detail = nil, nil, nil, ""
	update(t, s, func(tx hub.Tx) error { return tx.UpdateAlert(want) })
	view(t, s, func(r hub.Reader) error {
		got, err := r.Alert(want.ID)
		check(t, "alert", err)
		same(t, "alert after emptying its parties", got, want)
		return nil
	})
}

func alertIDs(as []hub.Alert) []int64 {
	out := []int64{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testAlertsFilters(t *testing.T, s hub.Store) {
	// Added out of time order; newest first means by At.
	a := addAlerts(t, s,
		hub.Alert{Kind: hub.AlertScope, Key: "C-1", Code: "C-1", Stores: []string{"S-10"}, At: at(2 * time.Hour)},
		hub.Alert{Kind: hub.AlertOverRedemption, Key: "C-2", Stores: []string{"S-1", "S-2"}, At: at(4 * time.Hour)},
		hub.Alert{Kind: hub.AlertGap, Key: "T-1", Terminals: []string{"T-1"}, At: at(1 * time.Hour),
			Acked: at(5 * time.Hour), AckedBy: "x"},
		hub.Alert{Kind: hub.AlertOverRedemption, Key: "C-3", Stores: []string{"S-2"}, At: at(3 * time.Hour),
			Acked: at(6 * time.Hour), AckedBy: "y"},
		hub.Alert{Kind: hub.AlertScope, Key: "C-4", Stores: []string{"S-1"}, At: at(5 * time.Hour)},
	)
	id := func(i ...int) []int64 {
		out := []int64{}
		for _, x := range i {
			out = append(out, a[x].ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    hub.AlertFilter
		want []int64
	}{
		{"all, newest first", hub.AlertFilter{}, id(4, 1, 3, 0, 2)},
		{"kind", hub.AlertFilter{Kind: hub.AlertOverRedemption}, id(1, 3)},
		{"kind with none", hub.AlertFilter{Kind: hub.AlertFork}, id()},
		{"since (inclusive)", hub.AlertFilter{Since: at(3 * time.Hour)}, id(4, 1, 3)},
		{"store", hub.AlertFilter{Store: "S-1"}, id(4, 1)},
		{"store S-10 (not S-1)", hub.AlertFilter{Store: "S-10"}, id(0)},
		{"store S-2", hub.AlertFilter{Store: "S-2"}, id(1, 3)},
		{"store nobody names", hub.AlertFilter{Store: "S"}, id()},
		{"open", hub.AlertFilter{Open: true}, id(4, 1, 0)},
		{"limit", hub.AlertFilter{Limit: 2}, id(4, 1)},
		{"kind, open, store", hub.AlertFilter{Kind: hub.AlertOverRedemption, Open: true, Store: "S-2"}, id(1)},
		{"since, limit", hub.AlertFilter{Since: at(2 * time.Hour), Limit: 3}, id(4, 1, 3)},
	} {
		view(t, s, func(r hub.Reader) error {
			got, err := r.Alerts(c.f)
			check(t, "alerts", err)
			same(t, "Alerts("+c.name+")", alertIDs(got), c.want)
			for _, g := range got {
				for _, w := range a {
					if w.ID == g.ID {
						same(t, "Alerts("+c.name+") alert", g, w)
					}
				}
			}
			return nil
		})
	}
}

func testOpenAlert(t *testing.T, s hub.Store) {
	a := addAlerts(t, s,
		hub.Alert{Kind: hub.AlertOverRedemption, Key: "C-1", At: at(1 * time.Hour), Detail: "older"},
		hub.Alert{Kind: hub.AlertOverRedemption, Key: "C-1", At: at(2 * time.Hour), Detail: "newer"},
		hub.Alert{Kind: hub.AlertOverRedemption, Key: "C-1", At: at(3 * time.Hour), Acked: at(4 * time.Hour), Detail: "acked"},
		hub.Alert{Kind: hub.AlertScope, Key: "C-9", At: at(1 * time.Hour)},
	)
	open := func(kind hub.AlertKind, key string) (hub.Alert, error) {
		var got hub.Alert
		var err error
		view(t, s, func(r hub.Reader) error {
			got, err = r.OpenAlert(kind, key)
			return nil
		})
		return got, err
	}
	got, err := open(hub.AlertOverRedemption, "C-1")
	check(t, "open alert", err)
	same(t, "open alert of C-1", got, a[1])
	_, err = open(hub.AlertScope, "C-1")
	isErr(t, "open alert of another kind", err, hub.ErrNotFound)
	_, err = open(hub.AlertOverRedemption, "C-9")
	isErr(t, "open alert of another key", err, hub.ErrNotFound)
	_, err = open(hub.AlertOverRedemption, "C-")
	isErr(t, "open alert of a key prefix", err, hub.ErrNotFound)

	// Acknowledged alerts are not open.
	ack := func(x hub.Alert) {
		x.Acked, x.AckedBy = at(5*time.Hour), "hq"
		update(t, s, func(tx hub.Tx) error { return tx.UpdateAlert(x) })
	}
	ack(a[1])
	got, err = open(hub.AlertOverRedemption, "C-1")
	check(t, "open alert", err)
	same(t, "open alert of C-1 after acknowledging the newest", got, a[0])
	ack(a[0])
	_, err = open(hub.AlertOverRedemption, "C-1")
	isErr(t, "open alert when all are acknowledged", err, hub.ErrNotFound)
	got, err = open(hub.AlertScope, "C-9")
	check(t, "open alert", err)
	same(t, "open alert of C-9", got, a[3])
}

// testTimesInUTC stores times in another zone and expects the same
// instants back, in UTC.
func testTimesInUTC(t *testing.T, s hub.Store) {
	shanghai := time.FixedZone("CST", 8*3600)
	local := t0.In(shanghai)
	c := newCode("TZ")
	c.ValidFrom, c.Issued, c.LastUse = local, local, protocol.Use{Store: "S-1", Terminal: "T-1", At: local}
	e := newEvent("T-1", 1, protocol.KindRedemption, "S-1", "TZ", local)
	e.Received, e.HubAt = local, local
	term := newTerminal("T-1", "S-1")
	term.Created, term.LastSeen = local, local
	var alertID int64
	update(t, s, func(tx hub.Tx) error {
		check(t, "insert code", tx.InsertCodes([]hub.Code{c}))
		check(t, "insert event", tx.InsertEvents(e))
		check(t, "put terminal", tx.PutTerminal(term))
		check(t, "put lock", tx.PutLock(protocol.SettlementLock{Store: "S-1", Day: "2026-03-14", At: local}))
		var err error
		alertID, err = tx.AddAlert(hub.Alert{Kind: hub.AlertGap, Key: "T-1", At: local, Acked: local})
		return err
	})
	utc := func(what string, got time.Time) {
		t.Helper()
		if !got.Equal(t0) || got.Location() != time.UTC {
			t.Errorf("%s: got %s (%s), want %s in UTC", what, got.Format(time.RFC3339Nano), got.Location(), t0.Format(time.RFC3339Nano))
		}
	}
	view(t, s, func(r hub.Reader) error {
		got, err := r.Code("TZ")
		check(t, "code", err)
		utc("code valid from", got.ValidFrom)
		utc("code issued", got.Issued)
		utc("code last use", got.LastUse.At)
		ev, err := r.Event(e.Ref())
		check(t, "event", err)
		utc("event at", ev.At)
		utc("event received", ev.Received)
		utc("event hub time", ev.HubAt)
		x, err := r.Terminal("T-1")
		check(t, "terminal", err)
		utc("terminal created", x.Created)
		utc("terminal last seen", x.LastSeen)
		l, err := r.Locks("S-1")
		check(t, "locks", err)
		if len(l) == 1 {
			utc("lock at", l[0].At)
		} else {
			t.Errorf("locks of S-1: got %d, want 1", len(l))
		}
		a, err := r.Alert(alertID)
		check(t, "alert", err)
		utc("alert at", a.At)
		utc("alert acked", a.Acked)
		return nil
	})
}
