package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// The verdict filter's choices, in the order the Select shows them.
const (
	verdictAll = iota
	verdictAccepted
	verdictRefused
	verdictVoids
)

// logCols are the journal table's columns, by text key.
var logCols = []struct {
	key   string
	width float32
}{
	{"log.col.time", 72}, {"log.col.kind", 150}, {"log.col.code", 118}, {"log.col.campaign", 130},
	{"log.col.cashier", 64}, {"log.col.uses", 48}, {"log.col.amount", 76}, {"log.col.mode", 64},
	{"log.col.reason", 180}, {"log.col.slip", 90},
}

// logTab is the manager's journal of one business day: filters, totals,
// CSV export, reprints and voids. Every field is touched only on the UI
// goroutine.
type logTab struct {
	a   *App
	obj fyne.CanvasObject

	day   string   // the day shown (YYYY-MM-DD)
	rows  []LogRow // the day's journal, oldest first
	shown []LogRow // rows the filters let through
	sel   int      // index in shown, or -1

	date        *widget.Entry
	prev, next  *widget.Button
	reload      *widget.Button
	campaign    *widget.Select
	cashier     *widget.Select
	verdict     *widget.Select
	table       *widget.Table
	totals      *widget.Label
	detail      *widget.Label // the selected row in full
	reprint     *widget.Button
	void        *widget.Button
	path        *widget.Entry
	export      *widget.Button
	msg         *widget.Label
	defaultPath string // the path the export entry was last defaulted to
	quiet       bool   // the filters are being set by code, not the manager
}

func newLogTab(a *App) fyne.CanvasObject { return newLogView(a).obj }

func newLogView(a *App) *logTab {
	v := &logTab{a: a, sel: -1, totals: widget.NewLabel(""), detail: widget.NewLabel(""), msg: widget.NewLabel("")}
	v.detail.Wrapping = fyne.TextWrapWord
	v.msg.Wrapping = fyne.TextWrapWord
	v.totals.Wrapping = fyne.TextWrapWord
	v.date = widget.NewEntry()
	v.date.SetPlaceHolder(a.t("log.date_hint"))
	v.date.OnSubmitted = func(string) { a.touch(); v.load(strings.TrimSpace(v.date.Text)) }
	v.date.OnChanged = func(string) { a.touch() }
	v.prev = widget.NewButton(a.t("log.prev_day"), func() { v.shift(-1) })
	v.next = widget.NewButton(a.t("log.next_day"), func() { v.shift(1) })
	v.reload = widget.NewButton(a.t("log.show"), func() { a.touch(); v.load(strings.TrimSpace(v.date.Text)) })

	v.campaign = widget.NewSelect(nil, func(string) { v.filtered() })
	v.cashier = widget.NewSelect(nil, func(string) { v.filtered() })
	v.verdict = widget.NewSelect([]string{a.t("log.filter.all_verdicts"), a.t("log.filter.accepted"),
		a.t("log.filter.refused"), a.t("log.filter.voids")}, func(string) { v.filtered() })
	v.quiet = true
	v.verdict.SetSelectedIndex(verdictAll)
	v.setFilterOptions()
	v.quiet = false

	v.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(v.shown), len(logCols) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(id widget.TableCellID, o fyne.CanvasObject) {
			l := o.(*widget.Label)
			if id.Row < 0 || id.Row >= len(v.shown) {
				l.SetText("")
				return
			}
			l.SetText(clip(v.cells(v.shown[id.Row])[id.Col], 40))
		})
	v.table.ShowHeaderColumn = false
	v.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("") }
	v.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		l := o.(*widget.Label)
		l.TextStyle.Bold = true
		if id.Row == -1 && id.Col >= 0 && id.Col < len(logCols) {
			l.SetText(a.t(logCols[id.Col].key))
		}
	}
	for i, c := range logCols {
		v.table.SetColumnWidth(i, c.width)
	}
	v.table.OnSelected = func(id widget.TableCellID) { a.touch(); v.selectRow(id.Row) }
	v.table.OnUnselected = func(widget.TableCellID) { v.selectRow(-1) }

	v.reprint = widget.NewButton(a.t("log.reprint"), v.doReprint)
	v.void = widget.NewButton(a.t("log.void"), v.askVoid)
	v.path = widget.NewEntry()
	v.path.OnChanged = func(string) { a.touch() }
	v.path.OnSubmitted = func(string) { v.doExport() }
	v.export = widget.NewButton(a.t("csv.export"), v.doExport)
	v.selectRow(-1)

	labelled := func(key string, o fyne.CanvasObject) fyne.CanvasObject {
		return container.NewBorder(nil, nil, widget.NewLabel(a.t(key)), nil, o)
	}
	filters := container.NewGridWithColumns(3, labelled("log.filter.campaign", v.campaign),
		labelled("log.filter.cashier", v.cashier), labelled("log.filter.verdict", v.verdict))
	dayRow := container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel(a.t("log.day")), v.prev),
		container.NewHBox(v.next, v.reload), v.date)
	exportRow := container.NewBorder(nil, nil, widget.NewLabel(a.t("csv.path")), v.export, v.path)
	bottom := container.NewVBox(v.detail, v.totals, container.NewHBox(v.reprint, v.void), exportRow, v.msg)
	v.obj = container.NewBorder(container.NewVBox(dayRow, filters), bottom, nil, nil, v.table)

	day := a.status.Day
	if day == "" {
		day = a.now().Format(time.DateOnly)
	}
	v.load(day)
	return v
}

// shift shows the day before (-1) or after (+1) the one typed or shown.
func (v *logTab) shift(days int) {
	v.a.touch()
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(v.date.Text))
	if err != nil {
		d, err = time.Parse(time.DateOnly, v.day)
		if err != nil {
			return
		}
	}
	v.load(d.AddDate(0, 0, days).Format(time.DateOnly))
}

// load reads day's journal on the worker and shows it.
func (v *logTab) load(day string) {
	a := v.a
	v.date.SetText(day)
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		v.msg.SetText(a.t("log.bad_day", day))
		return
	}
	v.msg.SetText(a.t("log.loading", day))
	a.run(func(ctx context.Context) {
		rows, err := a.b.Day(ctx, day)
		a.do(func() {
			if err != nil {
				v.msg.SetText(errText(a.lang, err, "log.load_failed") + " (" + day + ")")
				return
			}
			v.show(day, rows)
			v.msg.SetText("")
		})
	})
}

// show puts a loaded day on screen, keeping the filters that still apply
// and the selected event when it is still there.
func (v *logTab) show(day string, rows []LogRow) {
	var keep uint64
	if v.sel >= 0 && v.day == day {
		keep = v.shown[v.sel].Event.Seq
	}
	v.day, v.rows = day, rows
	if v.path.Text == "" || v.path.Text == v.defaultPath {
		v.defaultPath = defaultCSVPath(day)
		v.path.SetText(v.defaultPath)
	}
	v.quiet = true
	v.setFilterOptions()
	v.quiet = false
	v.filtered()
	for i, r := range v.shown {
		if keep != 0 && r.Event.Seq == keep {
			v.table.Select(widget.TableCellID{Row: i, Col: 0})
		}
	}
}

// setFilterOptions offers the day's campaigns and cashiers, keeping the
// current choice when the day has it.
func (v *logTab) setFilterOptions() {
	a := v.a
	var camps, cashiers []string
	for _, r := range v.rows {
		if r.Event.Kind != protocol.KindZReport && r.Campaign != "" && !slices.Contains(camps, r.Campaign) {
			camps = append(camps, r.Campaign)
		}
		if c := r.Event.Cashier; c != "" && !slices.Contains(cashiers, c) {
			cashiers = append(cashiers, c)
		}
	}
	slices.Sort(camps)
	slices.Sort(cashiers)
	setOptions(v.campaign, append([]string{a.t("log.filter.all_campaigns")}, camps...))
	setOptions(v.cashier, append([]string{a.t("log.filter.all_cashiers")}, cashiers...))
}

func setOptions(s *widget.Select, opts []string) {
	cur := s.Selected
	s.SetOptions(opts)
	if i := slices.Index(opts, cur); i > 0 {
		s.SetSelectedIndex(i)
	} else {
		s.SetSelectedIndex(0)
	}
}

// filtered applies the filters to the day's rows and shows the result.
func (v *logTab) filtered() {
	if v.quiet || v.table == nil {
		return
	}
	v.a.touch()
	camp, cashier := "", ""
	if v.campaign.SelectedIndex() > 0 {
		camp = v.campaign.Selected
	}
	if v.cashier.SelectedIndex() > 0 {
		cashier = v.cashier.Selected
	}
	v.shown = filterRows(v.rows, camp, cashier, v.verdict.SelectedIndex())
	v.table.UnselectAll()
	v.selectRow(-1)
	v.table.Refresh()
	v.totals.SetText(v.totalsText(v.shown))
}

// filterRows keeps the rows of campaign (name) and cashier ("" for any)
// with the verdict filter's kind. Z reports pass only when nothing is
// filtered.
func filterRows(rows []LogRow, campaign, cashier string, verdict int) []LogRow {
	out := make([]LogRow, 0, len(rows))
	for _, r := range rows {
		e := r.Event
		if e.Kind == protocol.KindZReport && (campaign != "" || cashier != "" || verdict > verdictAll) {
			continue
		}
		if campaign != "" && r.Campaign != campaign || cashier != "" && e.Cashier != cashier {
			continue
		}
		switch {
		case verdict == verdictAccepted && e.Kind != protocol.KindRedemption,
			verdict == verdictRefused && e.Kind != protocol.KindAttempt,
			verdict == verdictVoids && e.Kind != protocol.KindVoid:
			continue
		}
		out = append(out, r)
	}
	return out
}

// totalsText sums rows the way reports do.
func (v *logTab) totalsText(rows []LogRow) string {
	events := make([]protocol.Event, len(rows))
	for i, r := range rows {
		events[i] = r.Event
	}
	sum := terminal.Report{Lines: terminal.Totals(events)}.Sum()
	return v.a.t("log.totals", len(rows), sum.Redemptions, sum.Uses, money(sum.Value), sum.Voids,
		money(sum.VoidedValue), sum.Refused, money(sum.Value-sum.VoidedValue))
}

// selectRow notes the selected row and enables what it allows.
func (v *logTab) selectRow(i int) {
	if i < 0 || i >= len(v.shown) {
		v.sel = -1
		v.detail.SetText("")
		v.reprint.Disable()
		v.void.Disable()
		return
	}
	v.sel = i
	r := v.shown[i]
	var parts []string
	for _, c := range v.cells(r) {
		if c != "" {
			parts = append(parts, c)
		}
	}
	v.detail.SetText(v.a.t("log.selected", r.Event.Seq, strings.Join(parts, " · ")))
	if r.Event.Kind == protocol.KindRedemption {
		v.reprint.Enable()
	} else {
		v.reprint.Disable()
	}
	if r.Voidable && v.a.manager != nil {
		v.void.Enable()
	} else {
		v.void.Disable()
	}
}

// cells are a row's texts, one per column of logCols.
func (v *logTab) cells(r LogRow) []string {
	a := v.a
	e := r.Event
	uses, amount := "", ""
	if e.Kind == protocol.KindRedemption || e.Kind == protocol.KindVoid {
		uses, amount = fmt.Sprint(e.Uses), money(e.Amount)
	}
	mode := string(e.Mode)
	switch e.Mode {
	case protocol.ModeOnline:
		mode = a.t("log.mode.online")
	case protocol.ModeOffline:
		mode = a.t("log.mode.offline")
	}
	return []string{e.At.In(v.a.loc()).Format("15:04:05"), v.kindText(r), e.Code, r.Campaign, e.Cashier,
		uses, amount, mode, v.reasonText(r), v.slipText(r)}
}

func (v *logTab) kindText(r LogRow) string {
	a := v.a
	switch r.Event.Kind {
	case protocol.KindRedemption:
		switch {
		case r.Voided >= r.Event.Uses && r.Voided > 0:
			return a.t("log.kind.voided")
		case r.Voided > 0:
			return a.t("log.kind.part_voided", r.Voided)
		}
		return a.t("log.kind.redemption")
	case protocol.KindVoid:
		return a.t("log.kind.void")
	case protocol.KindAttempt:
		return a.t("log.kind.attempt")
	case protocol.KindZReport:
		return a.t("log.kind.z")
	}
	return string(r.Event.Kind)
}

func (v *logTab) reasonText(r LogRow) string {
	a := v.a
	e := r.Event
	switch e.Kind {
	case protocol.KindAttempt:
		return e.Reason.Text(a.lang)
	case protocol.KindVoid:
		s := ""
		if e.Voids != nil {
			s = a.t("log.void_of", e.Voids.Seq)
		}
		if e.Note != "" {
			s += " · " + e.Note
		}
		return strings.TrimPrefix(s, " · ")
	case protocol.KindZReport:
		if e.Z != nil {
			return a.t("log.z_number", e.Z.Number)
		}
	}
	return ""
}

func (v *logTab) slipText(r LogRow) string {
	if r.Event.Kind != protocol.KindRedemption {
		return ""
	}
	switch {
	case r.Printed:
		return v.a.t("log.slip.printed")
	case r.PrintError != "":
		return v.a.t("log.slip.failed", r.PrintError)
	case v.a.status.Printer == nil:
		return "" // no printer: nothing was to print
	}
	return v.a.t("log.slip.none")
}

// selected is the selected row, if any.
func (v *logTab) selected() (LogRow, bool) {
	if v.sel < 0 || v.sel >= len(v.shown) {
		return LogRow{}, false
	}
	return v.shown[v.sel], true
}

// doReprint prints the selected redemption's slip again.
func (v *logTab) doReprint() {
	a := v.a
	a.touch()
	r, ok := v.selected()
	if !ok || r.Event.Kind != protocol.KindRedemption {
		return
	}
	seq, day := r.Event.Seq, v.day
	v.msg.SetText(a.t("log.reprinting"))
	a.run(func(ctx context.Context) {
		err := a.b.Reprint(ctx, seq)
		a.do(func() {
			if err != nil {
				v.msg.SetText(a.t("log.reprint_failed", errDetail(a.lang, err)))
			} else {
				v.msg.SetText(a.t("log.reprinted", r.Event.Code))
			}
			v.reloadKeepMsg(day)
		})
	})
}

// reloadKeepMsg reads day again without clearing the message shown.
func (v *logTab) reloadKeepMsg(day string) {
	a := v.a
	a.run(func(ctx context.Context) {
		rows, err := a.b.Day(ctx, day)
		a.do(func() {
			if err == nil && v.day == day {
				v.show(day, rows)
			}
		})
	})
}

// errDetail is err in words: a *UserError's own, or its message.
func errDetail(lang protocol.Lang, err error) string {
	var ue *UserError
	if asUserError(err, &ue) {
		return ue.In(lang)
	}
	return err.Error()
}
