package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// What the hub link needs of the store: the feed applied in order, the
// snapshot staged page by page, the ack watermark checked against the
// journal, and the cache wiped when the hub says the terminal is revoked.

// ErrFeedGap is returned by ApplyFeed when changes start after a seq the
// cache has not reached: a change in between is missing, so the caller asks
// the hub for a feed page from the cursor instead.
var ErrFeedGap = errors.New("feed gap")

// ErrAckMismatch is returned by Acknowledge when the hub's hash of the
// acknowledged event is not this journal's: the hub holds a different
// chain, and nothing leaves the outbox.
var ErrAckMismatch = errors.New("the hub acknowledged a different event")

// ApplyFeed applies hub changes after seq after, in one transaction with the
// new cursor, and returns how many it applied. next is the cursor to store
// (a feed page's Next; for a push, 0 means the last change's seq). Changes
// at or below the cursor were applied before and are skipped; after beyond
// the cursor is ErrFeedGap and applies nothing.
//
// A code change replaces the cached row with the hub's state and then takes
// off again the uses of this terminal's own events the hub has not yet
// acknowledged, as a snapshot import does, so the feed never gives back a
// use spent here. When the hub counted such an event but its ack is still
// on the way, the use is counted twice here until the code's next change:
// that errs towards refusing offline, never towards over-redeeming.
//
// A code change naming a redemption or void of another terminal of this
// store (Change.By) is recorded for Neighbours in the same transaction.
func (s *Store) ApplyFeed(ctx context.Context, after, next uint64, changes []protocol.Change) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.Revoked() != "" {
		return 0, ErrRevoked
	}
	cursor, err := s.FeedCursor(ctx)
	if err != nil {
		return 0, err
	}
	if after > cursor {
		return 0, fmt.Errorf("%w: changes follow seq %d, the cache is at %d", ErrFeedGap, after, cursor)
	}
	if next == 0 && len(changes) > 0 {
		next = changes[len(changes)-1].Seq
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("apply feed: %w", err)
	}
	defer tx.Rollback()
	applied, reload, own := 0, false, (*protocol.Store)(nil)
	for i := range changes {
		c := &changes[i]
		if c.Seq <= cursor {
			continue
		}
		if err := c.Validate(); err != nil {
			return 0, fmt.Errorf("apply feed: %w", err)
		}
		switch c.Kind {
		case protocol.ChangeStore:
			err = putJSON(ctx, tx, "stores", c.Store.ID, c.Store)
			if c.Store.ID == s.Identity().Store {
				own = c.Store
			}
		case protocol.ChangeCampaign:
			err, reload = putJSON(ctx, tx, "campaigns", c.Campaign.ID, c.Campaign), true
		case protocol.ChangeKey:
			err, reload = putJSON(ctx, tx, "issuing_keys", c.Key.ID, c.Key), true
		case protocol.ChangeLock:
			_, err = tx.ExecContext(ctx, "INSERT OR REPLACE INTO locks (store, day, at) VALUES (?, ?, ?)", c.Lock.Store, c.Lock.Day, c.Lock.At.Unix())
		default:
			err = s.putHubCode(ctx, tx, c.Code)
			if err == nil {
				err = s.putNeighbour(ctx, tx, c)
			}
		}
		if err != nil {
			return 0, fmt.Errorf("apply feed: change %d (%s): %w", c.Seq, c.Kind, err)
		}
		applied++
	}
	if err := pruneNeighbours(ctx, tx, changes); err != nil {
		return 0, fmt.Errorf("apply feed: %w", err)
	}
	if next > cursor {
		if err := setMeta(ctx, tx, "feed_cursor", strconv.FormatUint(next, 10)); err != nil {
			return 0, fmt.Errorf("apply feed: %w", err)
		}
	}
	if err := putOwnStore(ctx, tx, own); err != nil {
		return 0, fmt.Errorf("apply feed: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("apply feed: commit: %w", err)
	}
	if own != nil {
		if err := s.loadMeta(ctx); err != nil {
			return applied, err
		}
	}
	if reload {
		return applied, s.reloadCache(ctx)
	}
	return applied, nil
}

// putHubCode replaces a cached code with the hub's state, keeping the
// higher last use and TOTP step, then re-applies this terminal's
// unacknowledged redemptions and voids of it.
func (s *Store) putHubCode(ctx context.Context, tx *sql.Tx, c *protocol.CodeState) error {
	var used, step sql.NullInt64
	err := tx.QueryRowContext(ctx, "SELECT last_used, last_step FROM codes WHERE id = ?", c.ID).Scan(&used, &step)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	hc := *c
	if used.Valid && time.UnixMilli(used.Int64).After(hc.LastUsed) {
		hc.LastUsed = time.UnixMilli(used.Int64)
	}
	if hc.Format == protocol.FormatDynamic {
		hc.LastStep = max(hc.LastStep, step.Int64)
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO codes (`+codeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.codeArgs(&hc)...); err != nil {
		return err
	}
	var delta int
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(CASE kind WHEN 'void' THEN uses ELSE -uses END), 0)
		FROM journal JOIN outbox USING (seq) WHERE code = ? AND kind IN ('redemption', 'void')`, c.ID).Scan(&delta)
	if err != nil || delta == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE codes SET uses_left = max(0, min(uses, uses_left + ?)) WHERE id = ?", delta, c.ID)
	return err
}

// execer is a transaction or the writer connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// setMeta writes one meta entry.
func setMeta(ctx context.Context, db execer, k, v string) error {
	if _, err := db.ExecContext(ctx, "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v); err != nil {
		return fmt.Errorf("write %s: %w", k, err)
	}
	return nil
}

// SnapshotProgress is how far a staged snapshot pull got.
type SnapshotProgress struct {
	Snapshot string // empty: no pull under way
	Pages    int    // pages staged (the next page wanted is this number)
	Resume   string // the resume token of the last staged page
	Codes    int
}

// StageSnapshot keeps one snapshot page durably until the last one
// arrives. Pages come in order: page 0 starts a new pull (dropping any
// earlier, unfinished one); any other page must be the next of the pull
// under way. A page of another snapshot, or out of order, is refused.
func (s *Store) StageSnapshot(ctx context.Context, p *protocol.SnapshotPage) error {
	if s.Revoked() != "" {
		return ErrRevoked
	}
	if p.Problem != nil {
		return fmt.Errorf("snapshot page: the hub reported %s: %s", p.Problem.Code, p.Problem.Message)
	}
	if p.Terminal != "" && p.Terminal != s.Identity().Terminal {
		return fmt.Errorf("snapshot page: made for terminal %s, this is %s", p.Terminal, s.Identity().Terminal)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("stage snapshot: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("stage snapshot: %w", err)
	}
	defer tx.Rollback()
	if p.Page == 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM snapshot_pages"); err != nil {
			return fmt.Errorf("stage snapshot: %w", err)
		}
	} else {
		var prev []byte
		err := tx.QueryRowContext(ctx, "SELECT body FROM snapshot_pages WHERE page = ?", p.Page-1).Scan(&prev)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("stage snapshot: page %d without page %d", p.Page, p.Page-1)
		} else if err != nil {
			return fmt.Errorf("stage snapshot: %w", err)
		}
		var q protocol.SnapshotPage
		if err := json.Unmarshal(prev, &q); err != nil {
			return &CorruptError{Problem: fmt.Sprintf("staged snapshot page %d: %v", p.Page-1, err)}
		}
		if q.Snapshot != p.Snapshot || q.AsOf != p.AsOf || q.Last {
			return fmt.Errorf("stage snapshot: page %d of %s does not follow page %d of %s", p.Page, p.Snapshot, q.Page, q.Snapshot)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO snapshot_pages (page, body) VALUES (?, ?)", p.Page, body); err != nil {
		return fmt.Errorf("stage snapshot: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("stage snapshot: %w", err)
	}
	return nil
}

// SnapshotProgress says how far the staged pull got.
func (s *Store) SnapshotProgress(ctx context.Context) (SnapshotProgress, error) {
	var pr SnapshotProgress
	var body []byte
	err := s.r.QueryRowContext(ctx, "SELECT body, (SELECT count(*) FROM snapshot_pages) FROM snapshot_pages ORDER BY page DESC LIMIT 1").Scan(&body, &pr.Pages)
	if errors.Is(err, sql.ErrNoRows) {
		return SnapshotProgress{}, nil
	} else if err != nil {
		return pr, fmt.Errorf("snapshot progress: %w", err)
	}
	var p protocol.SnapshotPage
	if err := json.Unmarshal(body, &p); err != nil {
		return pr, &CorruptError{Problem: fmt.Sprintf("staged snapshot: %v", err)}
	}
	pr.Snapshot, pr.Resume = p.Snapshot, p.Resume
	if p.Page+1 != pr.Pages {
		return SnapshotProgress{}, nil // not contiguous: start again
	}
	return pr, nil
}

// DropSnapshot forgets a staged pull (the hub said its resume token
// expired).
func (s *Store) DropSnapshot(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, "DELETE FROM snapshot_pages"); err != nil {
		return fmt.Errorf("drop snapshot: %w", err)
	}
	return nil
}

// FinishSnapshot imports the staged pages (all of them, the last one
// included) as Import does a snapshot file, and clears the stage.
func (s *Store) FinishSnapshot(ctx context.Context) (ImportStats, error) {
	pr, w := io.Pipe()
	go func() {
		rows, err := s.r.QueryContext(ctx, "SELECT body FROM snapshot_pages ORDER BY page")
		if err != nil {
			w.CloseWithError(err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				w.CloseWithError(err)
				return
			}
			if _, err := w.Write(append(bytes.TrimSpace(b), '\n')); err != nil {
				return
			}
		}
		w.CloseWithError(rows.Err())
	}()
	st, err := s.Import(ctx, pr)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return st, err
	}
	return st, s.DropSnapshot(ctx)
}

// ErrRevoked is returned once the hub has said this terminal is revoked.
var ErrRevoked = errors.New("this terminal was revoked by HQ")

// Revoked returns why the hub revoked this terminal, or "".
func (s *Store) Revoked() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revoked
}

// Wipe is what a revoked terminal does on hearing it: the cache (codes with
// their seeds and secret hashes, campaigns, keys, locks, a staged snapshot,
// the other terminals' redemptions)
// is deleted and the terminal marked revoked, so it refuses every
// redemption from now on. The journal stays: it is the record of what was
// redeemed here.
func (s *Store) Wipe(ctx context.Context, reason string) error {
	if reason == "" {
		reason = "revoked"
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	defer tx.Rollback()
	for _, t := range append(cacheTables, "snapshot_pages", "neighbours") {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("wipe %s: %w", t, err)
		}
	}
	if err := setMeta(ctx, tx, "revoked", reason); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	// Free the deleted pages so seeds do not linger in the file.
	if _, err := s.w.ExecContext(ctx, "VACUUM"); err != nil {
		s.log.Warn("wipe: vacuum", "err", err)
	} else if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		s.log.Warn("wipe: checkpoint", "err", err)
	}
	s.mu.Lock()
	s.revoked = reason
	s.mu.Unlock()
	return s.reloadCache(ctx)
}

// ClockOffset is hub time minus terminal time as last measured (0: never).
func (s *Store) ClockOffset() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.offset
}

// SetClockOffset records hub time minus terminal time, durably, so a
// terminal restarted offline still corrects a clock the hub found wrong.
func (s *Store) SetClockOffset(ctx context.Context, d time.Duration) error {
	if err := setMeta(ctx, s.w, "clock_offset", strconv.FormatInt(int64(d), 10)); err != nil {
		return fmt.Errorf("record clock offset: %w", err)
	}
	s.mu.Lock()
	s.offset = d
	s.mu.Unlock()
	return nil
}

// Acked is the hub's acknowledgement watermark.
func (s *Store) Acked(ctx context.Context) (uint64, error) { return s.acked(ctx) }

// ForcedOffline reports whether a manager switched the terminal offline.
func (s *Store) ForcedOffline() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.forced
}

// SetForcedOffline records a manager's switch to forced offline (or back)
// in the mode log and keeps it across restarts.
func (s *Store) SetForcedOffline(ctx context.Context, at time.Time, manager string, off bool, note string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record mode switch: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO mode_log (at, manager, offline, note) VALUES (?, ?, ?, ?)", at.UnixMilli(), manager, off, note); err != nil {
		return fmt.Errorf("record mode switch: %w", err)
	}
	if err := setMeta(ctx, tx, "force_offline", strconv.FormatBool(off)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record mode switch: %w", err)
	}
	s.mu.Lock()
	s.forced = off
	s.mu.Unlock()
	return nil
}

// ModeSwitch is one entry of the mode log.
type ModeSwitch struct {
	At      time.Time
	Manager string
	Offline bool
	Note    string
}

// ModeLog returns the mode switches, oldest first.
func (s *Store) ModeLog(ctx context.Context) ([]ModeSwitch, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT at, manager, offline, note FROM mode_log ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read mode log: %w", err)
	}
	defer rows.Close()
	var out []ModeSwitch
	for rows.Next() {
		var m ModeSwitch
		var ms int64
		if err := rows.Scan(&ms, &m.Manager, &m.Offline, &m.Note); err != nil {
			return nil, fmt.Errorf("read mode log: %w", err)
		}
		m.At = time.UnixMilli(ms)
		out = append(out, m)
	}
	return out, rows.Err()
}
