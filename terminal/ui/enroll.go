package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// enrollView is a new terminal's first screen: scan the enrollment QR code
// HQ shows (or type or paste its link) to pair with the hub.
type enrollView struct {
	obj   fyne.CanvasObject
	focus fyne.Focusable
}

func newEnrollView(a *App) *enrollView {
	title := centred(a.t("enroll.title"), colorPrompt, 40, true)
	help := widget.NewLabel(a.t("enroll.help"))
	help.Wrapping = fyne.TextWrapWord
	help.Alignment = fyne.TextAlignCenter
	msg := widget.NewLabel("")
	msg.Wrapping = fyne.TextWrapWord
	msg.Importance = widget.DangerImportance
	entry := widget.NewEntry()
	entry.SetPlaceHolder(a.t("enroll.placeholder"))
	entry.Password = true // the token is a credential
	var submit func()
	button := widget.NewButton(a.t("enroll.button"), func() { submit() })
	submit = func() {
		link := strings.TrimSpace(entry.Text)
		if link == "" {
			msg.SetText(a.t("enroll.empty"))
			return
		}
		entry.Disable()
		button.Disable()
		msg.Importance = widget.MediumImportance
		msg.SetText(a.t("enroll.working"))
		a.run(func(ctx context.Context) {
			err := a.b.Enroll(ctx, link)
			a.do(func() {
				entry.Enable()
				button.Enable()
				if err != nil {
					msg.Importance = widget.DangerImportance
					msg.SetText(errText(a.lang, err, "enroll.failed") + "\n" + err.Error())
					entry.SetText("")
					a.w.Canvas().Focus(entry)
					return
				}
				a.enrolled = true
				a.rebuild()
			})
		})
	}
	entry.OnSubmitted = func(string) { submit() }
	lang := widget.NewButton(a.t("lang.switch"), func() { a.SetLang(otherLang(a.lang)) })
	box := container.NewVBox(layout.NewSpacer(), title, help, entry, button, msg, layout.NewSpacer(), container.NewCenter(lang))
	return &enrollView{obj: container.NewPadded(box), focus: entry}
}

// setupView makes the first store manager of a terminal with no staff.
type setupView struct {
	obj   fyne.CanvasObject
	focus fyne.Focusable
}

func newSetupView(a *App) *setupView {
	title := centred(a.t("setup.title"), colorPrompt, 36, true)
	help := widget.NewLabel(a.t("setup.help"))
	help.Wrapping = fyne.TextWrapWord
	id, name, pin, again := widget.NewEntry(), widget.NewEntry(), widget.NewPasswordEntry(), widget.NewPasswordEntry()
	msg := widget.NewLabel("")
	msg.Importance = widget.DangerImportance
	msg.Wrapping = fyne.TextWrapWord
	submit := func() {
		switch {
		case strings.TrimSpace(id.Text) == "" || strings.TrimSpace(name.Text) == "":
			msg.SetText(a.t("setup.missing"))
			return
		case pin.Text != again.Text:
			msg.SetText(a.t("setup.mismatch"))
			return
		}
		s := Staff{ID: strings.TrimSpace(id.Text), Name: strings.TrimSpace(name.Text), Manager: true}
		p := pin.Text
		a.run(func(ctx context.Context) {
			err := a.b.AddStaff(ctx, s, p)
			a.do(func() {
				if err != nil {
					msg.SetText(errText(a.lang, err, "setup.failed"))
					return
				}
				a.signedIn(s)
			})
		})
	}
	again.OnSubmitted = func(string) { submit() }
	form := widget.NewForm(
		widget.NewFormItem(a.t("setup.id"), id),
		widget.NewFormItem(a.t("setup.name"), name),
		widget.NewFormItem(a.t("setup.pin"), pin),
		widget.NewFormItem(a.t("setup.again"), again),
	)
	form.SubmitText = a.t("setup.submit")
	form.OnSubmit = submit
	return &setupView{obj: container.NewPadded(container.NewVBox(title, help, form, msg)), focus: id}
}
