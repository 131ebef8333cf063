package escpos

import (
	"errors"
	"strconv"
	"time"
)

// Slip is a redemption slip's content.
type Slip struct {
	Lang                   string // "zh-CN" or "en"
	Store, StoreName       string
	Terminal, Cashier      string
	At                     time.Time
	Location               *time.Location // the store's zone; nil: UTC
	Campaign, CampaignName string
	Code                   string // masked by the caller, or the code's id: never a secret
	Accepted               bool
	Reason                 string // reason code
	ReasonText             string // already localised
	Mode                   string // online or offline
	Uses                   int
	UsesLeft               int   // -1: unknown, not printed
	Amount                 int64 // fen
	EventID                string
	Reprint                bool
}

// ReportLine is one campaign's totals.
type ReportLine struct {
	Campaign, CampaignName string
	Redemptions, Uses      int
	Value                  int64 // fen
	Voids, VoidedUses      int
	VoidedValue            int64 // fen
	Offline, Refused       int
}

// Report is an X report (Z false, not numbered) or a numbered Z report.
type Report struct {
	Lang                                string
	Z                                   bool
	Number                              int
	Store, StoreName, Terminal, Manager string
	From, To                            time.Time // From zero: since the first use
	Location                            *time.Location
	Lines                               []ReportLine
	PrintedAt                           time.Time
}

// labels holds every fixed text: en, zh-CN.
var labels = map[string][2]string{
	"slip":        {"REDEMPTION SLIP", "核销凭证"},
	"refusal":     {"NOT REDEEMED", "未核销"},
	"reprint":     {"*** REPRINT ***", "*** 重打 ***"},
	"store":       {"Store", "门店"},
	"terminal":    {"Terminal", "终端"},
	"cashier":     {"Cashier", "收银员"},
	"time":        {"Time", "时间"},
	"campaign":    {"Campaign", "活动"},
	"code":        {"Code", "券码"},
	"uses":        {"Uses", "本次次数"},
	"left":        {"Uses left", "剩余次数"},
	"amount":      {"Amount (CNY)", "金额（元）"},
	"mode":        {"Mode", "方式"},
	"online":      {"online", "在线"},
	"offline":     {"offline", "离线"},
	"verdict":     {"Result", "结果"},
	"accepted":    {"ACCEPTED", "核销成功"},
	"reason":      {"Reason", "原因"},
	"event":       {"Event", "流水号"},
	"x":           {"X REPORT", "X 报表"},
	"z":           {"Z REPORT", "Z 报表"},
	"znumber":     {"Z number", "Z 序号"},
	"from":        {"From", "起"},
	"to":          {"To", "止"},
	"start":       {"first use", "首次使用"},
	"printed":     {"Printed", "打印时间"},
	"manager":     {"Manager", "店长"},
	"count":       {"Count", "笔数"},
	"usescol":     {"Uses", "次数"},
	"value":       {"Value", "金额"},
	"redemptions": {"Redeemed", "核销"},
	"voids":       {"Voided", "撤销"},
	"refused":     {"Refused", "拒绝"},
	"offlines":    {"Offline", "离线"},
	"totals":      {"TOTAL", "合计"},
	"net":         {"Net value (CNY)", "净额（元）"},
	"none":        {"No redemptions.", "无核销记录。"},
	"nocampaign":  {"(no campaign)", "（无活动）"},
}

func label(lang, key string) string {
	if lang == "zh-CN" {
		return labels[key][1]
	}
	return labels[key][0]
}

// yuan formats fen as yuan: 3500 → "35.00".
func yuan(fen int64) string {
	var b []byte
	u := uint64(fen)
	if fen < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	b = append(b, '.', byte('0'+u%100/10), byte('0'+u%10))
	return string(b)
}

func when(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// RenderSlip renders a redemption slip or, when not Accepted, a refusal
// slip (no uses or amount, the reason instead).
func RenderSlip(s Slip, l Layout) ([]byte, error) {
	d := newDoc(s.Lang, l, s.Store, s.StoreName, s.Terminal, s.Cashier, s.Campaign, s.CampaignName, s.Code,
		s.Reason, s.ReasonText, s.EventID)
	lang := s.Lang
	d.heading(or(s.StoreName, s.Store))
	d.center(true)
	d.cmd(cmdBoldOn)
	if s.Accepted {
		d.line(label(lang, "slip"))
	} else {
		d.line(label(lang, "refusal"))
	}
	if s.Reprint {
		d.line(label(lang, "reprint"))
	}
	d.cmd(cmdBoldOff)
	d.center(false)
	d.rule('-')
	if s.Store != "" {
		d.pair(label(lang, "store"), s.Store)
	}
	d.pair(label(lang, "terminal"), s.Terminal)
	if s.Cashier != "" {
		d.pair(label(lang, "cashier"), s.Cashier)
	}
	d.pair(label(lang, "time"), when(s.At, s.Location))
	if camp := or(s.CampaignName, s.Campaign); camp != "" {
		d.pair(label(lang, "campaign"), camp)
	}
	if s.Code != "" {
		d.pair(label(lang, "code"), s.Code)
	}
	if s.Accepted {
		d.pair(label(lang, "uses"), strconv.Itoa(s.Uses))
		if s.UsesLeft >= 0 {
			d.pair(label(lang, "left"), strconv.Itoa(s.UsesLeft))
		}
		d.pair(label(lang, "amount"), yuan(s.Amount))
	}
	if s.Mode == "online" || s.Mode == "offline" {
		d.pair(label(lang, "mode"), label(lang, s.Mode))
	}
	d.rule('-')
	d.cmd(cmdBoldOn)
	if s.Accepted {
		d.pair(label(lang, "verdict"), label(lang, "accepted"))
	} else {
		d.pair(label(lang, "verdict"), or(s.ReasonText, s.Reason))
	}
	d.cmd(cmdBoldOff)
	if !s.Accepted && s.Reason != "" && s.ReasonText != "" {
		d.pair(label(lang, "reason"), s.Reason)
	}
	if s.EventID != "" {
		d.pair(label(lang, "event"), s.EventID)
		d.qr(s.EventID)
	}
	return d.end(), nil
}

// ErrNoNumber is returned for a Z report without its number.
var ErrNoNumber = errors.New("a Z report needs its number (1 or more)")

// RenderReport renders an X report or a numbered Z report: the period,
// one block per campaign (redemptions, uses, value; voids, voided uses,
// voided value; offline; refused), the totals and the net value.
func RenderReport(r Report, l Layout) ([]byte, error) {
	if r.Z && r.Number < 1 {
		return nil, ErrNoNumber
	}
	text := []string{r.Store, r.StoreName, r.Terminal, r.Manager}
	for _, ln := range r.Lines {
		text = append(text, ln.Campaign, ln.CampaignName)
	}
	d := newDoc(r.Lang, l, text...)
	lang := r.Lang
	if r.Z {
		d.heading(label(lang, "z") + " #" + strconv.Itoa(r.Number))
	} else {
		d.heading(label(lang, "x"))
	}
	d.rule('=')
	if r.Z {
		d.cmd(cmdBoldOn)
		d.pair(label(lang, "znumber"), strconv.Itoa(r.Number))
		d.cmd(cmdBoldOff)
	}
	d.pair(label(lang, "store"), or(r.StoreName, r.Store))
	if r.StoreName != "" && r.Store != "" {
		d.pair("", r.Store)
	}
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
	d.rule('-')

	var sum ReportLine
	for _, ln := range r.Lines {
		sum.Redemptions += ln.Redemptions
		sum.Uses += ln.Uses
		sum.Value += ln.Value
		sum.Voids += ln.Voids
		sum.VoidedUses += ln.VoidedUses
		sum.VoidedValue += ln.VoidedValue
		sum.Offline += ln.Offline
		sum.Refused += ln.Refused
	}
	t := newTable(d, lang, append(r.Lines, sum))
	if len(r.Lines) == 0 {
		d.line(label(lang, "none"))
	} else {
		t.header()
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
		t.block(ln)
	}
	d.rule('=')
	d.cmd(cmdBoldOn)
	d.line(label(lang, "totals"))
	d.cmd(cmdBoldOff)
	t.block(sum)
	d.rule('-')
	d.cmd(cmdBoldOn)
	d.pair(label(lang, "net"), yuan(sum.Value-sum.VoidedValue))
	d.cmd(cmdBoldOff)
	d.rule('-')
	d.pair(label(lang, "printed"), when(r.PrintedAt, r.Location))
	return d.end(), nil
}

// table lays report figures out in columns (label, count, uses, value)
// sized for the widest figure, or, when they do not fit the paper, one
// figure a line.
type table struct {
	d      *doc
	lang   string
	widths []int // nil: one figure a line
}

func newTable(d *doc, lang string, lines []ReportLine) *table {
	t := &table{d: d, lang: lang}
	w := []int{0, 0, 0, 0}
	grow := func(cells ...string) {
		for i, c := range cells {
			w[i] = max(w[i], width(prep(c, d.zh)))
		}
	}
	grow(label(lang, "redemptions"), label(lang, "count"), label(lang, "usescol"), label(lang, "value"))
	grow("  "+label(lang, "voids"), "", "", "")
	grow("  "+label(lang, "redemptions"), "", "", "")
	for _, ln := range lines {
		grow("", strconv.Itoa(ln.Redemptions), strconv.Itoa(ln.Uses), yuan(ln.Value))
		grow("", strconv.Itoa(ln.Voids), strconv.Itoa(ln.VoidedUses), "-"+yuan(ln.VoidedValue))
	}
	if total := w[0] + 1 + w[1] + 1 + w[2] + 1 + w[3]; total <= d.cols {
		w[0] += d.cols - total // the label column takes the slack
		t.widths = w
	}
	return t
}

func (t *table) header() {
	if t.widths != nil {
		t.d.row(t.widths, "", label(t.lang, "count"), label(t.lang, "usescol"), label(t.lang, "value"))
	}
}

func (t *table) block(ln ReportLine) {
	d, lang := t.d, t.lang
	voided := yuan(-ln.VoidedValue)
	if t.widths != nil {
		d.row(t.widths, "  "+label(lang, "redemptions"), strconv.Itoa(ln.Redemptions), strconv.Itoa(ln.Uses), yuan(ln.Value))
		d.row(t.widths, "  "+label(lang, "voids"), strconv.Itoa(ln.Voids), strconv.Itoa(ln.VoidedUses), voided)
	} else {
		d.pair("  "+label(lang, "redemptions"), strconv.Itoa(ln.Redemptions))
		d.pair("  "+label(lang, "usescol"), strconv.Itoa(ln.Uses))
		d.pair("  "+label(lang, "value"), yuan(ln.Value))
		d.pair("  "+label(lang, "voids"), strconv.Itoa(ln.Voids))
		d.pair("  "+label(lang, "voids")+" "+label(lang, "usescol"), strconv.Itoa(ln.VoidedUses))
		d.pair("  "+label(lang, "voids")+" "+label(lang, "value"), voided)
	}
	d.pair("  "+label(lang, "offlines"), strconv.Itoa(ln.Offline))
	d.pair("  "+label(lang, "refused"), strconv.Itoa(ln.Refused))
}
