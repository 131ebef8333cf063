package sqlite

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

const eventCols = `v, terminal, seq, prev, kind, at, store, cashier, mode, entry, reason, code, format, campaign,
	uses, amount, step, order_ref, idem_key, voids_terminal, voids_seq, note, body, sig, hash, received, hub_at, flags`

var (
	qEvent      = rq(`SELECT id, ` + eventCols + ` FROM events WHERE terminal = ? AND seq = ?`)
	qCodeEvents = rq(`SELECT id, ` + eventCols + ` FROM events WHERE code = ? AND code <> '' AND kind IN ('redemption', 'void') ORDER BY id`)

	// qInsertEvents inserts n events in one statement, for each n of
	// insertChunks.
	qInsertEvents  = chunked(`INSERT INTO events (`+eventCols+`) VALUES `, 28)
	qSetHead       = wq(`UPDATE terminals SET head = ?, head_hash = ? WHERE id = ?`)
	spInsertEvents = newSavepoint("insert_events")
)

func scanEvent(r scanner) (hub.Event, error) {
	var (
		e                         hub.Event
		kind, mode, entry, reason string
		format                    string
		prev, hash                []byte
		v, seq, uses              int64 // see scanCode
		at, received, hubAt       int64
		voidsTerm, flags          sql.NullString
		voidsSeq                  sql.NullInt64
	)
	err := r.Scan(&e.ID, &v, &e.Terminal, &seq, &prev, &kind, &at, &e.Store, &e.Cashier, &mode, &entry, &reason,
		&e.Code, &format, &e.Campaign, &uses, &e.Amount, &e.Step, &e.OrderRef, &e.IdemKey, &voidsTerm, &voidsSeq,
		&e.Note, &e.Body, &e.Sig, &hash, &received, &hubAt, &flags)
	if err != nil {
		return hub.Event{}, err
	}
	e.V, e.Seq, e.Uses = int(v), uint64(seq), int(uses)
	e.Kind, e.Mode, e.Entry = protocol.EventKind(kind), protocol.Mode(mode), protocol.Entry(entry)
	e.Reason, e.Format = protocol.Reason(reason), protocol.Format(format)
	e.At, e.Received, e.HubAt = fromMicros(at), fromMicros(received), fromMicros(hubAt)
	e.Voids = refOf(voidsTerm, voidsSeq)
	if err := hash32((*[32]byte)(&e.Prev), prev, "prev"); err != nil {
		return hub.Event{}, fmt.Errorf("event %s: %w", e.Ref(), err)
	}
	if err := hash32((*[32]byte)(&e.Hash), hash, "hash"); err != nil {
		return hub.Event{}, fmt.Errorf("event %s: %w", e.Ref(), err)
	}
	if e.Flags, err = parseList[hub.Flag](flags); err != nil {
		return hub.Event{}, fmt.Errorf("event %s flags: %w", e.Ref(), err)
	}
	return e, nil
}

func (t *txn) Event(ref protocol.EventRef) (hub.Event, error) {
	e, err := scanEvent(t.row(qEvent, ref.Terminal, ref.Seq))
	if err != nil {
		return hub.Event{}, lookupFailed("event", ref, err)
	}
	return e, nil
}

func (t *txn) CodeEvents(code string) ([]hub.Event, error) {
	var out []hub.Event
	err := t.rows(qCodeEvents, []any{code}, func(r scanner) error {
		e, err := scanEvent(r)
		out = append(out, e)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("events of code %s: %w", code, err)
	}
	return out, nil
}

// Events streams the matching rows to fn; the query is built from the
// fields f sets, so each filter can use its index.
func (t *txn) Events(f hub.EventFilter, fn func(hub.Event) error) error {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.AfterID > 0 {
		add("id > ?", f.AfterID)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	if f.Store != "" {
		add("store = ?", f.Store)
	}
	if f.Terminal != "" {
		add("terminal = ?", f.Terminal)
	}
	if f.Code != "" {
		add("code = ? AND code <> ''", f.Code)
	}
	if len(f.Kinds) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(f.Kinds)), ", ")
		kinds := make([]any, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		add("kind IN ("+marks+")", kinds...)
	}
	if !f.From.IsZero() {
		add("at >= ?", micros(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", micros(f.To))
	}
	q := "SELECT id, " + eventCols + " FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Newest {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	fnErr := false
	err := t.rows(q, args, func(r scanner) error {
		e, err := scanEvent(r)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			fnErr = true
			return err
		}
		return nil
	})
	if err != nil && !fnErr {
		return fmt.Errorf("events: %w", err)
	}
	return err
}

// InsertEvents inserts es in as few statements as insertChunks allow,
// inside a savepoint when it takes more than one, so that a duplicate
// leaves none of es inserted.
func (t *txn) InsertEvents(es ...hub.Event) error {
	return t.inChunks(spInsertEvents, len(es), func(i, n int) error {
		args := make([]any, 0, 28*n)
		for _, e := range es[i : i+n] {
			flags, err := listText(e.Flags)
			if err != nil {
				return fmt.Errorf("event %s: %w", e.Ref(), err)
			}
			vt, vs := refCols(e.Voids)
			args = append(args, e.V, e.Terminal, e.Seq, e.Prev[:], string(e.Kind), micros(e.At), e.Store,
				e.Cashier, string(e.Mode), string(e.Entry), string(e.Reason), e.Code, string(e.Format), e.Campaign,
				e.Uses, e.Amount, e.Step, e.OrderRef, e.IdemKey, vt, vs, e.Note, e.Body, e.Sig, e.Hash[:],
				micros(e.Received), micros(e.HubAt), flags)
		}
		err := t.insert(qInsertEvents[n], args...)
		if isDuplicate(err) {
			return fmt.Errorf("events %s to %s: one is already in the ledger: %w", es[i].Ref(), es[i+n-1].Ref(), hub.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("insert events %s to %s: %w", es[i].Ref(), es[i+n-1].Ref(), err)
		}
		return nil
	})
}

func (t *txn) SetHead(terminal string, seq uint64, hash protocol.Hash) error {
	if err := affected(t.exec(qSetHead, seq, hash[:], terminal)); err != nil {
		return fmt.Errorf("set head of terminal %s: %w", terminal, err)
	}
	return nil
}
