package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

const claimCols = `terminal, seq, kind, code, uses, step, voids_terminal, voids_seq, taken, reply, at, settled, undone`

var (
	qClaim       = rq(`SELECT ` + claimCols + ` FROM claims WHERE terminal = ? AND seq = ?`)
	qClaims      = rq(`SELECT ` + claimCols + ` FROM claims WHERE terminal = ? AND seq BETWEEN ? AND ? ORDER BY seq`)
	qPutClaim    = wq(`INSERT INTO claims (` + claimCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	qSettleClaim = wq(`UPDATE claims SET settled = 1, undone = ? WHERE terminal = ? AND seq = ?`)
)

func (t *txn) Claim(ref protocol.EventRef) (hub.Claim, error) {
	c, err := scanClaim(t.row(qClaim, ref.Terminal, ref.Seq))
	if err != nil {
		return hub.Claim{}, lookupFailed("claim", ref, err)
	}
	return c, nil
}

func (t *txn) Claims(terminal string, from, to uint64) ([]hub.Claim, error) {
	var out []hub.Claim
	err := t.rows(qClaims, []any{terminal, from, to}, func(r scanner) error {
		c, err := scanClaim(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claims of %s %d-%d: %w", terminal, from, to, err)
	}
	return out, nil
}

func scanClaim(r scanner) (hub.Claim, error) {
	var (
		c                  hub.Claim
		kind               string
		voidsTerm          sql.NullString
		voidsSeq           sql.NullInt64
		reply              []byte
		at                 int64
		taken, set, undone bool
	)
	err := r.Scan(&c.Terminal, &c.Seq, &kind, &c.Code, &c.Uses, &c.Step,
		&voidsTerm, &voidsSeq, &taken, &reply, &at, &set, &undone)
	if err != nil {
		return hub.Claim{}, err
	}
	if err := json.Unmarshal(reply, &c.Reply); err != nil {
		return hub.Claim{}, fmt.Errorf("claim %s reply: %w", c.EventRef, err)
	}
	c.Kind, c.Voids, c.At = protocol.EventKind(kind), refOf(voidsTerm, voidsSeq), fromMicros(at)
	c.Taken, c.Settled, c.Undone = taken, set, undone
	return c, nil
}

func (t *txn) PutClaim(c hub.Claim) error {
	reply, err := json.Marshal(c.Reply)
	if err != nil {
		return fmt.Errorf("claim %s reply: %w", c.EventRef, err)
	}
	vt, vs := refCols(c.Voids)
	err = t.insert(qPutClaim, c.Terminal, c.Seq, string(c.Kind), c.Code, c.Uses, c.Step, vt, vs,
		boolInt(c.Taken), reply, micros(c.At), boolInt(c.Settled), boolInt(c.Undone))
	if isDuplicate(err) {
		return fmt.Errorf("claim %s: %w", c.EventRef, hub.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("put claim %s: %w", c.EventRef, err)
	}
	return nil
}

func (t *txn) SettleClaim(ref protocol.EventRef, undone bool) error {
	if err := affected(t.exec(qSettleClaim, boolInt(undone), ref.Terminal, ref.Seq)); err != nil {
		return fmt.Errorf("settle claim %s: %w", ref, err)
	}
	return nil
}
