package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// statements are the prepared statements of the scan path.
type statements struct {
	codeByID, codeBySecret, settled, redemption, voided, byIdemKey *sql.Stmt // on the read pool
	insJournal, insOutbox, setHead, updateCode, insCode            *sql.Stmt // on the writer
	delPending, countPending                                       *sql.Stmt
}

const codeCols = `id, campaign, format, secret_hash, seed, uses, uses_left, status, valid_from, valid_until, scope, last_used, last_step`

func (st *statements) prepare(ctx context.Context, w, r *sql.DB) error {
	var err error
	p := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = db.PrepareContext(ctx, q)
		if err != nil {
			err = fmt.Errorf("prepare %.40q: %w", q, err)
		}
		return s
	}
	st.codeByID = p(r, `SELECT `+codeCols+` FROM codes WHERE id = ?`)
	st.codeBySecret = p(r, `SELECT `+codeCols+` FROM codes WHERE secret_hash = ?`)
	st.settled = p(r, `SELECT count(*) FROM locks WHERE store = ? AND day = ?`)
	st.redemption = p(r, `SELECT body FROM journal WHERE seq = ?`)
	st.voided = p(r, `SELECT coalesce(sum(uses), 0) FROM journal WHERE voids = ? AND kind = 'void'`)
	st.byIdemKey = p(r, `SELECT body FROM journal WHERE idem_key = ?`)
	st.insJournal = p(w, `INSERT INTO journal (seq, body, sig, hash, kind, at, day, code, campaign, reason, mode, uses, amount, voids, cashier, idem_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	st.insOutbox = p(w, `INSERT INTO outbox (seq) VALUES (?)`)
	st.setHead = p(w, `UPDATE meta SET v = CASE k WHEN 'head_seq' THEN ? ELSE ? END WHERE k IN ('head_seq', 'head_hash')`)
	st.updateCode = p(w, `UPDATE codes SET
		uses_left = coalesce(?1, max(0, min(uses, uses_left + ?2))),
		status = coalesce(?3, status),
		last_used = CASE WHEN ?4 IS NOT NULL AND (last_used IS NULL OR last_used < ?4) THEN ?4 ELSE last_used END,
		last_step = max(coalesce(last_step, 0), ?5)
		WHERE id = ?6`)
	st.countPending = p(w, `SELECT count(*) FROM pending`)
	st.insCode = p(w, `INSERT INTO codes (`+codeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	st.delPending = p(w, `DELETE FROM pending WHERE seq = ?`)
	return err
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.codeByID, st.codeBySecret, st.settled, st.redemption, st.voided, st.byIdemKey,
		st.insJournal, st.insOutbox, st.setHead, st.updateCode, st.insCode, st.delPending, st.countPending} {
		if s != nil {
			s.Close()
		}
	}
}

var formatCodes = map[protocol.Format]int{protocol.FormatSigned: 1, protocol.FormatSecret: 2, protocol.FormatDynamic: 3}
var formatNames = map[int]protocol.Format{1: protocol.FormatSigned, 2: protocol.FormatSecret, 3: protocol.FormatDynamic}
var statusCodes = map[protocol.CodeStatus]int{protocol.StatusActive: 0, protocol.StatusRevoked: 1, protocol.StatusBlocked: 2}
var statusNames = map[int]protocol.CodeStatus{0: protocol.StatusActive, 1: protocol.StatusRevoked, 2: protocol.StatusBlocked}

type scope struct {
	Stores  []string `json:"stores,omitempty"`
	Regions []string `json:"regions,omitempty"`
}

// CodeByID returns a cached code, a dynamic one with its seed opened.
func (s *Store) CodeByID(ctx context.Context, id string) (protocol.CodeState, error) {
	return s.scanCode(s.stmts.codeByID.QueryRowContext(ctx, id))
}

// CodeBySecret returns the cached code with that card-secret hash.
func (s *Store) CodeBySecret(ctx context.Context, h protocol.SecretHash) (protocol.CodeState, error) {
	return s.scanCode(s.stmts.codeBySecret.QueryRowContext(ctx, h[:]))
}

func (s *Store) scanCode(row *sql.Row) (protocol.CodeState, error) {
	var (
		c                       protocol.CodeState
		format, status          int
		hash, seed              []byte
		from, until, used, step sql.NullInt64
		scopeJSON               sql.NullString
	)
	err := row.Scan(&c.ID, &c.Campaign, &format, &hash, &seed, &c.Uses, &c.UsesLeft, &status, &from, &until, &scopeJSON, &used, &step)
	if errors.Is(err, sql.ErrNoRows) {
		return c, terminal.ErrNotFound
	} else if err != nil {
		return c, fmt.Errorf("read code: %w", err)
	}
	c.Format, c.Status = formatNames[format], statusNames[status]
	if len(hash) == len(protocol.SecretHash{}) {
		c.SecretHash = new(protocol.SecretHash)
		copy(c.SecretHash[:], hash)
	}
	if seed != nil {
		if c.Seed, err = s.seal.open(c.ID, seed); err != nil {
			return c, err
		}
	}
	if from.Valid {
		c.ValidFrom = time.Unix(from.Int64, 0)
	}
	if until.Valid {
		c.ValidUntil = time.Unix(until.Int64, 0)
	}
	if used.Valid {
		c.LastUsed = time.UnixMilli(used.Int64)
	}
	c.LastStep = step.Int64
	if scopeJSON.Valid {
		var sc scope
		if err := json.Unmarshal([]byte(scopeJSON.String), &sc); err != nil {
			return c, fmt.Errorf("code %s scope: %w", c.ID, err)
		}
		c.Stores, c.Regions = sc.Stores, sc.Regions
	}
	return c, nil
}

// codeArgs are the insert arguments of a code, its seed sealed.
func (s *Store) codeArgs(c *protocol.CodeState) []any {
	var hash, seed any
	if c.SecretHash != nil {
		hash = c.SecretHash[:]
	}
	if c.Seed != nil {
		seed = s.seal.seal(c.ID, c.Seed)
	}
	var sc any
	if len(c.Stores)+len(c.Regions) > 0 {
		b, _ := json.Marshal(scope{c.Stores, c.Regions})
		sc = string(b)
	}
	return []any{c.ID, c.Campaign, formatCodes[c.Format], hash, seed, c.Uses, c.UsesLeft, statusCodes[c.Status],
		unixOrNull(c.ValidFrom), unixOrNull(c.ValidUntil), sc, unixMilliOrNull(c.LastUsed), c.LastStep}
}

func unixOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func unixMilliOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// Campaign returns a cached campaign.
func (s *Store) Campaign(_ context.Context, id string) (protocol.Campaign, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.campaigns[id]
	if !ok {
		return c, terminal.ErrNotFound
	}
	return c, nil
}

// StoreRecord returns what the hub said about a store (its name, region
// and time zone), or terminal.ErrNotFound.
func (s *Store) StoreRecord(ctx context.Context, id string) (protocol.Store, error) {
	var body []byte
	err := s.r.QueryRowContext(ctx, "SELECT body FROM stores WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return protocol.Store{}, terminal.ErrNotFound
	}
	if err != nil {
		return protocol.Store{}, fmt.Errorf("read store %s: %w", id, err)
	}
	var st protocol.Store
	if err := json.Unmarshal(body, &st); err != nil {
		return protocol.Store{}, fmt.Errorf("store %s: %w", id, err)
	}
	return st, nil
}

// Campaigns returns every cached campaign, in no particular order.
func (s *Store) Campaigns() []protocol.Campaign {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]protocol.Campaign, 0, len(s.campaigns))
	for _, c := range s.campaigns {
		out = append(out, c)
	}
	return out
}

// Settled reports whether store's day is locked.
func (s *Store) Settled(ctx context.Context, store, day string) (bool, error) {
	var n int
	if err := s.stmts.settled.QueryRowContext(ctx, store, day).Scan(&n); err != nil {
		return false, fmt.Errorf("read locks: %w", err)
	}
	return n > 0, nil
}

// reloadCache reads campaigns, keys and the store's own record into memory.
func (s *Store) reloadCache(ctx context.Context) error {
	camps := map[string]protocol.Campaign{}
	if err := eachJSON(ctx, s.r, "SELECT body FROM campaigns", func(b []byte) error {
		var c protocol.Campaign
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
		camps[c.ID] = c
		return nil
	}); err != nil {
		return fmt.Errorf("read campaigns: %w", err)
	}
	var keys []protocol.IssuingKey
	if err := eachJSON(ctx, s.r, "SELECT body FROM issuing_keys", func(b []byte) error {
		var k protocol.IssuingKey
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
		keys = append(keys, k)
		return nil
	}); err != nil {
		return fmt.Errorf("read issuing keys: %w", err)
	}
	ring, err := protocol.NewKeyRing(keys...)
	if err != nil {
		return fmt.Errorf("issuing keys: %w", err)
	}
	s.mu.Lock()
	s.campaigns, s.ring = camps, ring
	s.mu.Unlock()
	return nil
}

func eachJSON(ctx context.Context, db *sql.DB, q string, f func([]byte) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		if err := f(b); err != nil {
			return err
		}
	}
	return rows.Err()
}
