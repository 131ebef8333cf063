package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
)

// statusBar is always at the bottom of the window: online or offline, the
// outbox, the offline time left, the store and terminal, who is signed in.
type statusBar struct {
	a   *App
	obj *fyne.Container

	dot                                   *canvas.Circle
	mode, outbox, left, where, who, print *widget.Label
}

func newStatusBar(a *App) *statusBar {
	b := &statusBar{a: a, dot: canvas.NewCircle(colorMuted)}
	l := func() *widget.Label { return widget.NewLabel("") }
	b.mode, b.outbox, b.left, b.where, b.who, b.print = l(), l(), l(), l(), l(), l()
	b.mode.TextStyle.Bold = true
	dot := container.NewGridWrap(fyne.NewSize(16, 16), b.dot)
	b.obj = container.NewHBox(container.NewCenter(dot), b.mode, b.outbox, b.left, b.print,
		layout.NewSpacer(), b.where, b.who)
	return b
}

// set shows st.
func (b *statusBar) set(st Status) {
	a := b.a
	var mode string
	switch {
	case st.Revoked != "":
		mode, b.dot.FillColor = a.t("status.revoked"), colorRejected
	case st.Online:
		mode, b.dot.FillColor = a.t("status.online"), colorAccepted
	case st.Forced:
		mode, b.dot.FillColor = a.t("status.forced"), colorAttention
	case !st.Linked:
		mode, b.dot.FillColor = a.t("status.unlinked"), colorAttention
	default:
		mode, b.dot.FillColor = a.t("status.offline"), colorAttention
	}
	b.dot.Refresh()
	b.mode.SetText(mode)
	b.outbox.SetText(a.t("status.outbox", st.Outbox))
	if st.Online {
		b.left.SetText("")
	} else {
		b.left.SetText(offlineLeft(a.lang, st))
	}
	b.print.SetText("")
	if st.Printer != nil {
		b.print.SetText(a.t("status.printer", st.Printer.In(a.lang)))
	}
	if st.Unprinted > 0 {
		b.print.SetText(b.print.Text + " " + a.t("status.unprinted", st.Unprinted))
	}
	store := st.StoreName
	if store == "" {
		store = st.Store
	}
	b.where.SetText(a.t("status.where", store, st.Terminal))
	who := a.t("status.nobody")
	if a.cashier != nil {
		who = a.t("status.cashier", a.cashier.Name, a.cashier.ID)
	}
	if a.manager != nil && a.screen == screenManager {
		who += " · " + a.t("status.manager", a.manager.Name)
	}
	b.who.SetText(who)
}

// offlineLeft says how long offline redemption may go on.
func offlineLeft(lang protocol.Lang, st Status) string {
	switch {
	case !st.OfflineCap:
		return tr(lang, "status.left_nocap")
	case st.OfflineLeft <= 0:
		return tr(lang, "status.left_none")
	}
	return tr(lang, "status.left", duration(lang, st.OfflineLeft))
}

// duration says d in hours and minutes (or minutes and seconds).
func duration(lang protocol.Lang, d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return tr(lang, "dur.hm", h, m)
	case m > 0:
		return tr(lang, "dur.ms", m, s)
	}
	return tr(lang, "dur.s", s)
}

// ago says how long ago t was, or "never".
func ago(lang protocol.Lang, now, t time.Time) string {
	if t.IsZero() {
		return tr(lang, "dur.never")
	}
	return tr(lang, "dur.ago", duration(lang, now.Sub(t)))
}
