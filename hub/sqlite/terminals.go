package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

const terminalCols = `id, store, public, secret, status, created, head, head_hash, last_seen, presence, skew, skew_known`

var (
	qTerminal    = rq(`SELECT ` + terminalCols + ` FROM terminals WHERE id = ?`)
	qTerminals   = rq(`SELECT ` + terminalCols + ` FROM terminals ORDER BY id`)
	qPutTerminal = wq(`INSERT INTO terminals (` + terminalCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET store = excluded.store, public = excluded.public, secret = excluded.secret,
		status = excluded.status, created = excluded.created, head = excluded.head, head_hash = excluded.head_hash,
		last_seen = excluded.last_seen, presence = excluded.presence, skew = excluded.skew,
		skew_known = excluded.skew_known`)

	qEnrollment    = rq(`SELECT token_hash, store, terminal, created, expires, used FROM enrollments WHERE token_hash = ?`)
	qPutEnrollment = wq(`INSERT INTO enrollments (token_hash, store, terminal, created, expires, used) VALUES (?,?,?,?,?,?)
		ON CONFLICT (token_hash) DO UPDATE SET store = excluded.store, terminal = excluded.terminal,
		created = excluded.created, expires = excluded.expires, used = excluded.used`)
)

func scanTerminal(r scanner) (hub.Terminal, error) {
	var (
		x                       hub.Terminal
		status                  string
		public, hash            []byte
		created, lastSeen, skew int64
		presence                sql.NullString
	)
	err := r.Scan(&x.ID, &x.Store, &public, &x.Secret, &status, &created, &x.Head, &hash, &lastSeen, &presence,
		&skew, &x.SkewKnown)
	if err != nil {
		return hub.Terminal{}, err
	}
	x.Public, x.Status = public, hub.TerminalStatus(status)
	x.Created, x.LastSeen, x.Skew = fromMicros(created), fromMicros(lastSeen), time.Duration(skew)
	if err := hash32((*[32]byte)(&x.HeadHash), hash, "head hash"); err != nil {
		return hub.Terminal{}, fmt.Errorf("terminal %s: %w", x.ID, err)
	}
	if presence.Valid {
		x.Presence = new(protocol.Presence)
		if err := json.Unmarshal([]byte(presence.String), x.Presence); err != nil {
			return hub.Terminal{}, fmt.Errorf("terminal %s presence: %w", x.ID, err)
		}
	}
	return x, nil
}

func (t *txn) Terminal(id string) (hub.Terminal, error) {
	x, err := scanTerminal(t.row(qTerminal, id))
	if err != nil {
		return hub.Terminal{}, fmt.Errorf("terminal %s: %w", id, notFound(err))
	}
	return x, nil
}

func (t *txn) Terminals() ([]hub.Terminal, error) {
	var out []hub.Terminal
	err := t.rows(qTerminals, nil, func(r scanner) error {
		x, err := scanTerminal(r)
		out = append(out, x)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("terminals: %w", err)
	}
	return out, nil
}

// PutTerminal inserts the terminal or replaces every field of it, Head
// included.
func (t *txn) PutTerminal(x hub.Terminal) error {
	var presence any
	if x.Presence != nil {
		b, err := json.Marshal(x.Presence)
		if err != nil {
			return fmt.Errorf("put terminal %s presence: %w", x.ID, err)
		}
		presence = string(b)
	}
	_, err := t.exec(qPutTerminal, x.ID, x.Store, []byte(x.Public), x.Secret, string(x.Status), micros(x.Created),
		x.Head, x.HeadHash[:], micros(x.LastSeen), presence, int64(x.Skew), boolInt(x.SkewKnown))
	if err != nil {
		return fmt.Errorf("put terminal %s: %w", x.ID, err)
	}
	return nil
}

func (t *txn) Enrollment(tokenHash []byte) (hub.Enrollment, error) {
	var e hub.Enrollment
	var created, expires, used int64
	err := t.row(qEnrollment, tokenHash).Scan(&e.TokenHash, &e.Store, &e.Terminal, &created, &expires, &used)
	if err != nil {
		return hub.Enrollment{}, fmt.Errorf("enrollment: %w", notFound(err))
	}
	e.Created, e.Expires, e.Used = fromMicros(created), fromMicros(expires), fromMicros(used)
	return e, nil
}

func (t *txn) PutEnrollment(e hub.Enrollment) error {
	_, err := t.exec(qPutEnrollment, e.TokenHash, e.Store, e.Terminal, micros(e.Created), micros(e.Expires), micros(e.Used))
	if err != nil {
		return fmt.Errorf("put enrollment for %s: %w", e.Terminal, err)
	}
	return nil
}
