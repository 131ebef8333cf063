package station

import (
	"context"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/ui"
)

// Day is a business day's journal with each redemption's slip state and
// whether it may still be voided.
func (s *Station) Day(ctx context.Context, day string) ([]ui.LogRow, error) {
	st, _, _, err := s.parts()
	if err != nil {
		return nil, err
	}
	loc := st.Identity().Location
	if loc == nil {
		loc = time.UTC
	}
	start, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return nil, &ui.UserError{EN: "Day " + day + ": want YYYY-MM-DD", ZH: "日期 " + day + "：格式应为 YYYY-MM-DD"}
	}
	events, err := st.Day(ctx, day)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	slips, err := st.Slips(ctx, events[0].Seq, events[len(events)-1].Seq)
	if err != nil {
		return nil, err
	}
	settled, err := st.Settled(ctx, st.Identity().Store, day)
	if err != nil {
		return nil, err
	}
	voided := map[uint64]int{} // redemption seq → uses voided (this day's voids)
	for _, e := range events {
		if e.Kind == protocol.KindVoid && e.Voids != nil {
			voided[e.Voids.Seq] += e.Uses
		}
	}
	now, end := s.now(), start.AddDate(0, 0, 1)
	rows := make([]ui.LogRow, 0, len(events))
	for _, e := range events {
		row := ui.LogRow{Event: e, Campaign: e.Campaign}
		camp, cerr := st.Campaign(ctx, e.Campaign)
		if cerr == nil && camp.Name != "" {
			row.Campaign = camp.Name
		}
		if e.Kind == protocol.KindRedemption {
			undo := time.Duration(camp.UndoWindow)
			row.Voided = voided[e.Seq]
			if e.At.Add(undo).After(end) {
				// Its undo window reaches into a later day, whose voids are
				// not among this day's events: ask the journal.
				if _, v, err := st.Redemption(ctx, e.Seq); err == nil {
					row.Voided = v
				}
			}
			if sl, ok := slips[e.Seq]; ok {
				row.Printed, row.PrintError = sl.Printed > 0, sl.Error
			}
			row.Voidable = cerr == nil && !settled && undo > 0 && now.Sub(e.At) <= undo && row.Voided < e.Uses
		}
		rows = append(rows, row)
	}
	return rows, nil
}
