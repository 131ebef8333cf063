package sqlite

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

var (
	// qAddTotals adds n rows in one statement, for each n of
	// insertChunks: a row whose key exists is added to, a new key
	// inserted.
	qAddTotals   = upsertChunks()
	qClearTotals = wq(`DELETE FROM totals`)

	qLocksBetween = rq(`SELECT store, day, at FROM locks WHERE (?1 = '' OR store = ?1) AND (?2 = '' OR day >= ?2)
		AND (?3 = '' OR day <= ?3) ORDER BY store, day`)
	spAddTotals = newSavepoint("add_totals")
)

func upsertChunks() map[int]string {
	const group = "(?,?,?,?,?,?,?,?,?)"
	qs := map[int]string{}
	for _, n := range insertChunks {
		qs[n] = wq(`INSERT INTO totals (day, store, campaign, hour, mode, redemptions, voids, uses, value) VALUES ` +
			strings.TrimSuffix(strings.Repeat(group+",", n), ",") +
			` ON CONFLICT (day, store, campaign, hour, mode) DO UPDATE SET
			redemptions = redemptions + excluded.redemptions, voids = voids + excluded.voids,
			uses = uses + excluded.uses, value = value + excluded.value`)
	}
	return qs
}

// AddTotals adds ts to the roll-up in as few statements as insertChunks
// allow, inside a savepoint when it takes more than one.
func (t *txn) AddTotals(ts ...hub.Totals) error {
	return t.inChunks(spAddTotals, len(ts), func(i, n int) error {
		args := make([]any, 0, 9*n)
		for _, r := range ts[i : i+n] {
			args = append(args, r.Day, r.Store, r.Campaign, r.Hour, string(r.Mode), r.Redemptions, r.Voids, r.Uses, r.Value)
		}
		if err := t.insert(qAddTotals[n], args...); err != nil {
			return fmt.Errorf("add totals %s %s: %w", ts[i].Day, ts[i].Store, err)
		}
		return nil
	})
}

func (t *txn) ClearTotals() error {
	if _, err := t.exec(qClearTotals); err != nil {
		return fmt.Errorf("clear totals: %w", err)
	}
	return nil
}

// Totals builds its query from the fields f sets. Daily sums the hours in
// SQL along the primary key's order (day, store, campaign), one sum per
// mode, so a month's report reads one row per day, store and campaign.
func (t *txn) Totals(f hub.TotalsFilter) ([]hub.Totals, error) {
	var where []string
	var args []any
	add := func(cond string, a any) { where = append(where, cond); args = append(args, a) }
	if f.From != "" {
		add("day >= ?", f.From)
	}
	if f.To != "" {
		add("day <= ?", f.To)
	}
	if f.Store != "" {
		add("store = ?", f.Store)
	}
	if f.Campaign != "" {
		add("campaign = ?", f.Campaign)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var out []hub.Totals
	if f.Daily {
		const on, off = "mode = 'online'", "mode <> 'online'"
		sums := func(c string) string {
			return fmt.Sprintf("sum(CASE WHEN %[1]s THEN redemptions END), sum(CASE WHEN %[1]s THEN voids END), "+
				"sum(CASE WHEN %[1]s THEN uses END), sum(CASE WHEN %[1]s THEN value END)", c)
		}
		q := "SELECT day, store, campaign, " + sums(on) + ", " + sums(off) + " FROM totals" + cond +
			" GROUP BY day, store, campaign ORDER BY day, store, campaign"
		err := t.rows(q, args, func(r scanner) error {
			var k hub.TotalsKey
			var n [8]sql.NullInt64
			if err := r.Scan(&k.Day, &k.Store, &k.Campaign, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7]); err != nil {
				return err
			}
			k.Hour = -1
			for i, mode := range []protocol.Mode{protocol.ModeOffline, protocol.ModeOnline} {
				m := n[4-4*i:][:4] // offline: n[4:8], online: n[0:4]
				if !m[0].Valid {
					continue
				}
				k.Mode = mode
				out = append(out, hub.Totals{TotalsKey: k, Redemptions: m[0].Int64, Voids: m[1].Int64,
					Uses: m[2].Int64, Value: m[3].Int64})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("daily totals: %w", err)
		}
		return out, nil
	}
	q := "SELECT day, store, campaign, hour, mode, redemptions, voids, uses, value FROM totals" + cond +
		" ORDER BY day, store, campaign, hour, mode"
	err := t.rows(q, args, func(r scanner) error {
		var row hub.Totals
		var mode string
		var hour int64
		if err := r.Scan(&row.Day, &row.Store, &row.Campaign, &hour, &mode, &row.Redemptions, &row.Voids, &row.Uses, &row.Value); err != nil {
			return err
		}
		row.Hour, row.Mode = int(hour), protocol.Mode(mode)
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("totals: %w", err)
	}
	return out, nil
}

func (t *txn) LocksBetween(store, from, to string) ([]protocol.SettlementLock, error) {
	out, err := t.locks(qLocksBetween, store, from, to)
	if err != nil {
		return nil, fmt.Errorf("locks of %q from %q to %q: %w", store, from, to, err)
	}
	return out, nil
}
