package hub

import (
	"context"
	"fmt"

	"github.com/hexiao/hexiao/protocol"
)

// ReportFilter selects a report: days From to To (YYYY-MM-DD, both
// inclusive, both required, at most MaxReportDays), optionally one store
// and one campaign.
type ReportFilter struct {
	From, To string
	Store    string
	Campaign string
}

// MaxReportDays bounds the days one report covers.
const MaxReportDays = 366

// ReportRow is one day × store × campaign of a report. Locked says the
// store settled the day (a settlement lock).
type ReportRow struct {
	Day      string `json:"day"`
	Store    string `json:"store"`
	Campaign string `json:"campaign"`
	Counts
	Locked bool `json:"locked"`
}

// Report returns the roll-up of f's days by day, store and campaign (in
// that order), rows without redemptions or voids left out.
func (h *Hub) Report(ctx context.Context, f ReportFilter) ([]ReportRow, error) {
	if f.From == "" || f.To == "" {
		return nil, invalid("a report needs from and to (YYYY-MM-DD)")
	}
	if err := checkRange(f.From, f.To, MaxReportDays); err != nil {
		return nil, err
	}
	if f.Store != "" {
		if _, ok := h.storeByID(f.Store); !ok {
			return nil, notFound("no store %q", f.Store)
		}
	}
	if f.Campaign != "" {
		if err := protocol.ValidID(f.Campaign); err != nil {
			return nil, invalid("campaign=%q: %v", f.Campaign, err)
		}
	}
	var rows []Totals
	var locks []protocol.SettlementLock
	err := h.store.View(ctx, func(r Reader) error {
		var err error
		rows, err = r.Totals(TotalsFilter{From: f.From, To: f.To, Store: f.Store, Campaign: f.Campaign, Daily: true})
		if err != nil {
			return err
		}
		locks, err = r.LocksBetween(f.Store, f.From, f.To)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	type storeDay struct{ store, day string }
	locked := make(map[storeDay]bool, len(locks))
	for _, l := range locks {
		locked[storeDay{l.Store, l.Day}] = true
	}
	out := []ReportRow{}
	for _, t := range rows {
		// Rows come in key order, so a day's modes of one store and
		// campaign are neighbours.
		if n := len(out); n > 0 && out[n-1].Day == t.Day && out[n-1].Store == t.Store && out[n-1].Campaign == t.Campaign {
			out[n-1].Counts.add(t)
			continue
		}
		row := ReportRow{Day: t.Day, Store: t.Store, Campaign: t.Campaign, Locked: locked[storeDay{t.Store, t.Day}]}
		row.Counts.add(t)
		out = append(out, row)
	}
	return out, nil
}
