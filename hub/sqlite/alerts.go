package sqlite

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/hexiao/hexiao/hub"
)

const alertCols = `id, kind, key, code, stores, terminals, events, at, detail, acked, acked_by, note`

var (
	qAlert     = rq(`SELECT ` + alertCols + ` FROM alerts WHERE id = ?`)
	qOpenAlert = rq(`SELECT ` + alertCols + ` FROM alerts WHERE kind = ? AND key = ? AND acked = 0
		ORDER BY at DESC, id DESC LIMIT 1`)

	qAddAlert = wq(`INSERT INTO alerts (kind, key, code, stores, terminals, events, at, detail, acked, acked_by, note)
		VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id`)
	qUpdateAlert = wq(`UPDATE alerts SET stores = ?, terminals = ?, events = ?, detail = ?, acked = ?, acked_by = ?, note = ?
		WHERE id = ?`)
)

func scanAlert(r scanner) (hub.Alert, error) {
	var (
		a                         hub.Alert
		kind                      string
		stores, terminals, events sql.NullString
		at, acked                 int64
	)
	err := r.Scan(&a.ID, &kind, &a.Key, &a.Code, &stores, &terminals, &events, &at, &a.Detail, &acked, &a.AckedBy, &a.Note)
	if err != nil {
		return hub.Alert{}, err
	}
	a.Kind, a.At, a.Acked = hub.AlertKind(kind), fromMicros(at), fromMicros(acked)
	if a.Stores, err = parseList[string](stores); err != nil {
		return hub.Alert{}, fmt.Errorf("alert %d stores: %w", a.ID, err)
	}
	if a.Terminals, err = parseList[string](terminals); err != nil {
		return hub.Alert{}, fmt.Errorf("alert %d terminals: %w", a.ID, err)
	}
	if a.Events, err = parseRefs(events); err != nil {
		return hub.Alert{}, fmt.Errorf("alert %d events: %w", a.ID, err)
	}
	return a, nil
}

func (t *txn) Alert(id int64) (hub.Alert, error) {
	a, err := scanAlert(t.row(qAlert, id))
	if err != nil {
		return hub.Alert{}, fmt.Errorf("alert %d: %w", id, notFound(err))
	}
	return a, nil
}

func (t *txn) OpenAlert(kind hub.AlertKind, key string) (hub.Alert, error) {
	a, err := scanAlert(t.row(qOpenAlert, string(kind), key))
	if err != nil {
		return hub.Alert{}, lookupFailed("open "+string(kind)+" alert about", key, err)
	}
	return a, nil
}

// Alerts returns the matching alerts, newest (by At, then by id) first.
func (t *txn) Alerts(f hub.AlertFilter) ([]hub.Alert, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(f.Since))
	}
	if f.Store != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(alerts.stores) WHERE json_each.value = ?)")
		args = append(args, f.Store)
	}
	if f.Open {
		where = append(where, "acked = 0")
	}
	q := "SELECT " + alertCols + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	var out []hub.Alert
	err := t.rows(q, args, func(r scanner) error {
		a, err := scanAlert(r)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return out, nil
}

// alertLists encodes an alert's parties.
func alertLists(a hub.Alert) (stores, terminals, events any, err error) {
	if stores, err = listText(a.Stores); err != nil {
		return
	}
	if terminals, err = listText(a.Terminals); err != nil {
		return
	}
	events, err = refsText(a.Events)
	return
}

// AddAlert inserts a (its ID ignored) and returns the id it was given.
func (t *txn) AddAlert(a hub.Alert) (int64, error) {
	stores, terminals, events, err := alertLists(a)
	if err != nil {
		return 0, fmt.Errorf("add alert: %w", err)
	}
	var id int64
	err = t.row(qAddAlert, string(a.Kind), a.Key, a.Code, stores, terminals, events, micros(a.At), a.Detail,
		micros(a.Acked), a.AckedBy, a.Note).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add alert: %w", err)
	}
	return id, nil
}

// UpdateAlert replaces the parties (stores, terminals, events), the detail
// and the acknowledgement (acked, by whom, note); kind, key, code and time
// stay as they were.
func (t *txn) UpdateAlert(a hub.Alert) error {
	stores, terminals, events, err := alertLists(a)
	if err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	err = affected(t.exec(qUpdateAlert, stores, terminals, events, a.Detail, micros(a.Acked), a.AckedBy, a.Note, a.ID))
	if err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	return nil
}
