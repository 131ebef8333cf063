package ui

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// askVoid asks for the uses to void (multi-use codes) and the reason, then
// voids the selected redemption as the unlocked manager.
func (v *logTab) askVoid() {
	a := v.a
	a.touch()
	r, ok := v.selected()
	if !ok || !r.Voidable || a.manager == nil {
		return
	}
	left := r.Event.Uses - r.Voided
	reason := widget.NewEntry()
	reason.SetPlaceHolder(a.t("void.reason_hint"))
	uses := widget.NewEntry()
	uses.SetText(strconv.Itoa(left))
	confirm := widget.NewButton(a.t("void.confirm"), nil)
	confirm.Importance = widget.DangerImportance
	hint := widget.NewLabel("")
	check := func() (int, string, bool) {
		n, err := parseUses(uses.Text, left)
		note := strings.TrimSpace(reason.Text)
		switch {
		case err != nil:
			hint.SetText(a.t("void.uses_range", left))
		case note == "":
			hint.SetText(a.t("void.reason_needed"))
		default:
			hint.SetText("")
			confirm.Enable()
			return n, note, true
		}
		confirm.Disable()
		return 0, "", false
	}
	form := widget.NewForm()
	if left > 1 {
		form.Append(a.t("void.uses", left), uses)
	}
	form.Append(a.t("void.reason"), reason)
	title := a.t("void.title", r.Event.Code, r.Campaign, money(r.Event.Amount))
	cancel := widget.NewButton(a.t("void.cancel"), nil)
	d := dialog.NewCustomWithoutButtons(title, container.NewVBox(form, hint, container.NewGridWithColumns(2, cancel, confirm)), a.w)
	submit := func() {
		a.touch()
		n, note, ok := check()
		if !ok {
			return
		}
		d.Hide()
		v.doVoid(r, n, note)
	}
	confirm.OnTapped = submit
	cancel.OnTapped = func() { a.touch(); d.Hide() }
	reason.OnChanged = func(string) { a.touch(); check() }
	uses.OnChanged = func(string) { a.touch(); check() }
	reason.OnSubmitted = func(string) { submit() }
	uses.OnSubmitted = func(string) { a.w.Canvas().Focus(reason) }
	check()
	d.Show()
	if left > 1 {
		a.w.Canvas().Focus(uses)
	} else {
		a.w.Canvas().Focus(reason)
	}
}

// parseUses reads a number of uses 1..left.
func parseUses(s string, left int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > left {
		return 0, errors.New("uses out of range")
	}
	return n, nil
}

// doVoid voids uses of r on the worker and shows the outcome.
func (v *logTab) doVoid(r LogRow, uses int, note string) {
	a := v.a
	if a.manager == nil || a.screen != screenManager {
		return // locked while the dialog was open
	}
	req := terminal.VoidRequest{Seq: r.Event.Seq, Uses: uses, Manager: a.manager.ID, Note: note}
	day := v.day
	v.msg.SetText(a.t("void.working"))
	a.run(func(ctx context.Context) {
		d, err := a.b.Void(ctx, req)
		a.do(func() {
			if err != nil {
				v.msg.SetText(a.t("void.refused", voidErrText(a.lang, err)))
				a.log.Info("void refused", "seq", req.Seq, "manager", req.Manager, "err", err)
			} else {
				v.msg.SetText(a.t("void.done", d.Uses, r.Event.Code, money(d.Amount)))
				a.log.Info("voided", "seq", req.Seq, "uses", d.Uses, "manager", req.Manager)
			}
			v.reloadKeepMsg(day)
		})
	})
}

// voidErrText says why a void was refused: a *terminal.VoidError's code in
// words in Chinese (its message is English), its message in English.
func voidErrText(lang protocol.Lang, err error) string {
	var ve *terminal.VoidError
	if errors.As(err, &ve) {
		if lang == protocol.LangZH {
			if t, ok := catalogue["void.err."+ve.Code]; ok {
				return t.zh
			}
		}
		return ve.Message
	}
	return errDetail(lang, err)
}
