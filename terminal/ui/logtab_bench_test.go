package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// busyDay is a day of n events at a busy counter: redemptions of four
// campaigns by six cashiers, with a refusal every tenth and a void every
// twentieth event.
func busyDay(n int) []LogRow {
	at := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	rows := make([]LogRow, n)
	for i := range rows {
		e := protocol.Event{Seq: uint64(i + 1), Kind: protocol.KindRedemption, At: at.Add(time.Duration(i) * 5 * time.Second),
			Cashier: fmt.Sprintf("C%d", i%6), Mode: protocol.ModeOnline, Code: fmt.Sprintf("S%011d", i), Uses: 1, Amount: 2500,
			Campaign: fmt.Sprintf("K%d", i%4)}
		switch {
		case i%10 == 9:
			e.Kind, e.Reason, e.Uses, e.Amount = protocol.KindAttempt, protocol.UsedUp, 0, 0
		case i%20 == 10:
			e.Kind, e.Voids, e.Note = protocol.KindVoid, &protocol.EventRef{Terminal: "T", Seq: uint64(i)}, "changed mind"
		}
		rows[i] = LogRow{Event: e, Campaign: "活动 " + e.Campaign}
	}
	return rows
}

// BenchmarkLogFilter is a filter change on a day of 5000 events: the
// filtered rows and their totals.
func BenchmarkLogFilter(b *testing.B) {
	rows := busyDay(5000)
	v := &logTab{a: &App{lang: protocol.LangZH}}
	b.ReportAllocs()
	for b.Loop() {
		shown := filterRows(rows, "活动 K1", "", verdictAll)
		_ = v.totalsText(shown)
	}
}

// BenchmarkLogCSV is the CSV export of a day of 5000 events.
func BenchmarkLogCSV(b *testing.B) {
	rows := busyDay(5000)
	v := &logTab{a: &App{lang: protocol.LangZH}}
	b.ReportAllocs()
	for b.Loop() {
		b.SetBytes(int64(len(v.logCSV(rows))))
	}
}
