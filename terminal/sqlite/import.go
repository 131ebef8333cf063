package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// ImportStats says what an import loaded.
type ImportStats struct {
	Snapshot  string
	AsOf      uint64
	Acked     uint64 // this terminal's events the snapshot already counts
	Pages     int
	Codes     int
	Campaigns int
	Keys      int
	Stores    int
	Locks     int
}

// Import replaces the cache with a snapshot file: protocol.SnapshotPage
// objects, one a line, pages 0 to the one marked last, all of one snapshot
// — what the hub's snapshot pages carry. It is all or nothing: a file that
// is damaged, incomplete or invalid changes nothing. Redemptions and voids
// this terminal made that the hub has not acknowledged are applied again on
// top, so the snapshot cannot give back uses spent here. The feed cursor
// becomes the snapshot's as_of.
func (s *Store) Import(ctx context.Context, r io.Reader) (ImportStats, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var st ImportStats
	cursor, err := s.FeedCursor(ctx)
	if err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	defer tx.Rollback()
	// Codes this terminal's unacknowledged events name, as the cache has
	// them: a snapshot that lacks one (a signed code first seen here) must
	// not make the terminal forget its use.
	kept, err := s.localCodes(ctx, tx)
	if err != nil {
		return st, err
	}
	// Building the card-secret index once at the end, sorted, is far faster
	// than a million random inserts into it.
	if _, err := tx.ExecContext(ctx, "DROP INDEX codes_secret"); err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	for _, t := range cacheTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return st, fmt.Errorf("import: clear %s: %w", t, err)
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO codes (`+codeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	defer ins.Close()

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), protocol.MaxMessageBytes+1)
	line, last := 0, false
	var own *protocol.Store
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if last {
			return st, fmt.Errorf("import: line %d: content after the last page", line)
		}
		var p protocol.SnapshotPage
		if err := protocol.Decode(sc.Bytes(), &p); err != nil {
			return st, fmt.Errorf("import: line %d: %w", line, err)
		}
		if p.Problem != nil {
			return st, fmt.Errorf("import: line %d: the hub reported %s: %s", line, p.Problem.Code, p.Problem.Message)
		}
		if st.Pages == 0 {
			st.Snapshot, st.AsOf, st.Acked = p.Snapshot, p.AsOf, p.Acked
			if p.Terminal != "" && p.Terminal != s.Identity().Terminal {
				return st, fmt.Errorf("import: line %d: the snapshot was made for terminal %s, this is %s", line, p.Terminal, s.Identity().Terminal)
			}
			if p.AsOf < cursor {
				return st, fmt.Errorf("import: line %d: the snapshot is as of feed seq %d, older than the cache (%d): nothing imported", line, p.AsOf, cursor)
			}
		}
		if p.Snapshot != st.Snapshot || p.AsOf != st.AsOf || p.Acked != st.Acked || p.Page != st.Pages {
			return st, fmt.Errorf("import: line %d: page %d of snapshot %s as of %d, want page %d of %s as of %d",
				line, p.Page, p.Snapshot, p.AsOf, st.Pages, st.Snapshot, st.AsOf)
		}
		st.Pages++
		last = p.Last
		for i := range p.Stores {
			if err := putJSON(ctx, tx, "stores", p.Stores[i].ID, p.Stores[i]); err != nil {
				return st, err
			}
			if p.Stores[i].ID == s.Identity().Store {
				own = &p.Stores[i]
			}
		}
		for i := range p.Campaigns {
			if err := putJSON(ctx, tx, "campaigns", p.Campaigns[i].ID, p.Campaigns[i]); err != nil {
				return st, err
			}
		}
		for i := range p.Keys {
			if err := putJSON(ctx, tx, "issuing_keys", p.Keys[i].ID, p.Keys[i]); err != nil {
				return st, err
			}
		}
		for _, l := range p.Locks {
			if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO locks (store, day, at) VALUES (?, ?, ?)", l.Store, l.Day, l.At.Unix()); err != nil {
				return st, fmt.Errorf("import: lock: %w", err)
			}
		}
		for i := range p.Codes {
			if _, err := ins.ExecContext(ctx, s.codeArgs(&p.Codes[i])...); err != nil {
				return st, fmt.Errorf("import: line %d: code %s: %w", line, p.Codes[i].ID, err)
			}
		}
		st.Stores += len(p.Stores)
		st.Campaigns += len(p.Campaigns)
		st.Keys += len(p.Keys)
		st.Locks += len(p.Locks)
		st.Codes += len(p.Codes)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return st, fmt.Errorf("import: line %d: longer than %d bytes", line+1, protocol.MaxMessageBytes)
		}
		return st, fmt.Errorf("import: read: %w", err)
	}
	if !last {
		return st, fmt.Errorf("import: the file ends after page %d without the last page: incomplete, nothing imported", st.Pages-1)
	}
	if _, err := tx.ExecContext(ctx, createSecretIndex); err != nil {
		return st, fmt.Errorf("import: index card secrets: %w", err)
	}
	restored, err := s.restoreLocalCodes(ctx, tx, kept)
	if err != nil {
		return st, err
	}
	if err := s.reapplyOutbox(ctx, tx, st.Acked, restored); err != nil {
		return st, err
	}
	if err := setMeta(ctx, tx, "feed_cursor", fmt.Sprint(st.AsOf)); err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	if err := putOwnStore(ctx, tx, own); err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return st, fmt.Errorf("import: commit: %w", err)
	}
	if err := s.loadMeta(ctx); err != nil {
		return st, err
	}
	return st, s.reloadCache(ctx)
}

// cacheTables hold what the hub says; a snapshot replaces them, a wipe
// empties them.
var cacheTables = []string{"codes", "campaigns", "stores", "issuing_keys", "locks"}

// putOwnStore takes the region and time zone of the terminal's own store
// (nil: none came) into the identity.
func putOwnStore(ctx context.Context, tx *sql.Tx, own *protocol.Store) error {
	if own == nil {
		return nil
	}
	if _, err := time.LoadLocation(own.Timezone); err != nil {
		return fmt.Errorf("store %s time zone %q: %w", own.ID, own.Timezone, err)
	}
	if err := setMeta(ctx, tx, "region", own.Region); err != nil {
		return err
	}
	return setMeta(ctx, tx, "timezone", own.Timezone)
}

// createSecretIndex is the card-secret index of migration 0001.
const createSecretIndex = "CREATE UNIQUE INDEX codes_secret ON codes (secret_hash) WHERE secret_hash IS NOT NULL"

func putJSON(ctx context.Context, tx *sql.Tx, table, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO "+table+" (id, body) VALUES (?, ?)", id, string(b)); err != nil {
		return fmt.Errorf("import: %s %s: %w", table, id, err)
	}
	return nil
}

// localCodes reads the cached rows of the codes this terminal's
// unacknowledged events name.
func (s *Store) localCodes(ctx context.Context, tx *sql.Tx) ([][]any, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+codeCols+` FROM codes WHERE id IN
		(SELECT code FROM journal JOIN outbox USING (seq) WHERE code IS NOT NULL)`)
	if err != nil {
		return nil, fmt.Errorf("import: read local codes: %w", err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		row := make([]any, 13)
		ptrs := make([]any, len(row))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("import: read local codes: %w", err)
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// restoreLocalCodes puts back, as they were, the kept codes the snapshot
// does not carry, and returns their ids: their state already includes this
// terminal's events.
func (s *Store) restoreLocalCodes(ctx context.Context, tx *sql.Tx, kept [][]any) (map[string]bool, error) {
	restored := map[string]bool{}
	for _, row := range kept {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO codes (`+codeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...)
		if err != nil {
			return nil, fmt.Errorf("import: keep local code: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			switch id := row[0].(type) {
			case string:
				restored[id] = true
			case []byte:
				restored[string(id)] = true
			}
		}
	}
	return restored, nil
}

// reapplyOutbox applies the uses of this terminal's events after acked
// that the hub has not acknowledged to the freshly imported codes, except
// those restored as they were.
func (s *Store) reapplyOutbox(ctx context.Context, tx *sql.Tx, acked uint64, restored map[string]bool) error {
	rows, err := tx.QueryContext(ctx, "SELECT body FROM journal JOIN outbox USING (seq) WHERE kind IN ('redemption', 'void') AND seq > ? ORDER BY seq", acked)
	if err != nil {
		return fmt.Errorf("import: read outbox: %w", err)
	}
	var evs []protocol.Event
	for rows.Next() {
		var b []byte
		var e protocol.Event
		err := rows.Scan(&b)
		if err == nil {
			err = json.Unmarshal(b, &e)
		}
		if err != nil {
			rows.Close()
			return fmt.Errorf("import: read outbox: %w", err)
		}
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("import: read outbox: %w", err)
	}
	for _, e := range evs {
		if restored[e.Code] {
			continue
		}
		delta := -e.Uses
		if e.Kind == protocol.KindVoid {
			delta = e.Uses
		}
		if _, err := tx.ExecContext(ctx, `UPDATE codes SET uses_left = max(0, min(uses, uses_left + ?)),
			last_used = CASE WHEN ? AND (last_used IS NULL OR last_used < ?) THEN ? ELSE last_used END,
			last_step = max(coalesce(last_step, 0), ?) WHERE id = ?`,
			delta, e.Kind == protocol.KindRedemption, e.At.UnixMilli(), e.At.UnixMilli(), e.Step, e.Code); err != nil {
			return fmt.Errorf("import: re-apply event %d: %w", e.Seq, err)
		}
	}
	return nil
}
