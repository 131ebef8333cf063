package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hexiao/hexiao/internal/atomicfile"
	"github.com/hexiao/hexiao/protocol"
)

// utf8BOM starts the CSV file so Excel reads it as UTF-8 (Chinese names).
const utf8BOM = "\ufeff"

// csvCols are the export's columns, by text key.
var csvCols = []string{"csv.col.date", "log.col.time", "csv.col.seq", "log.col.kind", "log.col.code",
	"log.col.campaign", "log.col.cashier", "log.col.uses", "csv.col.amount", "log.col.mode",
	"log.col.reason", "log.col.slip"}

// defaultCSVPath is ~/hexiao-log-DAY.csv (or the bare name without a home).
func defaultCSVPath(day string) string {
	name := "hexiao-log-" + day + ".csv"
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, name)
	}
	return name
}

// expandHome turns a leading ~/ into the home directory.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// logCSV writes rows of the business day shown as CSV in the window's
// language: a UTF-8 BOM, a header row, a row per event.
func (v *logTab) logCSV(rows []LogRow) []byte {
	a := v.a
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	w := csv.NewWriter(&buf)
	w.UseCRLF = true // what Excel writes
	head := make([]string, len(csvCols))
	for i, k := range csvCols {
		head[i] = a.t(k)
	}
	_ = w.Write(head) // a bytes.Buffer does not fail
	for _, r := range rows {
		e := r.Event
		c := v.cells(r)
		uses, amount := "", ""
		if e.Kind == protocol.KindRedemption || e.Kind == protocol.KindVoid {
			uses, amount = strconv.Itoa(e.Uses), yuan(e.Amount)
		}
		rec := []string{v.day, e.At.In(v.a.loc()).Format("15:04:05"), strconv.FormatUint(e.Seq, 10),
			c[1], e.Code, r.Campaign, e.Cashier, uses, amount, c[7], c[8], c[9]}
		for i := range rec {
			rec[i] = noFormula(rec[i])
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

// yuan writes fen as a plain decimal number a spreadsheet can add up.
func yuan(fen int64) string {
	return strings.Replace(money(fen), "¥", "", 1)
}

// noFormula keeps a spreadsheet from running a text that starts like a
// formula (names come from HQ and from cashiers' notes).
func noFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}

// doExport writes the filtered rows to the typed path, on the worker.
func (v *logTab) doExport() {
	a := v.a
	a.touch()
	path := expandHome(strings.TrimSpace(v.path.Text))
	if path == "" {
		v.msg.SetText(a.t("csv.no_path"))
		return
	}
	data, n := v.logCSV(v.shown), len(v.shown)
	v.msg.SetText(a.t("csv.writing"))
	a.run(func(ctx context.Context) {
		err := atomicfile.Write(path, data, 0o644)
		a.do(func() {
			if err != nil {
				v.msg.SetText(a.t("csv.failed", path, err.Error()))
				return
			}
			v.msg.SetText(a.t("csv.written", n, path))
		})
	})
}
