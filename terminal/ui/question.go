package ui

import (
	"context"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"

	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/terminal"
)

// questionView asks before a commit: how many uses of a multi-use (次卡)
// code, and a confirmation when the campaign asks for one. While it is
// open the keys are its own: digits, Up/Down, Backspace, Enter, Esc.
type questionView struct {
	a   *App
	obj *fyne.Container

	title, detail, uses, hint *canvas.Text

	in    terminal.Input
	p     terminal.Preview
	id    int
	typed string // digits typed so far
	n     int    // uses to take
	max   int
	on    bool
}

func newQuestionView(a *App) *questionView {
	q := &questionView{a: a}
	text := func(size float32, bold bool) *canvas.Text { return centred("", colorInk, size, bold) }
	q.title, q.detail, q.uses, q.hint = text(40, true), text(28, false), text(56, true), text(22, false)
	q.obj = container.NewStack(canvas.NewRectangle(colorPaper),
		container.NewVBox(layout.NewSpacer(), q.title, q.detail, q.uses, q.hint, layout.NewSpacer()))
	q.obj.Hide()
	return q
}

func (q *questionView) open() bool { return q.on }

// ask shows the question for p.
func (q *questionView) ask(in terminal.Input, p terminal.Preview, id int) {
	a := q.a
	q.in, q.p, q.id, q.on, q.typed = in, p, id, true, ""
	q.max = max(p.Code.UsesLeft, 1)
	q.n = 1
	q.title.Text = clip(p.Campaign.Name, maxLine)
	q.detail.Text = a.t("question.detail", money(p.Campaign.FaceValue), p.Code.UsesLeft)
	if multiUse(p) {
		q.hint.Text = a.t("question.uses_hint", q.max)
	} else {
		q.hint.Text = a.t("question.confirm_hint")
	}
	q.render()
	q.obj.Show()
	a.scan.hideVerdict()
}

func (q *questionView) render() {
	a := q.a
	if multiUse(q.p) {
		q.uses.Text = a.t("question.uses", q.n, money(int64(q.n)*q.p.Campaign.FaceValue))
	} else {
		q.uses.Text = a.t("question.confirm", money(q.p.Campaign.FaceValue))
	}
	q.obj.Refresh()
}

func (q *questionView) close() {
	q.on = false
	q.obj.Hide()
}

// key takes one key while the question is open.
func (q *questionView) key(k scanner.Key) {
	multi := multiUse(q.p)
	switch {
	case k.Name == scanner.KeyEnter:
		q.confirm(k)
		return
	case k.Name == scanner.KeyBackspace && multi:
		if len(q.typed) > 0 {
			q.typed = q.typed[:len(q.typed)-1]
		}
	case k.Name == scanner.KeyRune && multi && k.Rune >= '0' && k.Rune <= '9':
		q.typed += string(k.Rune)
	case k.Name == scanner.KeyRune && multi && (k.Rune == '+' || k.Rune == '='):
		q.n, q.typed = min(q.n+1, q.max), ""
		q.render()
		return
	case k.Name == scanner.KeyRune && multi && k.Rune == '-':
		q.n, q.typed = max(q.n-1, 1), ""
		q.render()
		return
	default:
		return
	}
	if len(q.typed) > 4 {
		q.typed = q.typed[len(q.typed)-4:]
	}
	n, err := strconv.Atoi(q.typed)
	switch {
	case q.typed == "":
		q.n = 1
	case err != nil || n < 1:
		q.n = 1
	default:
		q.n = min(n, q.max)
		if n > q.max {
			q.typed = strconv.Itoa(q.max)
		}
	}
	q.render()
}

// confirm commits with the uses chosen.
func (q *questionView) confirm(k scanner.Key) {
	a, in, id := q.a, q.in, q.id
	in.Uses = q.n
	q.close()
	a.scan.setBusy(a.t("scan.checking"))
	a.run(func(ctx context.Context) { a.scan.commit(ctx, in, id, k.At) })
}
