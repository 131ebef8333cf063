package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// SlipState is what the terminal knows of one event's printed slip.
type SlipState struct {
	Seq     uint64
	Printed int       // successful prints; 0: unprinted
	Tries   int       // prints tried
	Error   string    // why the last try failed
	At      time.Time // the last try
}

// RecordPrint records one try to print the slip of event seq: printed when
// failure is nil, else unprinted with failure's text. It never touches the
// journal.
func (s *Store) RecordPrint(ctx context.Context, seq uint64, at time.Time, failure error) error {
	printed, msg := 1, ""
	if failure != nil {
		printed, msg = 0, failure.Error()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO slips (seq, printed, tries, error, at) VALUES (?, ?, 1, ?, ?)
		ON CONFLICT (seq) DO UPDATE SET printed = printed + excluded.printed, tries = tries + 1, error = excluded.error, at = excluded.at`,
		int64(seq), printed, msg, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("record slip of seq %d: %w", seq, err)
	}
	return nil
}

// Slips returns the slip state of the events with seq from..to that have
// one, by seq.
func (s *Store) Slips(ctx context.Context, from, to uint64) (map[uint64]SlipState, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT seq, printed, tries, error, at FROM slips WHERE seq BETWEEN ? AND ?", int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("read slips: %w", err)
	}
	defer rows.Close()
	out := map[uint64]SlipState{}
	for rows.Next() {
		var (
			st SlipState
			at int64
		)
		if err := rows.Scan(&st.Seq, &st.Printed, &st.Tries, &st.Error, &at); err != nil {
			return nil, fmt.Errorf("read slips: %w", err)
		}
		st.At = time.UnixMilli(at)
		out[st.Seq] = st
	}
	return out, rows.Err()
}

// unprintedFrom selects a business day's redemptions whose slip never
// printed (tried and failed, or never tried).
const unprintedFrom = ` FROM journal j LEFT JOIN slips p ON p.seq = j.seq
	WHERE j.day = ? AND j.kind = 'redemption' AND coalesce(p.printed, 0) = 0`

// Unprinted lists the redemptions of a business day whose slip
// never printed (tried and failed, or never tried), oldest first.
func (s *Store) Unprinted(ctx context.Context, day string) ([]protocol.Event, error) {
	return s.events(ctx, "unprinted slips of "+day, "SELECT j.seq, j.body"+unprintedFrom+" ORDER BY j.seq", day)
}

// UnprintedCount counts what Unprinted lists, without reading the events
// (the window's status bar asks every second).
func (s *Store) UnprintedCount(ctx context.Context, day string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*)"+unprintedFrom, day).Scan(&n); err != nil {
		return 0, fmt.Errorf("count unprinted slips of %s: %w", day, err)
	}
	return n, nil
}
