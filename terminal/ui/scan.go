package ui

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// scanView is the cashier's screen: a prompt that always takes the keys,
// the offline banner, and the verdict that fills the window.
type scanView struct {
	a   *App
	obj fyne.CanvasObject

	banner     *fyne.Container
	bannerText *canvas.Text
	bannerHelp *canvas.Text
	prompt     *canvas.Text
	echoText   *canvas.Text
	busyText   *canvas.Text
	verdict    *verdictView
	question   *questionView

	shownUntil time.Time // the verdict's hold; zero: none shown
	seq        int       // the latest submission; older answers are stale
}

func newScanView(a *App) *scanView {
	v := &scanView{a: a}
	v.bannerText = canvas.NewText("", colorInk)
	v.bannerText.TextSize = 22
	v.bannerText.TextStyle.Bold = true
	v.bannerHelp = canvas.NewText("", colorInk)
	v.bannerHelp.TextSize = 16
	v.banner = container.NewStack(canvas.NewRectangle(colorAttention), container.NewPadded(container.NewVBox(v.bannerText, v.bannerHelp)))
	v.banner.Hide()
	v.prompt = centred(a.t("scan.prompt"), colorPrompt, 44, true)
	v.echoText = centred("", colorPrompt, 32, false)
	v.echoText.TextStyle.Monospace = true
	v.busyText = centred("", colorMuted, 24, false)
	hints := widget.NewLabel(a.t("scan.hints"))
	hints.Alignment = fyne.TextAlignCenter
	hints.Wrapping = fyne.TextWrapWord
	main := container.NewBorder(v.banner, hints, nil, nil,
		container.NewVBox(layout.NewSpacer(), v.prompt, v.echoText, v.busyText, layout.NewSpacer()))
	v.verdict = newVerdictView()
	v.question = newQuestionView(a)
	v.obj = container.NewStack(main, v.verdict.obj, v.question.obj)
	return v
}

// setStatus shows or hides the offline banner, and once the decisions a
// crash interrupted.
func (v *scanView) setStatus(st Status) {
	a := v.a
	if len(st.Interrupted) > 0 && !a.toldInterrupted {
		a.toldInterrupted = true
		v.attention(a.t("scan.interrupted_crash", len(st.Interrupted)), strings.Join(maskAll(st.Interrupted), "  "))
	}
	left := offlineLeft(a.lang, st)
	switch {
	case st.Revoked != "":
		v.bannerText.Text, v.bannerHelp.Text = a.t("banner.revoked"), clip(st.Revoked, 2*maxLine)
	case st.Forced:
		v.bannerText.Text, v.bannerHelp.Text = a.t("banner.forced", left), a.t("banner.offline_help")
	case !st.Online && st.Linked:
		v.bannerText.Text, v.bannerHelp.Text = a.t("banner.offline", left), a.t("banner.offline_help")
	case !st.Linked && st.Terminal != "":
		v.bannerText.Text, v.bannerHelp.Text = a.t("banner.unlinked", left), a.t("banner.unlinked_help")
	default:
		v.banner.Hide()
		return
	}
	v.bannerText.Refresh()
	v.bannerHelp.Refresh()
	v.banner.Show()
}

// echo shows a person's typing as it goes.
func (v *scanView) echo(pending string) {
	if pending != "" && v.verdict.shown() {
		v.hideVerdict()
	}
	pending = tail(pending, maxLine)
	if v.echoText.Text != pending {
		v.echoText.Text = pending
		v.echoText.Refresh()
	}
}

func (v *scanView) escape() {
	if v.question.open() {
		v.question.close()
		v.attention(v.a.t("question.cancelled"), "")
		return
	}
	v.hideVerdict()
}

// input handles one finished input from the wedge (or a paste).
func (v *scanView) input(r scanner.Result, ended time.Time) {
	a := v.a
	switch r.Kind {
	case scanner.Scan:
		if r.Warning != "" {
			a.log.Warn("scanner keyboard layout", "warning", r.Warning)
		}
		v.submit(r.Text, protocol.EntryScanned, ended)
	case scanner.Typed:
		v.submit(r.Text, protocol.EntryKeyed, ended)
	case scanner.Repeat:
		v.attention(a.t("scan.repeat"), "")
	case scanner.Rejected:
		switch {
		case errors.Is(r.Err, scanner.ErrInterrupted):
			v.attention(a.t("scan.interrupted"), r.Text)
		case errors.Is(r.Err, scanner.ErrTooShort):
			v.attention(a.t("scan.too_short"), r.Text)
		default:
			v.attention(a.t("scan.unreadable"), "")
		}
	}
}

// submit decides text: Prepare, a question when the campaign wants one,
// then Commit, all on the worker; the verdict comes back to the UI.
func (v *scanView) submit(text string, entry protocol.Entry, ended time.Time) {
	a := v.a
	v.question.close()
	v.seq++
	id := v.seq
	in := terminal.Input{Text: text, Entry: entry}
	if a.cashier != nil {
		in.Cashier = a.cashier.ID
	}
	v.setBusy(a.t("scan.checking"))
	a.run(func(ctx context.Context) {
		p, err := a.b.Prepare(ctx, in)
		if err == nil && p.Reason == protocol.Accepted && asks(p) {
			a.do(func() {
				if id == v.seq {
					v.setBusy("")
					v.question.ask(in, p, id)
				}
			})
			return
		}
		v.commit(ctx, in, id, ended)
	})
}

// commit runs on the worker.
func (v *scanView) commit(ctx context.Context, in terminal.Input, id int, ended time.Time) {
	d := v.a.b.Commit(ctx, in)
	v.a.do(func() { v.decided(d, id, ended) })
}

// asks reports whether the cashier must answer before the commit: how
// many uses of a multi-use code, or a confirmation the campaign asks for.
func asks(p terminal.Preview) bool {
	return p.Campaign.Confirm || multiUse(p)
}

// multiUse reports whether the cashier chooses how many uses to take: a
// 次卡 with more than one use left.
func multiUse(p terminal.Preview) bool { return p.Campaign.Uses > 1 && p.Code.UsesLeft > 1 }

func (v *scanView) decided(d terminal.Decision, id int, ended time.Time) {
	if id == v.seq {
		v.setBusy("")
	}
	v.show(decisionVerdict(v.a.lang, d), ended)
}

// show puts a verdict on screen, plays its sound and starts its hold.
func (v *scanView) show(vd Verdict, ended time.Time) {
	a := v.a
	v.verdict.set(vd)
	hold := holdAttention
	switch vd.Kind {
	case VerdictAccepted:
		hold = holdAccepted
	case VerdictRejected:
		hold = holdRejected
	}
	v.shownUntil = a.now().Add(hold)
	if a.opt.Sound != nil && a.settings.Sound {
		a.opt.Sound.Play(vd.Kind.sound())
	}
	if a.opt.OnVerdict != nil {
		a.opt.OnVerdict(vd, a.now().Sub(ended))
	}
}

// attention shows an amber verdict that is not about a code's redemption.
func (v *scanView) attention(headline, detail string) {
	v.show(Verdict{Kind: VerdictAttention, Headline: v.a.t("verdict.attention"), Why: headline, Detail: detail}, v.a.now())
}

func (v *scanView) hideVerdict() {
	v.shownUntil = time.Time{}
	v.verdict.hide()
}

func (v *scanView) tick(now time.Time) {
	if !v.shownUntil.IsZero() && !now.Before(v.shownUntil) {
		v.hideVerdict()
	}
}

func (v *scanView) setBusy(s string) {
	if v.busyText.Text != s {
		v.busyText.Text = s
		v.busyText.Refresh()
	}
}

// image decodes a picture on the worker and submits the code it holds.
func (v *scanView) image(data []byte, at time.Time) {
	a := v.a
	if a.opt.Decode == nil {
		v.attention(a.t("image.unsupported"), "")
		return
	}
	v.setBusy(a.t("image.reading"))
	a.run(func(context.Context) {
		codes, err := a.opt.Decode(data)
		a.do(func() {
			v.setBusy("")
			switch {
			case err != nil:
				v.attention(a.t("image.no_code"), "")
			case len(codes) == 0:
				v.attention(a.t("image.no_code"), "")
			case len(codes) > 1:
				v.attention(a.t("image.several", len(codes)), strings.Join(maskAll(codes), "  "))
			default:
				v.submit(codes[0], protocol.EntryImage, at)
			}
		})
	})
}

// maskAll shortens codes for an on-screen list.
func maskAll(codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		if len(c) > 16 {
			c = c[:12] + "…"
		}
		out[i] = c
	}
	return out
}

// money formats fen as yuan.
func money(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + "¥" + strconv.FormatInt(fen/100, 10) + "." + twoDigits(fen%100)
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
