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
	// The seq is the larger of what AUTOINCREMENT would pick and one past
	// the highest this process handed out (?1): a rolled-back AddChange
	// leaves a gap rather than a seq handed out twice.
	qAddChange = wq(`INSERT INTO changes (seq, body, aud_all, aud_stores, aud_regions)
		VALUES (max(?1 + 1, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0) + 1), ?2, ?3, ?4, ?5)`)

	qLocks   = rq(`SELECT store, day, at FROM locks WHERE store = ? ORDER BY day`)
	qLocked  = rq(`SELECT count(*) FROM locks WHERE store = ? AND day = ?`)
	qPutLock = wq(`INSERT INTO locks (store, day, at) VALUES (?, ?, ?)
		ON CONFLICT (store, day) DO UPDATE SET at = excluded.at`)
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

// AddChange appends c (its Seq ignored) and returns the seq it was given,
// which Changes reports as the change's Seq.
func (t *txn) AddChange(c hub.Change) (uint64, error) {
	c.Seq = 0
	body, err := json.Marshal(c.Change)
	if err != nil {
		return 0, fmt.Errorf("add change: %w", err)
	}
	stores, err := listText(c.Audience.Stores)
	if err != nil {
		return 0, fmt.Errorf("add change: %w", err)
	}
	regions, err := listText(c.Audience.Regions)
	if err != nil {
		return 0, fmt.Errorf("add change: %w", err)
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	res, err := t.exec(qAddChange, t.s.lastSeq, body, boolInt(c.Audience.All), stores, regions)
	if err != nil {
		return 0, fmt.Errorf("add change: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("add change: no seq (%v)", err)
	}
	seq := uint64(id)
	t.s.lastSeq = max(t.s.lastSeq, seq)
	return seq, nil
}

func (t *txn) Locks(store string) ([]protocol.SettlementLock, error) {
	var out []protocol.SettlementLock
	err := t.rows(qLocks, []any{store}, func(r scanner) error {
		var l protocol.SettlementLock
		var at int64
		if err := r.Scan(&l.Store, &l.Day, &at); err != nil {
			return err
		}
		l.At = fromMicros(at)
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("locks of %s: %w", store, err)
	}
	return out, nil
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
