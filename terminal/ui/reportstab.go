package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/terminal"
)

// reportsTab prints the X report and closes the day with a Z report,
// showing either on screen with what became of its print.
type reportsTab struct {
	a      *App
	obj    fyne.CanvasObject
	x, z   *widget.Button
	msg    *widget.Label
	report *widget.Label
	busy   bool // a report is being made
}

func newReportsTab(a *App) fyne.CanvasObject { return newReportsView(a).obj }

func newReportsView(a *App) *reportsTab {
	v := &reportsTab{a: a, msg: widget.NewLabel(""), report: widget.NewLabel("")}
	v.msg.Wrapping = fyne.TextWrapWord
	v.x = widget.NewButton(a.t("report.x"), v.doX)
	v.z = widget.NewButton(a.t("report.z"), v.askZ)
	help := widget.NewLabel(a.t("report.help"))
	help.Wrapping = fyne.TextWrapWord
	v.obj = container.NewBorder(container.NewVBox(help, container.NewHBox(v.x, v.z), v.msg), nil, nil, nil,
		container.NewScroll(v.report))
	return v
}

func (v *reportsTab) doX() {
	a := v.a
	a.touch()
	if v.busy {
		return
	}
	v.start()
	a.run(func(ctx context.Context) {
		res, err := a.b.XReport(ctx)
		a.do(func() { v.done(res, err) })
	})
}

// askZ asks before closing the day: a Z report cannot be undone.
func (v *reportsTab) askZ() {
	a := v.a
	a.touch()
	if v.busy || a.manager == nil {
		return
	}
	// The question's own buttons, Cancel focused: Space or Enter on it
	// closes nothing by accident, Tab reaches the confirmation.
	question := widget.NewLabel(a.t("report.z_question"))
	question.Wrapping = fyne.TextWrapWord
	cancel := widget.NewButton(a.t("report.z_cancel"), nil)
	confirm := widget.NewButton(a.t("report.z_confirm"), nil)
	confirm.Importance = widget.DangerImportance
	d := dialog.NewCustomWithoutButtons(a.t("report.z_title"),
		container.NewVBox(question, container.NewGridWithColumns(2, cancel, confirm)), a.w)
	cancel.OnTapped = func() { a.touch(); d.Hide() }
	confirm.OnTapped = func() {
		a.touch()
		d.Hide()
		v.doZ()
	}
	d.Resize(fyne.NewSize(420, 0))
	d.Show()
	a.w.Canvas().Focus(cancel)
}

func (v *reportsTab) doZ() {
	a := v.a
	if v.busy || a.manager == nil || a.screen != screenManager {
		return // locked while the question was open
	}
	manager := a.manager.ID
	v.start()
	a.run(func(ctx context.Context) {
		res, err := a.b.CloseDay(ctx, manager)
		a.do(func() { v.done(res, err) })
	})
}

func (v *reportsTab) start() {
	v.busy = true
	v.x.Disable()
	v.z.Disable()
	v.msg.SetText(v.a.t("report.working"))
}

func (v *reportsTab) done(res ReportResult, err error) {
	a := v.a
	v.busy = false
	v.x.Enable()
	v.z.Enable()
	if err != nil {
		v.msg.SetText(a.t("report.failed", errDetail(a.lang, err)))
		return
	}
	switch {
	case res.Printed:
		v.msg.SetText(a.t("report.printed"))
	case res.PrintErr != nil:
		v.msg.SetText(a.t("report.print_failed", errDetail(a.lang, res.PrintErr)))
	default:
		v.msg.SetText(a.t("report.no_printer"))
	}
	v.report.SetText(reportText(a, res))
}

// reportText is the report on screen, one line per campaign and a total.
func reportText(a *App, res ReportResult) string {
	r := res.Report
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	if r.Z {
		line(a.t("report.z_head", r.Number, r.Manager))
	} else {
		line(a.t("report.x_head"))
	}
	line(a.t("report.at", r.At.Local().Format("2006-01-02 15:04:05")))
	if r.Since.IsZero() {
		line(a.t("report.since_start"))
	} else {
		line(a.t("report.since", r.Since.Local().Format("2006-01-02 15:04:05")))
	}
	if r.To < r.From {
		line(a.t("report.empty"))
	} else {
		line(a.t("report.events", r.From, r.To))
	}
	line("")
	for _, l := range r.Lines {
		name := res.Names[l.Campaign]
		switch {
		case l.Campaign == "":
			name = a.t("report.no_campaign")
		case name == "":
			name = l.Campaign
		}
		line(name)
		line("    " + totalLine(a, l))
	}
	sum := r.Sum()
	total := terminal.CampaignTotal{Redemptions: sum.Redemptions, Uses: sum.Uses, Value: sum.Value, Offline: sum.Offline,
		Voids: sum.Voids, VoidedUses: sum.VoidedUses, VoidedValue: sum.VoidedValue, Refused: sum.Refused}
	line(a.t("report.total"))
	line("    " + totalLine(a, total))
	return strings.TrimRight(b.String(), "\n")
}

func totalLine(a *App, l terminal.CampaignTotal) string {
	return a.t("report.line", l.Redemptions, l.Uses, money(l.Value), l.Offline, l.Voids, l.VoidedUses,
		money(l.VoidedValue), l.Refused, money(l.Net()))
}
