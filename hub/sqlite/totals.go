package sqlite

import (
	"fmt"
	"strings"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

var (
	// qAddTotals adds n rows in one statement, for each n of
	// insertChunks: a row whose key exists is added to, a new key
	// inserted.
	qAddTotals      = upsertChunks("totals", "day, store, campaign, hour, mode")
	qAddTotalsDaily = upsertChunks("totals_daily", "day, store, campaign, mode")
	qClearTotals    = wq(`DELETE FROM totals`)
	qClearDaily     = wq(`DELETE FROM totals_daily`)

	qLocksBetween = rq(`SELECT store, day, at FROM locks WHERE (?1 = '' OR store = ?1) AND (?2 = '' OR day >= ?2)
		AND (?3 = '' OR day <= ?3) ORDER BY store, day`)
	spAddTotals = newSavepoint("add_totals")
)

// upsertChunks makes the statements that add rows of key columns and the
// four counts to table.
func upsertChunks(table, key string) map[int]string {
	cols := strings.Count(key, ",") + 1 + 4
	group := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	qs := map[int]string{}
	for _, n := range insertChunks {
		qs[n] = wq(`INSERT INTO ` + table + ` (` + key + `, redemptions, voids, uses, value) VALUES ` +
			strings.TrimSuffix(strings.Repeat(group+",", n), ",") +
			` ON CONFLICT (` + key + `) DO UPDATE SET
			redemptions = redemptions + excluded.redemptions, voids = voids + excluded.voids,
			uses = uses + excluded.uses, value = value + excluded.value`)
	}
	return qs
}

// AddTotals adds ts to the roll-up and their sums over the hours to the
// daily roll-up, in as few statements as insertChunks allow, inside a
// savepoint when it takes more than one.
func (t *txn) AddTotals(ts ...hub.Totals) error {
	err := t.inChunks(spAddTotals, len(ts), func(i, n int) error {
		args := make([]any, 0, 9*n)
		for _, r := range ts[i : i+n] {
			args = append(args, r.Day, r.Store, r.Campaign, r.Hour, string(r.Mode), r.Redemptions, r.Voids, r.Uses, r.Value)
		}
		if err := t.insert(qAddTotals[n], args...); err != nil {
			return fmt.Errorf("add totals %s %s: %w", ts[i].Day, ts[i].Store, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	daily := dailySums(ts)
	return t.inChunks(spAddTotals, len(daily), func(i, n int) error {
		args := make([]any, 0, 8*n)
		for _, r := range daily[i : i+n] {
			args = append(args, r.Day, r.Store, r.Campaign, string(r.Mode), r.Redemptions, r.Voids, r.Uses, r.Value)
		}
		if err := t.insert(qAddTotalsDaily[n], args...); err != nil {
			return fmt.Errorf("add daily totals %s %s: %w", daily[i].Day, daily[i].Store, err)
		}
		return nil
	})
}

// dailySums sums ts over the hours, one row per day, store, campaign and
// mode, in the order they first appear.
func dailySums(ts []hub.Totals) []hub.Totals {
	var out []hub.Totals
	at := map[hub.TotalsKey]int{}
	for _, r := range ts {
		k := r.TotalsKey
		k.Hour = -1
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, hub.Totals{TotalsKey: k})
		}
		out[i].Redemptions += r.Redemptions
		out[i].Voids += r.Voids
		out[i].Uses += r.Uses
		out[i].Value += r.Value
	}
	return out
}

func (t *txn) ClearTotals() error {
	for _, q := range []string{qClearTotals, qClearDaily} {
		if _, err := t.exec(q); err != nil {
			return fmt.Errorf("clear totals: %w", err)
		}
	}
	return nil
}

// Totals builds its query from the fields f sets. Daily reads the daily
// roll-up, so a month's report reads one row per day, store, campaign and
// mode instead of summing up to 24 hours of each.
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
		q := "SELECT day, store, campaign, mode, redemptions, voids, uses, value FROM totals_daily" + cond +
			" ORDER BY day, store, campaign, mode"
		err := t.rows(q, args, func(r scanner) error {
			row := hub.Totals{TotalsKey: hub.TotalsKey{Hour: -1}}
			var mode string
			if err := r.Scan(&row.Day, &row.Store, &row.Campaign, &mode, &row.Redemptions, &row.Voids, &row.Uses, &row.Value); err != nil {
				return err
			}
			row.Mode = protocol.Mode(mode)
			out = append(out, row)
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
