package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

var (
	qFeedHead = rq(`SELECT coalesce(max(seq), 0) FROM changes`)
	qChanges  = rq(`SELECT seq, body, aud_all, aud_stores, aud_regions FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`)
	// The seqs follow the larger of the highest AUTOINCREMENT handed out
	// and the highest this process handed out (?1): a rolled-back
	// AddChanges leaves a gap rather than a seq handed out twice.
	qChangeBase = wq(`SELECT max(?1, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0))`)
	qAddChanges = chunked(`INSERT INTO changes (seq, body, aud_all, aud_stores, aud_regions) VALUES `, 5)

	qLocks   = rq(`SELECT store, day, at FROM locks WHERE store = ? ORDER BY day`)
	qLocked  = rq(`SELECT count(*) FROM locks WHERE store = ? AND day = ?`)
	qPutLock = wq(`INSERT INTO locks (store, day, at) VALUES (?, ?, ?)
		ON CONFLICT (store, day) DO UPDATE SET at = excluded.at`)
	spAddChanges = newSavepoint("add_changes")
)

func (t *txn) FeedHead() (uint64, error) {
	var n uint64
	if err := t.row(qFeedHead).Scan(&n); err != nil {
		return 0, fmt.Errorf("feed head: %w", err)
	}
	return n, nil
}

func (t *txn) Changes(after uint64, limit int) ([]hub.Change, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []hub.Change
	err := t.rows(qChanges, []any{after, limit}, func(r scanner) error {
		var (
			c               hub.Change
			seq             uint64
			body            []byte
			stores, regions sql.NullString
		)
		if err := r.Scan(&seq, &body, &c.Audience.All, &stores, &regions); err != nil {
			return err
		}
		if err := json.Unmarshal(body, &c.Change); err != nil {
			return fmt.Errorf("change %d: %w", seq, err)
		}
		c.Seq = seq
		var err error
		if c.Audience.Stores, err = parseList[string](stores); err != nil {
			return fmt.Errorf("change %d audience: %w", seq, err)
		}
		if c.Audience.Regions, err = parseList[string](regions); err != nil {
			return fmt.Errorf("change %d audience: %w", seq, err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes after %d: %w", after, err)
	}
	return out, nil
}

// AddChanges appends cs (their Seqs ignored) and returns the seqs they
// were given, consecutive and in order, which Changes reports as their Seq.
func (t *txn) AddChanges(cs ...hub.Change) ([]uint64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	var base uint64
	if err := t.row(qChangeBase, t.s.lastSeq).Scan(&base); err != nil {
		return nil, fmt.Errorf("add changes: %w", err)
	}
	seqs := make([]uint64, len(cs))
	err := t.inChunks(spAddChanges, len(cs), func(i, n int) error {
		args := make([]any, 0, 5*n)
		for k, c := range cs[i : i+n] {
			c.Seq = 0
			body, err := json.Marshal(c.Change)
			if err != nil {
				return fmt.Errorf("add change: %w", err)
			}
			stores, err := listText(c.Audience.Stores)
			if err != nil {
				return fmt.Errorf("add change: %w", err)
			}
			regions, err := listText(c.Audience.Regions)
			if err != nil {
				return fmt.Errorf("add change: %w", err)
			}
			seqs[i+k] = base + uint64(i+k) + 1
			args = append(args, seqs[i+k], body, boolInt(c.Audience.All), stores, regions)
		}
		if err := t.insert(qAddChanges[n], args...); err != nil {
			return fmt.Errorf("add changes: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.s.lastSeq = max(t.s.lastSeq, seqs[len(seqs)-1])
	return seqs, nil
}

func (t *txn) Locks(store string) ([]protocol.SettlementLock, error) {
	out, err := t.locks(qLocks, store)
	if err != nil {
		return nil, fmt.Errorf("locks of %s: %w", store, err)
	}
	return out, nil
}

// locks reads the settlement locks query q selects.
func (t *txn) locks(q string, args ...any) ([]protocol.SettlementLock, error) {
	var out []protocol.SettlementLock
	err := t.rows(q, args, func(r scanner) error {
		var l protocol.SettlementLock
		var at int64
		if err := r.Scan(&l.Store, &l.Day, &at); err != nil {
			return err
		}
		l.At = fromMicros(at)
		out = append(out, l)
		return nil
	})
	return out, err
}

func (t *txn) Locked(store, day string) (bool, error) {
	var n int
	if err := t.row(qLocked, store, day).Scan(&n); err != nil {
		return false, fmt.Errorf("lock %s %s: %w", store, day, err)
	}
	return n > 0, nil
}

func (t *txn) PutLock(l protocol.SettlementLock) error {
	if _, err := t.exec(qPutLock, l.Store, l.Day, micros(l.At)); err != nil {
		return fmt.Errorf("put lock %s %s: %w", l.Store, l.Day, err)
	}
	return nil
}
