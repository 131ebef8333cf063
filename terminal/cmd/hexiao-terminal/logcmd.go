package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

func runLog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("log", stderr)
	data := fs.String("data", "", "data directory")
	day := fs.String("day", "", "business day YYYY-MM-DD in the store's time zone (default today)")
	asCSV := fs.Bool("csv", false, "write CSV: one row an event, then the totals")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("log: --data DIR is required")
	}
	if *day != "" {
		if _, err := time.Parse(time.DateOnly, *day); err != nil {
			return usageErr(fmt.Sprintf("log: --day %q: want YYYY-MM-DD", *day))
		}
	}
	st, err := sqlite.Open(ctx, *data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	id := st.Identity()
	if *day == "" {
		*day = time.Now().In(id.Location).Format(time.DateOnly)
	}
	events, err := st.Day(ctx, *day)
	if err != nil {
		return err
	}
	totals := terminal.Totals(events)
	if *asCSV {
		return writeLogCSV(stdout, events, totals, id.Location)
	}
	return writeLogTable(stdout, *day, id, events, totals)
}

var logHeader = []string{"time", "event", "kind", "code", "campaign", "uses", "amount", "mode", "reason", "cashier", "voids", "order_ref", "note"}

func logRow(e protocol.Event, loc *time.Location) []string {
	voids := ""
	if e.Voids != nil {
		voids = e.Voids.String()
	}
	return []string{e.At.In(loc).Format("15:04:05"), e.Ref().String(), string(e.Kind), e.Code, e.Campaign,
		strconv.Itoa(e.Uses), yuan(e.Amount), string(e.Mode), string(e.Reason), e.Cashier, voids, e.OrderRef, e.Note}
}

var totalsHeader = []string{"campaign", "redemptions", "uses", "value", "offline", "voids", "voided_uses", "voided_value", "net", "refused"}

func totalsRow(t terminal.CampaignTotal) []string {
	name := t.Campaign
	if name == "" {
		name = "(no campaign)"
	}
	return []string{name, strconv.Itoa(t.Redemptions), strconv.Itoa(t.Uses), yuan(t.Value), strconv.Itoa(t.Offline),
		strconv.Itoa(t.Voids), strconv.Itoa(t.VoidedUses), yuan(t.VoidedValue), yuan(t.Net()), strconv.Itoa(t.Refused)}
}

// yuan writes fen as yuan with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

func writeLogCSV(w io.Writer, events []protocol.Event, totals []terminal.CampaignTotal, loc *time.Location) error {
	cw := csv.NewWriter(w)
	cw.Write(logHeader)
	for _, e := range events {
		cw.Write(logRow(e, loc))
	}
	cw.Write(nil)
	cw.Write(totalsHeader)
	for _, t := range totals {
		cw.Write(totalsRow(t))
	}
	cw.Flush()
	return cw.Error()
}

func writeLogTable(w io.Writer, day string, id terminal.Identity, events []protocol.Event, totals []terminal.CampaignTotal) error {
	fmt.Fprintf(w, "%s — terminal %s, store %s, %s (%d events)\n\n", day, id.Terminal, id.Store, id.Location, len(events))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeTabRow(tw, logHeader)
	for _, e := range events {
		writeTabRow(tw, logRow(e, id.Location))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nTotals by campaign (amounts in yuan)")
	writeTabRow(tw, totalsHeader)
	for _, t := range totals {
		writeTabRow(tw, totalsRow(t))
	}
	return tw.Flush()
}

func writeTabRow(w io.Writer, cells []string) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		io.WriteString(w, c)
	}
	io.WriteString(w, "\n")
}
