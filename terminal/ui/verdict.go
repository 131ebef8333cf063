package ui

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// VerdictKind is the colour of a verdict.
type VerdictKind int

// The three verdict colours.
const (
	VerdictAccepted  VerdictKind = iota + 1 // green: serve the customer
	VerdictRejected                         // red: do not serve
	VerdictAttention                        // amber: look, nothing was redeemed
)

func (k VerdictKind) String() string {
	switch k {
	case VerdictAccepted:
		return "accepted"
	case VerdictRejected:
		return "rejected"
	case VerdictAttention:
		return "attention"
	}
	return "none"
}

func (k VerdictKind) sound() Sound {
	switch k {
	case VerdictAccepted:
		return SoundAccepted
	case VerdictRejected:
		return SoundRejected
	}
	return SoundAttention
}

// The verdict colours, readable from two metres: white on deep green and
// red, black on amber.
var (
	colorAccepted  = color.NRGBA{R: 0x1b, G: 0x7a, B: 0x34, A: 0xff}
	colorRejected  = color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
	colorAttention = color.NRGBA{R: 0xf9, G: 0xa8, B: 0x25, A: 0xff}
	colorInk       = color.NRGBA{R: 0x11, G: 0x11, B: 0x11, A: 0xff}
	colorPaper     = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	colorPrompt    = color.NRGBA{R: 0x22, G: 0x55, B: 0x99, A: 0xff}
	colorMuted     = color.NRGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xff}
)

// centred is a line of big text, centred: the screens' titles, prompts
// and verdicts.
func centred(s string, c color.Color, size float32, bold bool) *canvas.Text {
	t := canvas.NewText(s, c)
	t.TextSize, t.TextStyle.Bold, t.Alignment = size, bold, fyne.TextAlignCenter
	return t
}

// Verdict is what the scan screen shows after an input: the lines in the
// window's language.
type Verdict struct {
	Kind     VerdictKind
	Reason   protocol.Reason // the decision's reason ("" for attention)
	Headline string          // ACCEPTED, NOT ACCEPTED, CHECK
	// Reason text, then the campaign, the value, the uses, the mode.
	Why, Campaign, Value, Uses, Mode, Detail string
	Decision                                 *terminal.Decision // nil for attention
}

// decisionVerdict describes d in lang.
func decisionVerdict(lang protocol.Lang, d terminal.Decision) Verdict {
	v := Verdict{Reason: d.Reason, Decision: &d, Why: d.Reason.Text(lang)}
	if d.Campaign.Name != "" {
		v.Campaign = d.Campaign.Name
	}
	v.Mode = tr(lang, "mode."+string(d.Mode))
	switch {
	case d.Accepted():
		v.Kind, v.Why = VerdictAccepted, "" // the headline says it
		v.Headline = tr(lang, "verdict.accepted")
		v.Value = money(d.Amount)
		v.Uses = tr(lang, "verdict.uses", d.Uses, d.UsesLeft)
		if d.Replayed {
			v.Detail = tr(lang, "verdict.replayed")
		}
	case d.Reason == protocol.CannotRecord:
		v.Kind = VerdictRejected
		v.Headline = tr(lang, "verdict.do_not_serve")
	default:
		v.Kind = VerdictRejected
		v.Headline = tr(lang, "verdict.rejected")
		if d.Campaign.ID != "" && d.Reason == protocol.UsedUp {
			v.Uses = tr(lang, "verdict.uses_left", d.UsesLeft)
		}
	}
	return v
}

// verdictView fills the scan screen with a verdict.
type verdictView struct {
	obj                                                            *fyne.Container
	bg                                                             *canvas.Rectangle
	headline, reason, reason2, campaign, value, uses, mode, detail *canvas.Text
	kind                                                           VerdictKind
}

func newVerdictView() *verdictView {
	v := &verdictView{bg: canvas.NewRectangle(colorAccepted)}
	text := func(size float32, bold bool) *canvas.Text { return centred("", colorPaper, size, bold) }
	v.headline, v.reason, v.reason2 = text(72, true), text(36, true), text(36, true)
	v.campaign, v.value, v.uses = text(32, false), text(48, true), text(30, false)
	v.mode, v.detail = text(22, false), text(22, false)
	v.obj = container.NewStack(v.bg, container.NewVBox(layout.NewSpacer(),
		v.headline, v.reason, v.reason2, v.campaign, v.value, v.uses, v.mode, v.detail, layout.NewSpacer()))
	v.obj.Hide()
	return v
}

func (v *verdictView) set(vd Verdict) {
	v.kind = vd.Kind
	bg, ink := colorAccepted, color.Color(colorPaper)
	switch vd.Kind {
	case VerdictRejected:
		bg = colorRejected
	case VerdictAttention:
		bg, ink = colorAttention, colorInk
	}
	v.bg.FillColor = bg
	why, why2 := split2(vd.Why, maxLine)
	for t, s := range map[*canvas.Text]string{v.headline: vd.Headline, v.reason: why, v.reason2: why2, v.campaign: vd.Campaign,
		v.value: vd.Value, v.uses: vd.Uses, v.mode: vd.Mode, v.detail: vd.Detail} {
		t.Text, t.Color = clip(s, maxLine), ink
	}
	v.obj.Show()
	v.obj.Refresh()
}

func (v *verdictView) hide() {
	v.kind = 0
	v.obj.Hide()
}

func (v *verdictView) shown() bool { return v.obj.Visible() }

// maxLine bounds a line of big text, in characters, so a long name never
// widens the window past the screen.
const maxLine = 40

// clip shortens s to n characters, ending it with "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// split2 breaks s into two lines of at most n characters, at a space
// when there is one, the second clipped.
func split2(s string, n int) (string, string) {
	r := []rune(s)
	if len(r) <= n {
		return s, ""
	}
	cut := n
	for i := n; i > n/2; i-- {
		if r[i] == ' ' {
			cut = i
			break
		}
	}
	return string(r[:cut]), clip(strings.TrimSpace(string(r[cut:])), n)
}

// tail keeps the last n characters of s, starting it with "…".
func tail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}
