package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

const codeCols = `id, campaign, format, secret_hash, seed, uses, used, status, valid_from, valid_until,
	stores, regions, last_store, last_terminal, last_at, last_step, order_ref, issued`

var (
	qCode         = rq(`SELECT ` + codeCols + ` FROM codes WHERE id = ?`)
	qCodeBySecret = rq(`SELECT ` + codeCols + ` FROM codes WHERE secret_hash = ?`)
	qCodesAfter   = rq(`SELECT ` + codeCols + ` FROM codes WHERE id > ? ORDER BY id LIMIT ?`)
	qCountAll     = rq(`SELECT count(*) FROM codes`)
	qCountCamp    = rq(`SELECT count(*) FROM codes WHERE campaign = ?`)

	qInsertCode = wq(`INSERT INTO codes (` + codeCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	// The claim: one conditional update. ?5 = 0 means no step condition.
	qTakeUses = wq(`UPDATE codes SET used = used + ?1, last_store = ?2, last_terminal = ?3, last_at = ?4,
		last_step = max(last_step, ?5)
		WHERE id = ?6 AND status = 'active' AND used + ?1 <= uses AND (?5 = 0 OR ?5 > last_step)
		RETURNING ` + codeCols)
	// ?2 says whether there is a use; it replaces the last one only if
	// later. No RETURNING: in SQLite it costs more than the update itself
	// (addUses in Go makes the same change to the code read before).
	qAddUses = wq(`UPDATE codes SET used = max(0, used + ?1),
		last_store    = CASE WHEN ?2 AND ?5 > last_at THEN ?3 ELSE last_store END,
		last_terminal = CASE WHEN ?2 AND ?5 > last_at THEN ?4 ELSE last_terminal END,
		last_at       = CASE WHEN ?2 AND ?5 > last_at THEN ?5 ELSE last_at END,
		last_step = max(last_step, ?6)
		WHERE id = ?7`)
	qSetStatus = wq(`UPDATE codes SET status = ? WHERE id = ? RETURNING ` + codeCols)

	qSavepoint = wq(`SAVEPOINT insert_codes`)
	qRelease   = wq(`RELEASE insert_codes`)
	qRollback  = wq(`ROLLBACK TO insert_codes`)
)

func scanCode(r scanner) (hub.Code, error) {
	// Integers scan into int64: database/sql converts other integer types
	// through strings.
	var (
		c                           hub.Code
		format, status              string
		secret, seed                []byte
		uses, used                  int64
		stores, regions             sql.NullString
		from, until, lastAt, issued int64
	)
	err := r.Scan(&c.ID, &c.Campaign, &format, &secret, &seed, &uses, &used, &status, &from, &until,
		&stores, &regions, &c.LastUse.Store, &c.LastUse.Terminal, &lastAt, &c.LastStep, &c.OrderRef, &issued)
	if err != nil {
		return c, err
	}
	c.Uses, c.Used = int(uses), int(used)
	c.Format, c.Status = protocol.Format(format), protocol.CodeStatus(status)
	if secret != nil {
		var h protocol.SecretHash
		if err := hash32((*[32]byte)(&h), secret, "secret hash"); err != nil {
			return c, fmt.Errorf("code %s: %w", c.ID, err)
		}
		c.SecretHash = &h
	}
	c.SealedSeed = seed
	c.ValidFrom, c.ValidUntil, c.LastUse.At, c.Issued = fromMicros(from), fromMicros(until), fromMicros(lastAt), fromMicros(issued)
	if c.Stores, err = parseList[string](stores); err != nil {
		return c, fmt.Errorf("code %s stores: %w", c.ID, err)
	}
	if c.Regions, err = parseList[string](regions); err != nil {
		return c, fmt.Errorf("code %s regions: %w", c.ID, err)
	}
	return c, nil
}

func (t *txn) Code(id string) (hub.Code, error) {
	if c, ok := t.recall(id); ok {
		return c, nil
	}
	c, err := scanCode(t.row(qCode, id))
	if err != nil {
		return hub.Code{}, lookupFailed("code", id, err)
	}
	t.remember(c)
	return c, nil
}

// codesIn is the size of the IN list of qCodesIn; Codes pads a shorter
// list with its last id.
const codesIn = 64

var qCodesIn = rq(`SELECT ` + codeCols + ` FROM codes WHERE id IN (` +
	strings.TrimSuffix(strings.Repeat("?,", codesIn), ",") + `)`)

func (t *txn) Codes(ids []string) ([]hub.Code, error) {
	var out []hub.Code
	var todo []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if c, ok := t.recall(id); ok {
			out = append(out, c)
		} else {
			todo = append(todo, id)
		}
	}
	args := make([]any, codesIn)
	for i := 0; i < len(todo); i += codesIn {
		chunk := todo[i:min(i+codesIn, len(todo))]
		for k := range args {
			args[k] = chunk[min(k, len(chunk)-1)]
		}
		err := t.rows(qCodesIn, args, func(r scanner) error {
			c, err := scanCode(r)
			if err != nil {
				return err
			}
			t.remember(c)
			out = append(out, c)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("codes %s…: %w", chunk[0], err)
		}
	}
	return out, nil
}

func (t *txn) CodeBySecret(h protocol.SecretHash) (hub.Code, error) {
	c, err := scanCode(t.row(qCodeBySecret, h[:]))
	if err != nil {
		return hub.Code{}, fmt.Errorf("code by secret: %w", notFound(err))
	}
	t.remember(c)
	return c, nil
}

// remember keeps a copy of the code as this Update last read or wrote it,
// so that reading it again (Code, Codes) or AddUses after reading it (the
// ingest path) need not go to the database. Every write to a code goes
// through this transaction, which keeps the copy true or forgets it. A
// View remembers nothing: it is not the one writer.
func (t *txn) remember(c hub.Code) {
	if t.tx != nil {
		return
	}
	if t.codes == nil {
		t.codes = map[string]hub.Code{}
	}
	t.codes[c.ID] = cloneCode(c)
}

// forget drops every remembered code, after a write whose effect on the
// row is not known.
func (t *txn) forget() { t.codes = nil }

// recall returns the remembered code id.
func (t *txn) recall(id string) (hub.Code, bool) {
	c, ok := t.codes[id]
	if !ok {
		return hub.Code{}, false
	}
	return cloneCode(c), true
}

// cloneCode copies c so the caller and the transaction share no memory.
func cloneCode(c hub.Code) hub.Code {
	if c.SecretHash != nil {
		h := *c.SecretHash
		c.SecretHash = &h
	}
	c.SealedSeed = slices.Clone(c.SealedSeed)
	c.Stores = slices.Clone(c.Stores)
	c.Regions = slices.Clone(c.Regions)
	return c
}

func (t *txn) CodesAfter(after string, limit int) ([]hub.Code, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []hub.Code
	err := t.rows(qCodesAfter, []any{after, limit}, func(r scanner) error {
		c, err := scanCode(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("codes after %q: %w", after, err)
	}
	return out, nil
}

func (t *txn) CountCodes(campaign string) (int, error) {
	var n int
	var err error
	if campaign == "" {
		err = t.row(qCountAll).Scan(&n)
	} else {
		err = t.row(qCountCamp, campaign).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count codes: %w", err)
	}
	return n, nil
}

// InsertCodes inserts every code or, inside a savepoint, none: a failure
// leaves no row behind even if the caller went on to commit.
func (t *txn) InsertCodes(codes []hub.Code) (err error) {
	if len(codes) == 0 {
		return nil
	}
	if _, err := t.exec(qSavepoint); err != nil {
		return fmt.Errorf("insert codes: %w", err)
	}
	defer func() {
		if err != nil {
			_, rerr := t.exec(qRollback)
			_, lerr := t.exec(qRelease)
			err = errors.Join(err, rerr, lerr)
			return
		}
		if _, lerr := t.exec(qRelease); lerr != nil {
			err = fmt.Errorf("insert codes: %w", lerr)
		}
	}()
	for _, c := range codes {
		var secret []byte
		if c.SecretHash != nil {
			secret = c.SecretHash[:]
		}
		stores, err := listText(c.Stores)
		if err != nil {
			return fmt.Errorf("code %s: %w", c.ID, err)
		}
		regions, err := listText(c.Regions)
		if err != nil {
			return fmt.Errorf("code %s: %w", c.ID, err)
		}
		err = t.insert(qInsertCode, c.ID, c.Campaign, string(c.Format), secret, c.SealedSeed, c.Uses, c.Used,
			string(c.Status), micros(c.ValidFrom), micros(c.ValidUntil), stores, regions,
			c.LastUse.Store, c.LastUse.Terminal, micros(c.LastUse.At), c.LastStep, c.OrderRef, micros(c.Issued))
		if isDuplicate(err) {
			return fmt.Errorf("code %s (id or secret hash): %w", c.ID, hub.ErrExists)
		}
		if err != nil {
			return fmt.Errorf("insert code %s: %w", c.ID, err)
		}
	}
	return nil
}

func (t *txn) TakeUses(id string, uses int, use protocol.Use, step int64) (hub.Code, bool, error) {
	c, err := scanCode(t.row(qTakeUses, uses, use.Store, use.Terminal, micros(use.At), step, id))
	if err == nil {
		t.remember(c)
		return c, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		t.forget()
		return hub.Code{}, false, fmt.Errorf("take uses of %s: %w", id, err)
	}
	c, err = t.Code(id)
	return c, false, err
}

func (t *txn) AddUses(id string, delta int, use *protocol.Use, step int64) (hub.Code, error) {
	var u protocol.Use
	if use != nil {
		u = *use
	}
	err := affected(t.exec(qAddUses, delta, use != nil, u.Store, u.Terminal, micros(u.At), step, id))
	if err != nil {
		t.forget()
		return hub.Code{}, fmt.Errorf("add uses to %s: %w", id, err)
	}
	c, ok := t.recall(id)
	if !ok {
		return t.Code(id)
	}
	addUses(&c, delta, use, step)
	t.remember(c)
	return c, nil
}

// addUses is qAddUses in Go, on times as the ledger stores them.
func addUses(c *hub.Code, delta int, use *protocol.Use, step int64) {
	c.Used = max(0, c.Used+delta)
	if use != nil && micros(use.At) > micros(c.LastUse.At) {
		c.LastUse = protocol.Use{Store: use.Store, Terminal: use.Terminal, At: fromMicros(micros(use.At))}
	}
	c.LastStep = max(c.LastStep, step)
}

func (t *txn) SetStatus(id string, status protocol.CodeStatus) (hub.Code, error) {
	c, err := scanCode(t.row(qSetStatus, string(status), id))
	if err != nil {
		t.forget()
		return hub.Code{}, fmt.Errorf("set status of %s: %w", id, notFound(err))
	}
	t.remember(c)
	return c, nil
}
