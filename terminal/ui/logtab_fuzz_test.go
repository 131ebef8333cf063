package ui

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hexiao/hexiao/protocol"
)

// FuzzParseUses checks the void dialog's uses field: a number 1..left or
// an error, never a panic, and every accepted text is that number.
func FuzzParseUses(f *testing.F) {
	for _, s := range []string{"1", " 2 ", "0", "-1", "5", "6", "", "x", "99999999999999999999", "+3", "٣"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, left int) {
		n, err := parseUses(s, left)
		if err != nil {
			if n != 0 {
				t.Fatalf("parseUses(%q, %d) = %d with error %v", s, left, n, err)
			}
			return
		}
		if n < 1 || n > left {
			t.Fatalf("parseUses(%q, %d) = %d: out of 1..%d", s, left, n, left)
		}
		if want, _ := strconv.Atoi(strings.TrimSpace(s)); want != n {
			t.Fatalf("parseUses(%q) = %d, want %d", s, n, want)
		}
	})
}

// FuzzLogCSV writes journal rows with arbitrary names, cashiers and notes
// and reads the file back: a BOM, the header and one record per row of
// the same width, no field a spreadsheet would run as a formula, and the
// texts unchanged but for that guard.
func FuzzLogCSV(f *testing.F) {
	f.Add("视频会员月卡", "C7", "customer changed their mind", int64(2500), true)
	f.Add("=HYPERLINK(\"x\")", "@a", "-1+1", int64(-5), false)
	f.Add("a,b\"c\r\nd", "", "\t=cmd", int64(0), true)
	f.Fuzz(func(t *testing.T, campaign, cashier, note string, amount int64, zh bool) {
		lang := protocol.LangEN
		if zh {
			lang = protocol.LangZH
		}
		v := &logTab{a: &App{lang: lang}}
		at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
		rows := []LogRow{
			{Event: protocol.Event{Seq: 1, Kind: protocol.KindRedemption, At: at, Cashier: cashier, Mode: protocol.ModeOnline,
				Code: "S00000000001", Uses: 1, Amount: amount}, Campaign: campaign},
			{Event: protocol.Event{Seq: 2, Kind: protocol.KindVoid, At: at, Cashier: cashier, Mode: protocol.ModeOffline,
				Code: "S00000000001", Uses: 1, Amount: amount, Note: note, Voids: &protocol.EventRef{Terminal: "T", Seq: 1}}, Campaign: campaign},
			{Event: protocol.Event{Seq: 3, Kind: protocol.KindAttempt, At: at, Cashier: cashier, Reason: protocol.UsedUp}, Campaign: campaign},
			{Event: protocol.Event{Seq: 4, Kind: protocol.KindZReport, At: at, Z: &protocol.ZReport{Number: 1}}},
		}
		data := v.logCSV(rows)
		if !bytes.HasPrefix(data, []byte(utf8BOM)) {
			t.Fatalf("no BOM")
		}
		r := csv.NewReader(bytes.NewReader(data[len(utf8BOM):]))
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("the export does not read back: %v\n%q", err, data)
		}
		if len(recs) != 1+len(rows) {
			t.Fatalf("%d records, want %d", len(recs), 1+len(rows))
		}
		for i, rec := range recs {
			if len(rec) != len(csvCols) {
				t.Fatalf("record %d has %d fields, want %d", i, len(rec), len(csvCols))
			}
			for _, field := range rec {
				if field == "" || !strings.ContainsRune("=+-@\t\r", rune(field[0])) {
					continue
				}
				if _, err := strconv.ParseFloat(field, 64); err != nil {
					t.Fatalf("record %d field %q starts like a formula", i, field)
				}
			}
		}
		// With CRLF line ends a lone \r is dropped and \r\n reads back as \n.
		want := strings.ReplaceAll(campaign, "\r", "")
		if got := recs[1][5]; got != want && got != "'"+want && utf8.ValidString(campaign) {
			t.Fatalf("campaign %q read back as %q", campaign, recs[1][5])
		}
		if recs[2][2] != "2" || recs[4][3] == "" {
			t.Fatalf("rows out of order or kinds missing: %q", recs)
		}
	})
}
