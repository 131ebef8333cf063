package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/drivers/scanner"
)

// unlockView signs a cashier in, or unlocks the manager tools: a badge
// scan, or a staff number and a PIN, all from the keyboard.
type unlockView struct {
	a       *App
	obj     fyne.CanvasObject
	manager bool // unlocking the manager tools: only a manager will do

	title, prompt, echoText, errText *canvas.Text

	id   string // the staff number typed; "" while asking for it
	busy bool
}

func newUnlockView(a *App, manager bool) *unlockView {
	v := &unlockView{a: a, manager: manager}
	text := func(size float32, bold bool) *canvas.Text { return centred("", colorPrompt, size, bold) }
	v.title, v.prompt, v.echoText, v.errText = text(40, true), text(28, false), text(36, false), text(26, true)
	v.errText.Color = colorRejected
	v.echoText.TextStyle.Monospace = true
	if manager {
		v.title.Text = a.t("unlock.title")
	} else {
		v.title.Text = a.t("signin.title")
	}
	hints := widget.NewLabel(a.t("unlock.hints"))
	hints.Alignment = fyne.TextAlignCenter
	v.obj = container.NewBorder(nil, hints, nil, nil,
		container.NewVBox(layout.NewSpacer(), v.title, v.prompt, v.echoText, v.errText, layout.NewSpacer()))
	v.ask()
	return v
}

// ask shows the prompt of the current stage.
func (v *unlockView) ask() {
	if v.id == "" {
		v.prompt.Text = v.a.t("unlock.ask_id")
	} else {
		v.prompt.Text = v.a.t("unlock.ask_pin", v.id)
	}
	v.echoText.Text = ""
	v.prompt.Refresh()
	v.echoText.Refresh()
}

func (v *unlockView) fail(msg string) {
	v.errText.Text = msg
	v.errText.Refresh()
}

func (v *unlockView) echo(pending string) {
	if v.id != "" {
		pending = strings.Repeat("●", len([]rune(pending)))
	}
	v.echoText.Text = tail(pending, maxLine)
	v.echoText.Refresh()
}

func (v *unlockView) escape() {
	if v.id != "" {
		v.id = ""
		v.ask()
		return
	}
	if v.manager {
		v.a.lockManager()
	}
}

func (v *unlockView) input(r scanner.Result, _ time.Time) {
	if v.busy {
		return
	}
	text := r.Text
	switch r.Kind {
	case scanner.Scan, scanner.Repeat:
		v.check("", "", text)
		return
	case scanner.Typed:
	case scanner.Rejected:
		// A staff number or PIN may be shorter than a code.
		if !errors.Is(r.Err, scanner.ErrTooShort) || text == "" {
			v.fail(v.a.t("unlock.unreadable"))
			return
		}
	}
	if v.id == "" {
		v.id = text
		v.fail("")
		v.ask()
		return
	}
	v.check(v.id, text, "")
}

// check asks the backend, on the worker.
func (v *unlockView) check(id, pin, badge string) {
	a := v.a
	v.busy = true
	v.fail("")
	v.prompt.Text = a.t("unlock.checking")
	v.prompt.Refresh()
	a.run(func(ctx context.Context) {
		var s Staff
		var err error
		if badge != "" {
			s, err = a.b.Badge(ctx, badge)
		} else {
			s, err = a.b.SignIn(ctx, id, pin)
		}
		a.do(func() {
			v.busy = false
			v.id = ""
			v.ask()
			switch {
			case err != nil:
				v.fail(errText(a.lang, err, "unlock.wrong"))
			case v.manager && !s.Manager:
				v.fail(a.t("unlock.not_manager", s.Name))
			case v.manager:
				a.unlocked(s)
			default:
				a.signedIn(s)
			}
		})
	})
}
