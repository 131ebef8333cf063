package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// Pend records a decision under way; its final event takes the returned
// seq.
func (s *Store) Pend(ctx context.Context, p terminal.Pending) (uint64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("pend: %w", err)
	}
	defer tx.Rollback()
	var maxPending sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(seq) FROM pending").Scan(&maxPending); err != nil {
		return 0, fmt.Errorf("pend: %w", err)
	}
	s.mu.RLock()
	seq := s.headSeq + 1
	s.mu.RUnlock()
	if maxPending.Valid && uint64(maxPending.Int64) >= seq {
		return 0, fmt.Errorf("pend: decision %d is still pending: resolve it first", maxPending.Int64)
	}
	p.Seq = seq
	body, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("pend: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO pending (seq, body) VALUES (?, ?)", seq, string(body)); err != nil {
		return 0, fmt.Errorf("pend: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("pend: %w", err)
	}
	return seq, nil
}

// Pending lists the decisions a crash left unfinished.
func (s *Store) Pending(ctx context.Context) ([]terminal.Pending, error) {
	var out []terminal.Pending
	err := eachJSON(ctx, s.w, "SELECT body FROM pending ORDER BY seq", func(b []byte) error {
		var p terminal.Pending
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read pending: %w", err)
	}
	return out, nil
}

// Append chains, signs and records e and the code's new state in one
// transaction, durable (WAL, synchronous=FULL) when it returns nil.
func (s *Store) Append(ctx context.Context, e protocol.Event, code *protocol.CodeState) (protocol.EventRef, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	head, prev, id := s.headSeq, s.headHash, s.id
	s.mu.RUnlock()
	if e.Seq != 0 && e.Seq != head+1 {
		return protocol.EventRef{}, fmt.Errorf("append: seq %d does not follow %d", e.Seq, head)
	}
	fromPending := e.Seq != 0
	e.Seq, e.Prev, e.V = head+1, prev, protocol.WireVersion
	se, err := protocol.SignEvent(s.priv, &e)
	if err != nil {
		return protocol.EventRef{}, fmt.Errorf("append: %w", err)
	}
	hash := se.Hash()
	var voids any
	if e.Voids != nil && e.Voids.Terminal == id.Terminal {
		voids = e.Voids.Seq
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return protocol.EventRef{}, fmt.Errorf("append: %w", err)
	}
	defer tx.Rollback()
	st := func(s *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, s) }
	if _, err := st(s.stmts.insJournal).ExecContext(ctx, e.Seq, []byte(se.Body), se.Sig, hash[:], string(e.Kind),
		e.At.UnixMilli(), e.At.In(id.Location).Format("2006-01-02"), nullStr(e.Code), nullStr(e.Campaign),
		string(e.Reason), string(e.Mode), e.Uses, e.Amount, voids, nullStr(e.Cashier)); err != nil {
		return protocol.EventRef{}, fmt.Errorf("append: %w", err)
	}
	if _, err := st(s.stmts.insOutbox).ExecContext(ctx, e.Seq); err != nil {
		return protocol.EventRef{}, fmt.Errorf("append: outbox: %w", err)
	}
	if _, err := st(s.stmts.setHead).ExecContext(ctx, strconv.FormatUint(e.Seq, 10), hash.String()); err != nil {
		return protocol.EventRef{}, fmt.Errorf("append: head: %w", err)
	}
	if fromPending {
		if _, err := st(s.stmts.delPending).ExecContext(ctx, e.Seq); err != nil {
			return protocol.EventRef{}, fmt.Errorf("append: pending: %w", err)
		}
	}
	if code != nil {
		if err := s.putCodeState(ctx, tx, code); err != nil {
			return protocol.EventRef{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return protocol.EventRef{}, fmt.Errorf("append: commit: %w", err)
	}
	s.mu.Lock()
	s.headSeq, s.headHash = e.Seq, hash
	if e.Kind == protocol.KindRedemption && e.Mode == protocol.ModeOffline {
		x := s.exposure[e.Campaign]
		x.count++
		x.value += e.Amount
		s.exposure[e.Campaign] = x
	}
	s.mu.Unlock()
	return e.Ref(), nil
}

// putCodeState updates a cached code's mutable state, inserting the code
// if the cache lacks it (a signed code seen for the first time).
func (s *Store) putCodeState(ctx context.Context, tx *sql.Tx, c *protocol.CodeState) error {
	res, err := tx.StmtContext(ctx, s.stmts.upsertCode).ExecContext(ctx, c.UsesLeft, statusCodes[c.Status],
		unixMilliOrNull(c.LastUsed), c.LastStep, c.ID)
	if err != nil {
		return fmt.Errorf("append: code %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insCode).ExecContext(ctx, s.codeArgs(c)...); err != nil {
		return fmt.Errorf("append: code %s: %w", c.ID, err)
	}
	return nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Redemption returns one of this terminal's events and the uses voided of
// it so far.
func (s *Store) Redemption(ctx context.Context, seq uint64) (protocol.Event, int, error) {
	var body []byte
	err := s.stmts.redemption.QueryRowContext(ctx, seq).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return protocol.Event{}, 0, terminal.ErrNotFound
	} else if err != nil {
		return protocol.Event{}, 0, fmt.Errorf("read event %d: %w", seq, err)
	}
	var e protocol.Event
	if err := json.Unmarshal(body, &e); err != nil {
		return e, 0, &CorruptError{Seq: seq, Problem: err.Error()}
	}
	var voided int
	if err := s.stmts.voided.QueryRowContext(ctx, seq).Scan(&voided); err != nil {
		return e, 0, fmt.Errorf("read voids of %d: %w", seq, err)
	}
	return e, voided, nil
}

// Head is the last event of the journal.
func (s *Store) Head() protocol.ChainHead {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return protocol.ChainHead{Terminal: s.id.Terminal, Store: s.id.Store, Seq: s.headSeq, Hash: s.headHash}
}

// Events returns journal events from seq from on, at most limit, as signed.
func (s *Store) Events(ctx context.Context, from uint64, limit int) ([]protocol.SignedEvent, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT body, sig FROM journal WHERE seq >= ? ORDER BY seq LIMIT ?", from, limit)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var out []protocol.SignedEvent
	for rows.Next() {
		var se protocol.SignedEvent
		if err := rows.Scan(&se.Body, &se.Sig); err != nil {
			return nil, fmt.Errorf("read journal: %w", err)
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// verifyJournal walks the whole journal at open: every row's hash is the
// SHA-256 of its body, every body's prev is the previous row's hash, seqs
// run from 1 without a gap, the last row is the head the meta table
// recorded, and the last signature verifies with this terminal's key — so
// every body is authentic (each links to the one before). Any mismatch is a
// *CorruptError.
func (s *Store) verifyJournal(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, "SELECT seq, body, sig, hash FROM journal ORDER BY seq")
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var (
		prev     protocol.Hash
		want     uint64 = 1
		lastBody []byte
		lastSig  []byte
		link     struct {
			Terminal string        `json:"terminal"`
			Seq      uint64        `json:"seq"`
			Prev     protocol.Hash `json:"prev"`
		}
	)
	for rows.Next() {
		var (
			seq              uint64
			body, sig, hashB []byte
		)
		if err := rows.Scan(&seq, &body, &sig, &hashB); err != nil {
			return &CorruptError{Seq: want, Problem: err.Error()}
		}
		if seq != want {
			return &CorruptError{Seq: want, Problem: fmt.Sprintf("events %d to %d are missing", want, seq-1)}
		}
		sum := sha256.Sum256(body)
		if !bytes.Equal(sum[:], hashB) {
			return &CorruptError{Seq: seq, Problem: "its body does not match its hash (edited or damaged)"}
		}
		link.Prev = protocol.Hash{}
		if err := json.Unmarshal(body, &link); err != nil {
			return &CorruptError{Seq: seq, Problem: "its body does not parse: " + err.Error()}
		}
		if link.Seq != seq || link.Terminal != s.id.Terminal {
			return &CorruptError{Seq: seq, Problem: fmt.Sprintf("its body says event %s:%d", link.Terminal, link.Seq)}
		}
		if link.Prev != prev {
			return &CorruptError{Seq: seq, Problem: "it does not chain to the event before (prev mismatch)"}
		}
		prev = protocol.Hash(sum)
		lastBody, lastSig = body, sig
		want++
	}
	if err := rows.Err(); err != nil {
		return &CorruptError{Seq: want, Problem: err.Error()}
	}
	last := want - 1
	if last != s.headSeq || prev != s.headHash {
		return &CorruptError{Seq: last, Problem: fmt.Sprintf("the journal ends at %d but the terminal recorded %d events (truncated or rolled back)", last, s.headSeq)}
	}
	if last > 0 {
		se := protocol.SignedEvent{Body: lastBody, Sig: lastSig}
		if _, err := se.Verify(s.PublicKey()); err != nil {
			return &CorruptError{Seq: last, Problem: "the last event is not signed by this terminal: " + err.Error()}
		}
	}
	return nil
}

// NextZ returns the next Z-report number and records it as taken, so Z
// numbers never repeat even across restarts.
func (s *Store) NextZ(ctx context.Context) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("z number: %w", err)
	}
	defer tx.Rollback()
	var n int
	err = tx.QueryRowContext(ctx, "SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'z_number'").Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("z number: %w", err)
	}
	n++
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (k, v) VALUES ('z_number', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", strconv.Itoa(n)); err != nil {
		return 0, fmt.Errorf("z number: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("z number: %w", err)
	}
	return n, nil
}

// FeedCursor is the last hub feed seq the cache reflects.
func (s *Store) FeedCursor(ctx context.Context) (uint64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, "SELECT v FROM meta WHERE k = 'feed_cursor'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("feed cursor: %w", err)
	}
	return strconv.ParseUint(v, 10, 64)
}

// Day returns the events of one business day (YYYY-MM-DD in the store's
// zone), in order.
func (s *Store) Day(ctx context.Context, day string) ([]protocol.Event, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT seq, body FROM journal WHERE day = ? ORDER BY seq", day)
	if err != nil {
		return nil, fmt.Errorf("read day %s: %w", day, err)
	}
	defer rows.Close()
	var out []protocol.Event
	for rows.Next() {
		var (
			seq  uint64
			body []byte
			e    protocol.Event
		)
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, fmt.Errorf("read day %s: %w", day, err)
		}
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, &CorruptError{Seq: seq, Problem: err.Error()}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// OutboxDepth is how many events wait for the hub's acknowledgement.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}
