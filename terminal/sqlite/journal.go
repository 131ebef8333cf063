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
func (s *Store) Append(ctx context.Context, e protocol.Event, up *terminal.CodeUpdate) (protocol.EventRef, error) {
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
	if !fromPending {
		var n int
		if err := st(s.stmts.countPending).QueryRowContext(ctx).Scan(&n); err != nil {
			return protocol.EventRef{}, fmt.Errorf("append: %w", err)
		}
		if n > 0 {
			return protocol.EventRef{}, fmt.Errorf("append: a decision is pending: resolve it first")
		}
	}
	if _, err := st(s.stmts.insJournal).ExecContext(ctx, e.Seq, []byte(se.Body), se.Sig, hash[:], string(e.Kind),
		e.At.UnixMilli(), e.At.In(id.Location).Format("2006-01-02"), nullStr(e.Code), nullStr(e.Campaign),
		string(e.Reason), string(e.Mode), e.Uses, e.Amount, voids, nullStr(e.Cashier), nullStr(e.IdemKey)); err != nil {
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
	if up != nil {
		if err := s.updateCode(ctx, tx, up); err != nil {
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

// updateCode applies a decision to the cached code as it is now (deltas,
// not a state read before a claim), inserting the code if the cache lacks
// it (a signed code seen for the first time).
func (s *Store) updateCode(ctx context.Context, tx *sql.Tx, up *terminal.CodeUpdate) error {
	var setLeft, status, used any
	if up.SetLeft != nil {
		setLeft = *up.SetLeft
	}
	if up.Status != "" {
		status = statusCodes[up.Status]
	}
	if !up.Used.IsZero() {
		used = up.Used.UnixMilli()
	}
	c := up.Code
	res, err := tx.StmtContext(ctx, s.stmts.updateCode).ExecContext(ctx, setLeft, up.Delta, status, used, up.Step, c.ID)
	if err != nil {
		return fmt.Errorf("append: code %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	c.UsesLeft = max(0, min(c.Uses, c.UsesLeft+up.Delta))
	if up.SetLeft != nil {
		c.UsesLeft = *up.SetLeft
	}
	if up.Status != "" {
		c.Status = up.Status
	}
	if up.Used.After(c.LastUsed) {
		c.LastUsed = up.Used
	}
	c.LastStep = max(c.LastStep, up.Step)
	if _, err := tx.StmtContext(ctx, s.stmts.insCode).ExecContext(ctx, s.codeArgs(&c)...); err != nil {
		return fmt.Errorf("append: code %s: %w", c.ID, err)
	}
	return nil
}

// ByIdemKey returns the event recorded under a register's idempotency key.
func (s *Store) ByIdemKey(ctx context.Context, key string) (protocol.Event, error) {
	var body []byte
	err := s.stmts.byIdemKey.QueryRowContext(ctx, key).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return protocol.Event{}, terminal.ErrNotFound
	} else if err != nil {
		return protocol.Event{}, fmt.Errorf("read idempotency key: %w", err)
	}
	var e protocol.Event
	if err := json.Unmarshal(body, &e); err != nil {
		return e, &CorruptError{Problem: err.Error()}
	}
	return e, nil
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
	rows, err := s.r.QueryContext(ctx, `SELECT seq, body, sig, hash, kind, uses, amount, voids, mode,
		coalesce(campaign, ''), coalesce(code, ''), reason, coalesce(idem_key, '') FROM journal ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var (
		prev     protocol.Hash
		want     uint64 = 1
		lastBody []byte
		lastSig  []byte
	)
	for rows.Next() {
		var (
			seq                                      uint64
			body, sig, hashB                         []byte
			kind, mode, campaign, code, reason, idem string
			uses                                     int
			amount                                   int64
			voids                                    sql.NullInt64
		)
		if err := rows.Scan(&seq, &body, &sig, &hashB, &kind, &uses, &amount, &voids, &mode, &campaign, &code, &reason, &idem); err != nil {
			return &CorruptError{Seq: want, Problem: err.Error()}
		}
		if seq != want {
			return &CorruptError{Seq: want, Problem: fmt.Sprintf("events %d to %d are missing", want, seq-1)}
		}
		sum := sha256.Sum256(body)
		if !bytes.Equal(sum[:], hashB) {
			return &CorruptError{Seq: seq, Problem: "its body does not match its hash (edited or damaged)"}
		}
		var link protocol.Event
		if err := json.Unmarshal(body, &link); err != nil {
			return &CorruptError{Seq: seq, Problem: "its body does not parse: " + err.Error()}
		}
		// The copied columns are what queries (voids, exposure, import) read:
		// they must say what the signed body says.
		var bodyVoids sql.NullInt64
		if link.Voids != nil && link.Voids.Terminal == link.Terminal {
			bodyVoids = sql.NullInt64{Int64: int64(link.Voids.Seq), Valid: true}
		}
		if kind != string(link.Kind) || uses != link.Uses || amount != link.Amount || voids != bodyVoids ||
			mode != string(link.Mode) || campaign != link.Campaign || code != link.Code || reason != string(link.Reason) || idem != link.IdemKey {
			return &CorruptError{Seq: seq, Problem: "its columns do not match its signed body (edited)"}
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
	// The outbox is exactly the events after the hub's acknowledgement.
	acked, err := s.acked(ctx)
	if err != nil {
		return err
	}
	var lo, hi sql.NullInt64
	var n int64
	if err := s.r.QueryRowContext(ctx, "SELECT min(seq), max(seq), count(*) FROM outbox").Scan(&lo, &hi, &n); err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	if acked > last || uint64(n) != last-acked || n > 0 && (uint64(lo.Int64) != acked+1 || uint64(hi.Int64) != last) {
		return &CorruptError{Seq: acked + 1, Problem: fmt.Sprintf("the outbox holds %d events from %d to %d, want every event from %d to %d (edited)",
			n, lo.Int64, hi.Int64, acked+1, last)}
	}
	// At most one decision is pending, and it takes the next seq.
	if err := s.r.QueryRowContext(ctx, "SELECT min(seq), max(seq), count(*) FROM pending").Scan(&lo, &hi, &n); err != nil {
		return fmt.Errorf("read pending: %w", err)
	}
	if n > 1 || n == 1 && uint64(lo.Int64) != last+1 {
		return &CorruptError{Seq: uint64(lo.Int64), Problem: fmt.Sprintf("%d pending decisions from %d, want at most one at %d", n, lo.Int64, last+1)}
	}
	return nil
}

// LastZ returns this terminal's last Z report, or terminal.ErrNotFound
// before the first.
func (s *Store) LastZ(ctx context.Context) (protocol.Event, error) {
	evs, err := s.events(ctx, "z report", "SELECT seq, body FROM journal WHERE kind = 'z_report' ORDER BY seq DESC LIMIT 1")
	if err != nil {
		return protocol.Event{}, err
	}
	if len(evs) == 0 {
		return protocol.Event{}, terminal.ErrNotFound
	}
	return evs[0], nil
}

// LastVoidOf returns the last void of this terminal's redemption seq, or
// terminal.ErrNotFound.
func (s *Store) LastVoidOf(ctx context.Context, seq uint64) (protocol.Event, error) {
	evs, err := s.events(ctx, fmt.Sprintf("voids of %d", seq), "SELECT seq, body FROM journal WHERE voids = ? ORDER BY seq DESC LIMIT 1", seq)
	if err != nil {
		return protocol.Event{}, err
	}
	if len(evs) == 0 {
		return protocol.Event{}, terminal.ErrNotFound
	}
	return evs[0], nil
}

// EventsAfter returns the journal's events after seq, in order.
func (s *Store) EventsAfter(ctx context.Context, seq uint64) ([]protocol.Event, error) {
	return s.events(ctx, fmt.Sprintf("events after %d", seq), "SELECT seq, body FROM journal WHERE seq > ? ORDER BY seq", seq)
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
	return s.events(ctx, "day "+day, "SELECT seq, body FROM journal WHERE day = ? ORDER BY seq", day)
}

// events decodes the journal rows query selects (seq, body).
func (s *Store) events(ctx context.Context, what, query string, args ...any) ([]protocol.Event, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
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
			return nil, fmt.Errorf("read %s: %w", what, err)
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

// acked is the hub's acknowledgement watermark: every event up to it is in
// the hub's ledger.
func (s *Store) acked(ctx context.Context) (uint64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, "SELECT v FROM meta WHERE k = 'acked'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("read acked: %w", err)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, &CorruptError{Problem: fmt.Sprintf("acked %q is not a number", v)}
	}
	return n, nil
}

// Acknowledge records the hub's application ack: events up to seq are in
// its ledger, so they leave the outbox (and the offline exposure). hash is
// the hub's hash of event seq: if it is not this journal's, the hub holds
// another chain and the ack is refused with ErrAckMismatch. A watermark at
// or below the current one changes nothing; one beyond the journal is an
// error.
func (s *Store) Acknowledge(ctx context.Context, seq uint64, hash protocol.Hash) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	acked, err := s.acked(ctx)
	if err != nil {
		return err
	}
	if seq <= acked {
		return nil
	}
	if head := s.Head().Seq; seq > head {
		return fmt.Errorf("acknowledge %d: the journal ends at %d", seq, head)
	}
	var mine []byte
	if err := s.r.QueryRowContext(ctx, "SELECT hash FROM journal WHERE seq = ?", seq).Scan(&mine); err != nil {
		return fmt.Errorf("acknowledge %d: %w", seq, err)
	}
	if !bytes.Equal(mine, hash[:]) {
		return fmt.Errorf("%w: seq %d is %x at the hub, %x here", ErrAckMismatch, seq, hash[:6], mine[:min(6, len(mine))])
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE seq <= ?", seq); err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	if err := setMeta(ctx, tx, "acked", strconv.FormatUint(seq, 10)); err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	}
	return s.loadExposure(ctx)
}
