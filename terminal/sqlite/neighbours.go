package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// NeighbourKeep is how long the store's other terminals' redemptions are
// kept, measured on the feed's (the hub's) clock.
const NeighbourKeep = 7 * 24 * time.Hour

// Neighbour is one redemption or void made at another terminal of this
// terminal's store, as the hub's feed reported it. Code is the code id:
// never a card secret.
type Neighbour struct {
	Terminal     string
	Seq          uint64 // the event's seq in Terminal's journal
	Kind         protocol.EventKind
	Code         string
	Campaign     string
	CampaignName string // from the cache; empty if the campaign is not cached
	Cashier      string
	Uses         int
	Amount       int64 // fen
	Mode         protocol.Mode
	At           time.Time // the redeeming terminal's clock
}

// Neighbours returns the redemptions and voids that this store's other
// terminals made on business day day (YYYY-MM-DD in the store's time
// zone), newest first, as far as the feed has delivered them.
func (s *Store) Neighbours(ctx context.Context, day string) ([]Neighbour, error) {
	if s.Revoked() != "" {
		return nil, ErrRevoked
	}
	loc := s.Identity().Location
	if loc == nil {
		loc = time.UTC
	}
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return nil, fmt.Errorf("neighbours: day %q: want YYYY-MM-DD", day)
	}
	from, until := d, time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
	rows, err := s.r.QueryContext(ctx, `SELECT terminal, seq, kind, code, campaign, uses, amount, mode, cashier, at
		FROM neighbours WHERE at >= ? AND at < ? ORDER BY at DESC, terminal, seq DESC`, from.UnixMilli(), until.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("neighbours of %s: %w", day, err)
	}
	defer rows.Close()
	out, names := []Neighbour{}, map[string]string{}
	for rows.Next() {
		var n Neighbour
		var at int64
		if err := rows.Scan(&n.Terminal, &n.Seq, &n.Kind, &n.Code, &n.Campaign, &n.Uses, &n.Amount, &n.Mode, &n.Cashier, &at); err != nil {
			return nil, fmt.Errorf("neighbours of %s: %w", day, err)
		}
		n.At = time.UnixMilli(at).In(loc)
		name, ok := names[n.Campaign]
		if !ok {
			if c, err := s.Campaign(ctx, n.Campaign); err == nil {
				name = c.Name
			}
			names[n.Campaign] = name
		}
		n.CampaignName = name
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("neighbours of %s: %w", day, err)
	}
	return out, nil
}

// putNeighbour records, in ApplyFeed's transaction, the redemption or void
// a change names when another terminal of this store made it: a row per
// event id, replaced by a later change about the same event, deleted when
// the hub says the claim was undone.
func (s *Store) putNeighbour(ctx context.Context, tx *sql.Tx, c *protocol.Change) error {
	by, id := c.By, s.Identity()
	if by == nil || c.Code == nil || by.Store != id.Store || by.Terminal == id.Terminal {
		return nil
	}
	if by.Undone {
		_, err := tx.ExecContext(ctx, "DELETE FROM neighbours WHERE terminal = ? AND seq = ?", by.Terminal, int64(by.Seq))
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO neighbours
		(terminal, seq, kind, code, campaign, uses, amount, mode, cashier, at, change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		by.Terminal, int64(by.Seq), string(by.Kind), c.Code.ID, c.Code.Campaign, by.Uses, by.Amount, string(by.Mode),
		by.Cashier, by.At.UnixMilli(), int64(c.Seq))
	return err
}

// pruneNeighbours deletes, in ApplyFeed's transaction, the rows older than
// NeighbourKeep before the newest change among changes that names an
// event; without one it does nothing.
func pruneNeighbours(ctx context.Context, tx *sql.Tx, changes []protocol.Change) error {
	var newest time.Time
	for i := range changes {
		if changes[i].By != nil && changes[i].At.After(newest) {
			newest = changes[i].At
		}
	}
	if newest.IsZero() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM neighbours WHERE at < ?", newest.Add(-NeighbourKeep).UnixMilli()); err != nil {
		return fmt.Errorf("prune neighbours: %w", err)
	}
	return nil
}
