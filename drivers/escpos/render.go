// Package escpos renders receipts for ESC/POS printers — the redemption
// slip, the X report and the numbered Z report, in English or in Chinese
// (GB18030) with a QR code — and prints them on a serial printer (with its
// status read by DLE EOT before and after) or a device file. It also drives
// a CD5220 two-line customer display.
//
// Rendering is pure: values in, bytes out. Text given to it never reaches
// the printer as commands: control characters are removed first. It must
// never decide anything about a redemption.
package escpos

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ESC/POS command bytes.
var (
	cmdInit        = []byte{0x1b, '@'}
	cmdChineseOn   = []byte{0x1c, '&'} // FS &: two-byte (GB18030) characters
	cmdChineseOff  = []byte{0x1c, '.'} // FS .: single-byte characters
	cmdAlignLeft   = []byte{0x1b, 'a', 0}
	cmdAlignCenter = []byte{0x1b, 'a', 1}
	cmdBoldOn      = []byte{0x1b, 'E', 1}
	cmdBoldOff     = []byte{0x1b, 'E', 0}
	cmdDouble      = []byte{0x1d, '!', 0x11}
	cmdNormal      = []byte{0x1d, '!', 0x00}
	cmdCut         = []byte{0x1d, 'V', 66, 0} // feed to the cutter, partial cut
)

// Layout is the paper width.
type Layout struct {
	Columns int // 48 (80 mm paper, the default) or 32 (58 mm)
}

func (l Layout) cols() int {
	if l.Columns <= 0 {
		return 48
	}
	return max(l.Columns, 16)
}

// Slip is a redemption slip's content.
type Slip struct {
	Lang                   string // "zh-CN" or "en"
	Store, StoreName       string
	Terminal, Cashier      string
	At                     time.Time
	Location               *time.Location
	Campaign, CampaignName string
	Code                   string // the code id (never a card secret)
	Accepted               bool
	Reason                 string // reason code
	ReasonText             string // localised
	Mode                   string // online or offline
	Uses                   int
	UsesLeft               int // -1: unknown, not printed
	Amount                 int64
	EventID                string
	Reprint                bool
}

// ReportLine is one campaign's totals.
type ReportLine struct {
	Campaign, CampaignName string
	Redemptions, Uses      int
	Value                  int64
	Voids, VoidedUses      int
	VoidedValue            int64
	Offline, Refused       int
}

// Report is an X report (Z false) or a numbered Z report.
type Report struct {
	Lang                                string
	Z                                   bool
	Number                              int
	Store, StoreName, Terminal, Manager string
	From, To                            time.Time // From zero: since the first event
	Location                            *time.Location
	Lines                               []ReportLine
	PrintedAt                           time.Time
}

var labels = map[string][2]string{ // en, zh-CN
	"slip":        {"REDEMPTION SLIP", "核销凭证"},
	"refusal":     {"NOT REDEEMED", "未核销"},
	"reprint":     {"*** REPRINT ***", "*** 重打 ***"},
	"terminal":    {"Terminal", "终端"},
	"cashier":     {"Cashier", "收银员"},
	"time":        {"Time", "时间"},
	"campaign":    {"Campaign", "活动"},
	"code":        {"Code", "券码"},
	"uses":        {"Uses", "次数"},
	"left":        {"Uses left", "剩余次数"},
	"amount":      {"Amount", "金额"},
	"mode":        {"Mode", "方式"},
	"online":      {"online", "在线"},
	"offline":     {"offline", "离线"},
	"verdict":     {"Result", "结果"},
	"accepted":    {"ACCEPTED", "核销成功"},
	"event":       {"Event", "流水号"},
	"x":           {"X REPORT", "X 报表"},
	"z":           {"Z REPORT", "Z 报表"},
	"store":       {"Store", "门店"},
	"from":        {"From", "自"},
	"to":          {"To", "至"},
	"start":       {"(first use)", "（首次使用）"},
	"printed":     {"Printed", "打印时间"},
	"manager":     {"Manager", "店长"},
	"redemptions": {"Redeemed", "核销"},
	"value":       {"Value", "金额"},
	"voids":       {"Voided", "撤销"},
	"refused":     {"Refused", "拒绝"},
	"totals":      {"TOTAL", "合计"},
	"net":         {"Net value", "净额"},
	"none":        {"No redemptions.", "无核销记录。"},
	"nocampaign":  {"(no campaign)", "（无活动）"},
}

func label(lang, key string) string {
	l := labels[key]
	if lang == "zh-CN" {
		return l[1]
	}
	return l[0]
}

// doc builds one document.
type doc struct {
	b    bytes.Buffer
	zh   bool
	cols int
	enc  *encoding.Encoder
}

func newDoc(lang string, l Layout) *doc {
	d := &doc{zh: lang == "zh-CN", cols: l.cols()}
	d.b.Write(cmdInit)
	if d.zh {
		d.enc = encoding.ReplaceUnsupported(simplifiedchinese.GB18030.NewEncoder())
		d.b.Write(cmdChineseOn)
	} else {
		d.b.Write(cmdChineseOff)
	}
	return d
}

// text writes s encoded for the printer: GB18030 in Chinese mode, else
// ASCII with anything else as '?'.
func (d *doc) text(s string) {
	s = clean(s)
	if d.zh {
		out, err := d.enc.String(s)
		if err == nil {
			d.b.WriteString(out)
			return
		}
	}
	for _, r := range s {
		if r > 0x7e {
			r = '?'
		}
		d.b.WriteRune(r)
	}
}

func (d *doc) cmd(c ...[]byte) {
	for _, b := range c {
		d.b.Write(b)
	}
}

func (d *doc) line(s string) { d.text(fit(s, d.cols)); d.b.WriteByte('\n') }

// pair writes a label on the left and a value on the right of one line;
// a value too long for the line goes on the next, right-aligned.
func (d *doc) pair(l, v string) {
	l, v = clean(l), clean(v)
	lw, vw := width(l), width(v)
	if lw+1+vw <= d.cols {
		d.line(l + strings.Repeat(" ", d.cols-lw-vw) + v)
		return
	}
	d.line(l)
	v = fit(v, d.cols)
	d.line(strings.Repeat(" ", d.cols-width(v)) + v)
}

func (d *doc) rule(c string) { d.line(strings.Repeat(c, d.cols)) }

func (d *doc) center(on bool) {
	if on {
		d.cmd(cmdAlignCenter)
	} else {
		d.cmd(cmdAlignLeft)
	}
}

// qr prints data as a QR code: model 2, module size 6, error correction M.
func (d *doc) qr(data string) {
	data = clean(data)
	if data == "" || len(data) > 700 {
		return
	}
	n := len(data) + 3
	d.cmd([]byte{0x1d, '(', 'k', 4, 0, '1', 'A', '2', 0},
		[]byte{0x1d, '(', 'k', 3, 0, '1', 'C', 6},
		[]byte{0x1d, '(', 'k', 3, 0, '1', 'E', '1'},
		[]byte{0x1d, '(', 'k', byte(n), byte(n >> 8), '1', 'P', '0'})
	d.b.WriteString(data)
	d.cmd([]byte{0x1d, '(', 'k', 3, 0, '1', 'Q', '0'})
	d.b.WriteByte('\n')
}

func (d *doc) end() []byte {
	d.cmd([]byte{0x1b, 'd', 3}, cmdCut)
	return d.b.Bytes()
}

// clean drops control characters, so no text becomes a printer command.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// runeWidth is the columns a character takes: 2 for East Asian wide and
// full-width characters, else 1.
func runeWidth(r rune) int {
	switch {
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf, r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6, r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// fit cuts s to at most cols columns.
func fit(s string, cols int) string {
	n := 0
	for i, r := range s {
		if n+runeWidth(r) > cols {
			return s[:i]
		}
		n += runeWidth(r)
	}
	return s
}

// Wrap splits text into lines of at most cols columns (exported for
// callers that show the same text on screen).
func Wrap(s string, cols int) []string {
	s = clean(s)
	var out []string
	for s != "" {
		l := fit(s, max(cols, 2))
		if l == "" { // a wide character in a 1-column width
			_, size := utf8.DecodeRuneInString(s)
			l = s[:size]
		}
		out = append(out, l)
		s = s[len(l):]
	}
	return out
}

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

func when(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// RenderSlip renders a redemption slip (or, when not Accepted, a refusal).
func RenderSlip(s Slip, l Layout) ([]byte, error) {
	d := newDoc(s.Lang, l)
	lang := s.Lang
	d.center(true)
	d.cmd(cmdDouble)
	name := s.StoreName
	if name == "" {
		name = s.Store
	}
	d.line(fit(name, d.cols/2))
	d.cmd(cmdNormal, cmdBoldOn)
	if s.Accepted {
		d.line(label(lang, "slip"))
	} else {
		d.line(label(lang, "refusal"))
	}
	d.cmd(cmdBoldOff)
	if s.Reprint {
		d.line(label(lang, "reprint"))
	}
	d.center(false)
	d.rule("-")
	d.pair(label(lang, "terminal"), s.Terminal)
	if s.Cashier != "" {
		d.pair(label(lang, "cashier"), s.Cashier)
	}
	d.pair(label(lang, "time"), when(s.At, s.Location))
	camp := s.CampaignName
	if camp == "" {
		camp = s.Campaign
	}
	if camp != "" {
		d.pair(label(lang, "campaign"), camp)
	}
	if s.Code != "" {
		d.pair(label(lang, "code"), s.Code)
	}
	if s.Accepted {
		d.pair(label(lang, "uses"), fmt.Sprint(s.Uses))
		if s.UsesLeft >= 0 {
			d.pair(label(lang, "left"), fmt.Sprint(s.UsesLeft))
		}
		d.pair(label(lang, "amount"), yuan(s.Amount))
	}
	if s.Mode == "online" || s.Mode == "offline" {
		d.pair(label(lang, "mode"), label(lang, s.Mode))
	}
	d.rule("-")
	d.cmd(cmdBoldOn)
	verdict := label(lang, "accepted")
	if !s.Accepted {
		verdict = s.ReasonText
		if verdict == "" {
			verdict = s.Reason
		}
	}
	d.pair(label(lang, "verdict"), verdict)
	d.cmd(cmdBoldOff)
	if s.EventID != "" {
		d.pair(label(lang, "event"), s.EventID)
		d.center(true)
		d.qr(s.EventID)
		d.center(false)
	}
	return d.end(), nil
}

// RenderReport renders an X or a Z report.
func RenderReport(r Report, l Layout) ([]byte, error) {
	if r.Z && r.Number < 1 {
		return nil, fmt.Errorf("a Z report needs its number")
	}
	d := newDoc(r.Lang, l)
	lang := r.Lang
	d.center(true)
	d.cmd(cmdDouble)
	if r.Z {
		d.line(fit(fmt.Sprintf("%s #%d", label(lang, "z"), r.Number), d.cols/2))
	} else {
		d.line(fit(label(lang, "x"), d.cols/2))
	}
	d.cmd(cmdNormal)
	d.center(false)
	d.rule("=")
	name := r.StoreName
	if name == "" {
		name = r.Store
	}
	d.pair(label(lang, "store"), name)
	d.pair(label(lang, "terminal"), r.Terminal)
	from := label(lang, "start")
	if !r.From.IsZero() {
		from = when(r.From, r.Location)
	}
	d.pair(label(lang, "from"), from)
	d.pair(label(lang, "to"), when(r.To, r.Location))
	if r.Manager != "" {
		d.pair(label(lang, "manager"), r.Manager)
	}
	d.rule("-")
	var sum ReportLine
	if len(r.Lines) == 0 {
		d.line(label(lang, "none"))
	}
	for _, ln := range r.Lines {
		name := ln.CampaignName
		switch {
		case name == "" && ln.Campaign == "":
			name = label(lang, "nocampaign")
		case name == "":
			name = ln.Campaign
		case ln.Campaign != "":
			name += " (" + ln.Campaign + ")"
		}
		d.cmd(cmdBoldOn)
		d.line(name)
		d.cmd(cmdBoldOff)
		d.lines(lang, ln)
		sum.Redemptions += ln.Redemptions
		sum.Uses += ln.Uses
		sum.Value += ln.Value
		sum.Voids += ln.Voids
		sum.VoidedUses += ln.VoidedUses
		sum.VoidedValue += ln.VoidedValue
		sum.Offline += ln.Offline
		sum.Refused += ln.Refused
	}
	d.rule("=")
	d.cmd(cmdBoldOn)
	d.line(label(lang, "totals"))
	d.cmd(cmdBoldOff)
	d.lines(lang, sum)
	d.cmd(cmdBoldOn)
	d.pair(label(lang, "net"), yuan(sum.Value-sum.VoidedValue))
	d.cmd(cmdBoldOff)
	d.rule("-")
	d.pair(label(lang, "printed"), when(r.PrintedAt, r.Location))
	return d.end(), nil
}

func (d *doc) lines(lang string, ln ReportLine) {
	d.pair("  "+label(lang, "redemptions"), fmt.Sprintf("%d x %d  %s", ln.Redemptions, ln.Uses, yuan(ln.Value)))
	d.pair("  "+label(lang, "voids"), fmt.Sprintf("%d x %d  %s", ln.Voids, ln.VoidedUses, yuan(ln.VoidedValue)))
	d.pair("  "+label(lang, "offline"), fmt.Sprint(ln.Offline))
	d.pair("  "+label(lang, "refused"), fmt.Sprint(ln.Refused))
}
