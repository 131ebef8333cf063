package escpos

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	shanghai = time.FixedZone("CST", 8*3600)
	at       = time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC) // 10:30 in Shanghai
)

// slip is a 次卡 (multi-use card) redemption: 3 uses taken, 7 left.
func slip(lang string) Slip {
	return Slip{Lang: lang, Store: "sh-001", StoreName: "静安寺店", Terminal: "T-SH001-1", Cashier: "c-07", At: at, Location: shanghai,
		Campaign: "meal-10x", CampaignName: "午餐次卡", Code: "S00000000002", Accepted: true, Reason: "accepted", Mode: "offline",
		Uses: 3, UsesLeft: 7, Amount: 10500, EventID: "T-SH001-1:42"}
}

// single is a one-use voucher redeemed online, in English.
func single() Slip {
	return Slip{Lang: "en", Store: "sh-001", StoreName: "Jing'an Temple", Terminal: "T-SH001-1", Cashier: "c-07", At: at, Location: shanghai,
		Campaign: "coffee", CampaignName: "Free coffee", Code: "C00000000017", Accepted: true, Reason: "accepted", Mode: "online",
		Uses: 1, UsesLeft: -1, Amount: 3500, EventID: "T-SH001-1:43"}
}

func report(lang string) Report {
	return Report{Lang: lang, Z: true, Number: 12, Store: "sh-001", StoreName: "静安寺店", Terminal: "T-SH001-1", Manager: "m-1",
		From: at.Add(-10 * time.Hour), To: at, Location: shanghai, PrintedAt: at.Add(time.Minute), Lines: []ReportLine{
			{Campaign: "coffee", CampaignName: "Free coffee", Redemptions: 40, Uses: 40, Value: 140000, Voids: 2, VoidedUses: 2, VoidedValue: 7000, Offline: 3, Refused: 5},
			{Campaign: "meal-10x", CampaignName: "午餐次卡", Redemptions: 7, Uses: 12, Value: 42000, Voids: 1, VoidedUses: 3, VoidedValue: 10500, Offline: 1},
			{Refused: 4},
		}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %d bytes, differ from the golden's %d:\ngot  %q\nwant %q", name, len(got), len(want), got, want)
	}
}

// parsed is a document read back the way a printer reads it.
type parsed struct {
	text    string   // the printed text, decoded to UTF-8
	cmds    []string // the commands, in order, as "ESC @", "GS ( k 1P", …
	qr      []string // the data of each QR code stored
	chinese bool     // FS & was sent
}

// parse reads a document: the commands this package sends and text. An
// unknown control byte fails the test: no stray command reaches a printer.
func parse(t *testing.T, doc []byte) parsed {
	t.Helper()
	var p parsed
	var text []byte
	for i := 0; i < len(doc); {
		c := doc[i]
		need := func(n int) []byte {
			if i+n > len(doc) {
				t.Fatalf("command at %d cut short: % x", i, doc[i:])
			}
			return doc[i : i+n]
		}
		switch {
		case c == 0x1b:
			b := need(2)
			switch b[1] {
			case '@':
				p.cmds, i = append(p.cmds, "ESC @"), i+2
			case 'a', 'E', 'd':
				b = need(3)
				p.cmds, i = append(p.cmds, fmt.Sprintf("ESC %c %d", b[1], b[2])), i+3
			default:
				t.Fatalf("unknown ESC %q at %d", b[1], i)
			}
		case c == 0x1c:
			b := need(2)
			switch b[1] {
			case '&':
				p.chinese = true
			case '.':
				p.chinese = false
			default:
				t.Fatalf("unknown FS %q at %d", b[1], i)
			}
			p.cmds, i = append(p.cmds, "FS "+string(b[1])), i+2
		case c == 0x1d:
			b := need(2)
			switch b[1] {
			case '!':
				b = need(3)
				p.cmds, i = append(p.cmds, fmt.Sprintf("GS ! %#x", b[2])), i+3
			case 'V':
				b = need(4)
				p.cmds, i = append(p.cmds, fmt.Sprintf("GS V %d %d", b[2], b[3])), i+4
			case '(':
				b = need(5)
				n := int(b[3]) | int(b[4])<<8
				b = need(5 + n)
				fn := string(b[5:7])
				if fn == "1P" {
					p.qr = append(p.qr, string(b[8:]))
				}
				p.cmds, i = append(p.cmds, "GS ( k "+fn), i+5+n
			default:
				t.Fatalf("unknown GS %q at %d", b[1], i)
			}
		case c == '\n' || c >= 0x20:
			text, i = append(text, c), i+1
		default:
			t.Fatalf("stray control byte %#x at %d", c, i)
		}
	}
	if !p.chinese && bytes.ContainsFunc(text, func(r rune) bool { return r >= 0x80 }) {
		t.Errorf("an English document has non-ASCII bytes")
	}
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(text)
	if err != nil {
		t.Fatal(err)
	}
	p.text = string(s)
	return p
}

func TestDocuments(t *testing.T) {
	reprint := slip("zh-CN")
	reprint.Reprint, reprint.UsesLeft = true, -1
	refused := single()
	refused.Accepted, refused.Reason, refused.ReasonText = false, "used_up", "Already used up"
	refusedZh := slip("zh-CN")
	refusedZh.Accepted, refusedZh.Reason, refusedZh.ReasonText = false, "used_up", "券码已用完"
	x := report("en")
	x.Z, x.Number, x.From, x.StoreName = false, 0, time.Time{}, "Jing'an Temple"
	xZh := report("zh-CN")
	xZh.Z, xZh.Number, xZh.From = false, 0, time.Time{}
	zEn := report("en")
	for _, tc := range []struct {
		golden string
		doc    func() ([]byte, error)
		cols   int
		zh     bool     // Chinese mode: FS & right after ESC @
		has    []string // text the document must print
		not    []string // text it must not
	}{
		{"slip_zh.bin", func() ([]byte, error) { return RenderSlip(slip("zh-CN"), Layout{}) }, 48, true,
			[]string{"静安寺店", "核销凭证", "午餐次卡", "本次次数", "剩余次数", "105.00", "离线", "核销成功", "T-SH001-1:42", "2026-11-23 10:30:00", "sh-001", "c-07", "S00000000002"},
			[]string{"重打"}},
		{"slip_zh_32.bin", func() ([]byte, error) { return RenderSlip(slip("zh-CN"), Layout{Columns: 32}) }, 32, true,
			[]string{"午餐次卡", "剩余次数", "105.00"}, nil},
		{"slip_en.bin", func() ([]byte, error) { return RenderSlip(single(), Layout{}) }, 48, false,
			[]string{"Jing'an Temple", "REDEMPTION SLIP", "Free coffee", "35.00", "online", "ACCEPTED", "2026-11-23 10:30:00"},
			[]string{"Uses left", "REPRINT"}},
		{"slip_en_32.bin", func() ([]byte, error) { return RenderSlip(single(), Layout{Columns: 32}) }, 32, false,
			[]string{"Free coffee", "35.00"}, nil},
		// English labels, Chinese names: Chinese mode, so the names print.
		{"slip_zh_en.bin", func() ([]byte, error) { return RenderSlip(slip("en"), Layout{}) }, 48, true,
			[]string{"静安寺店", "午餐次卡", "Uses left", "7", "105.00", "offline", "ACCEPTED"}, []string{"?"}},
		// A printer with no Chinese font: '?' for each Chinese character.
		{"slip_zh_en_ascii.bin", func() ([]byte, error) { return RenderSlip(slip("en"), Layout{ASCII: true}) }, 48, false,
			[]string{"????", "Uses left", "105.00"}, []string{"静安寺店"}},
		{"slip_reprint.bin", func() ([]byte, error) { return RenderSlip(reprint, Layout{}) }, 48, true,
			[]string{"*** 重打 ***"}, []string{"剩余次数"}},
		{"slip_refused.bin", func() ([]byte, error) { return RenderSlip(refused, Layout{}) }, 48, false,
			[]string{"NOT REDEEMED", "Already used up", "used_up"}, []string{"Amount", "ACCEPTED"}},
		{"slip_refused_zh_32.bin", func() ([]byte, error) { return RenderSlip(refusedZh, Layout{Columns: 32}) }, 32, true,
			[]string{"未核销", "券码已用完", "used_up"}, []string{"金额", "核销成功"}},
		{"report_x.bin", func() ([]byte, error) { return RenderReport(x, Layout{}) }, 48, true,
			[]string{"X REPORT", "first use", "Free coffee (coffee)", "午餐次卡 (meal-10x)", "(no campaign)", "Net value (CNY)", "1645.00"}, []string{"Z number"}},
		{"report_x_zh_32.bin", func() ([]byte, error) { return RenderReport(xZh, Layout{Columns: 32}) }, 32, true,
			[]string{"X 报表", "首次使用", "净额（元）", "1645.00"}, []string{"Z 序号", "#"}},
		{"report_z_zh.bin", func() ([]byte, error) { return RenderReport(report("zh-CN"), Layout{}) }, 48, true,
			[]string{"Z 报表 #12", "午餐次卡 (meal-10x)", "合计", "净额（元）", "1645.00", "-70.00", "-105.00", "2026-11-23 00:30:00"}, nil},
		{"report_z_zh_32.bin", func() ([]byte, error) { return RenderReport(report("zh-CN"), Layout{Columns: 32}) }, 32, true,
			[]string{"Z 报表", "#12", "1645.00"}, nil},
		{"report_z_en_ascii.bin", func() ([]byte, error) { return RenderReport(zEn, Layout{ASCII: true}) }, 48, false,
			[]string{"Z REPORT #12", "Z number", "???? (meal-10x)", "TOTAL", "1645.00"}, nil},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			doc, err := tc.doc()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, doc)
			checkNoRealTime(t, doc)
			p := parse(t, doc)
			for _, s := range tc.has {
				if !strings.Contains(p.text, s) {
					t.Errorf("the document does not print %q:\n%s", s, p.text)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(p.text, s) {
					t.Errorf("the document prints %q:\n%s", s, p.text)
				}
			}
			for _, l := range strings.Split(p.text, "\n") {
				if w := width(l); w > tc.cols {
					t.Errorf("line %q is %d columns wide, more than %d", l, w, tc.cols)
				}
			}
			mode := cmdChineseOff
			if tc.zh {
				mode = cmdChineseOn
			}
			if p.chinese != tc.zh || !bytes.HasPrefix(doc, append(append([]byte(nil), cmdInit...), mode...)) {
				t.Errorf("Chinese mode %v, want %v (FS & or FS . right after ESC @): % x", p.chinese, tc.zh, doc[:4])
			}
			if p.cmds[0] != "ESC @" || p.cmds[len(p.cmds)-1] != "GS V 66 0" {
				t.Errorf("commands %q: want ESC @ first and the cut last", p.cmds)
			}
		})
	}
}

// TestSlipText spells two slips out in full, as they come off the paper.
func TestSlipText(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Slip
		l    Layout
		want string
	}{
		{"en 32", single(), Layout{Columns: 32}, "" +
			"Jing'an Temple\n" +
			"REDEMPTION SLIP\n" +
			"--------------------------------\n" +
			"Store                     sh-001\n" +
			"Terminal               T-SH001-1\n" +
			"Cashier                     c-07\n" +
			"Time         2026-11-23 10:30:00\n" +
			"Campaign             Free coffee\n" +
			"Code                C00000000017\n" +
			"Uses                           1\n" +
			"Amount (CNY)               35.00\n" +
			"Mode                      online\n" +
			"--------------------------------\n" +
			"Result                  ACCEPTED\n" +
			"Event               T-SH001-1:43\n" +
			"\n"},
		{"zh 32", slip("zh-CN"), Layout{Columns: 32}, "" +
			"静安寺店\n" +
			"核销凭证\n" +
			"--------------------------------\n" +
			"门店                      sh-001\n" +
			"终端                   T-SH001-1\n" +
			"收银员                      c-07\n" +
			"时间         2026-11-23 10:30:00\n" +
			"活动                    午餐次卡\n" +
			"券码                S00000000002\n" +
			"本次次数                       3\n" +
			"剩余次数                       7\n" +
			"金额（元）                105.00\n" +
			"方式                        离线\n" +
			"--------------------------------\n" +
			"结果                    核销成功\n" +
			"流水号              T-SH001-1:42\n" +
			"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := RenderSlip(tc.s, tc.l)
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, doc)
			if p.text != tc.want {
				t.Errorf("got\n%s\nwant\n%s", p.text, tc.want)
			}
			if len(p.qr) != 1 || p.qr[0] != tc.s.EventID {
				t.Errorf("QR codes %q, want the event id %q", p.qr, tc.s.EventID)
			}
			wantQR := []string{"GS ( k 1A", "GS ( k 1C", "GS ( k 1E", "GS ( k 1P", "GS ( k 1Q"}
			if got := strings.Join(p.cmds, ","); !strings.Contains(got, strings.Join(wantQR, ",")) {
				t.Errorf("commands %s: want the QR sequence %s", got, wantQR)
			}
		})
	}
}

func TestRenderEdges(t *testing.T) {
	if _, err := RenderReport(Report{Z: true}, Layout{}); err == nil {
		t.Error("a Z report without a number rendered")
	}
	// Text never smuggles printer commands in.
	evil := single()
	evil.Cashier = "c\x1bd\x10\x04x\u2028"
	evil.CampaignName = "bad \xff utf-8"
	doc, _ := RenderSlip(evil, Layout{})
	p := parse(t, doc) // fails on a stray control byte
	if !strings.Contains(p.text, "cdx") || !strings.Contains(p.text, "bad ? utf-8") {
		t.Errorf("fields printed as:\n%s", p.text)
	}
	// A long value wraps under its label instead of being cut.
	long := slip("zh-CN")
	long.CampaignName = strings.Repeat("超长的活动名称", 6)
	doc, _ = RenderSlip(long, Layout{Columns: 32})
	p = parse(t, doc)
	if got := strings.ReplaceAll(strings.ReplaceAll(p.text, "\n", ""), " ", ""); !strings.Contains(got, long.CampaignName) {
		t.Errorf("the long campaign name is not all printed:\n%s", p.text)
	}
	// Reports at a width the figures do not fit fall back to one per line.
	r := report("en")
	r.Lines[0].Value = 1 << 50
	doc, _ = RenderReport(r, Layout{Columns: 16})
	for _, l := range strings.Split(parse(t, doc).text, "\n") {
		if width(l) > 16 {
			t.Errorf("line %q wider than 16", l)
		}
	}
	for fen, want := range map[int64]string{0: "0.00", 5: "0.05", 3500: "35.00", -10500: "-105.00", -1 << 63: "-92233720368547758.08"} {
		if got := yuan(fen); got != want {
			t.Errorf("yuan(%d) = %s, want %s", fen, got, want)
		}
	}
}

// realTime are the real-time commands a printer obeys wherever they
// appear in its input, even inside text or another command's parameters.
var realTime = [][]byte{{0x10, 0x04}, {0x10, 0x05}, {0x10, 0x14}}

func checkNoRealTime(t *testing.T, doc []byte) {
	t.Helper()
	for _, rt := range realTime {
		if i := bytes.Index(doc, rt); i >= 0 {
			t.Fatalf("the document holds the real-time command % x at %d", rt, i)
		}
	}
}

// FuzzLayout: any text, at any width, lays out in lines that fit, loses
// nothing but spaces at line breaks, encodes to GB18030 that decodes back
// to it (a character GB18030 could not encode would be a '?', never
// dropped), and never smuggles a command in.
func FuzzLayout(f *testing.F) {
	f.Add("午餐次卡 lunch card with a very long name that never fits", 32)
	f.Add("\x1b@evil\x00\xff\x10\x04\x01", 48)
	f.Add("a b  c   d", 1)
	f.Add("😀 emoji 𠀀 ext-B \ufffd \u00e9\u0301 \u200b zero width", 20)
	f.Fuzz(func(t *testing.T, s string, cols int) {
		cols = MinColumns + int(uint(cols)%64)
		for _, chinese := range []bool{true, false} {
			lines := Wrap(s, chinese, cols)
			for _, l := range lines {
				if width(l) > cols {
					t.Fatalf("line %q is %d columns, more than %d", l, width(l), cols)
				}
			}
			want := strings.ReplaceAll(prep(s, chinese), " ", "")
			if got := strings.ReplaceAll(strings.Join(lines, ""), " ", ""); got != want {
				t.Fatalf("Wrap(%q) = %q: lost text, want %q without spaces", s, lines, want)
			}
			if !chinese {
				continue
			}
			d := newDoc("zh-CN", Layout{})
			head := d.b.Len()
			text := prep(s, true)
			d.write(text)
			back, err := simplifiedchinese.GB18030.NewDecoder().Bytes(d.b.Bytes()[head:])
			if err != nil {
				t.Fatalf("GB18030 of %q does not decode: %v", text, err)
			}
			if got := []rune(string(back)); len(got) != utf8.RuneCountInString(text) {
				t.Fatalf("GB18030 of %q decodes to %q: characters lost", text, back)
			} else {
				for i, r := range []rune(text) {
					if got[i] != r && got[i] != '?' {
						t.Fatalf("GB18030 of %q decodes to %q: %q became %q", text, back, r, got[i])
					}
				}
			}
		}
		for _, lang := range []string{"zh-CN", "en"} {
			for _, l := range []Layout{{Columns: cols}, {Columns: cols, ASCII: true}} {
				sl := slip(lang)
				sl.StoreName, sl.CampaignName, sl.Cashier, sl.ReasonText, sl.EventID = s, s, s, s, s
				doc, _ := RenderSlip(sl, l)
				sl.Accepted = false
				doc2, _ := RenderSlip(sl, l)
				r := report(lang)
				r.Lines[0].CampaignName, r.Manager = s, s
				doc3, _ := RenderReport(r, l)
				for _, d := range [][]byte{doc, doc2, doc3} {
					checkNoRealTime(t, d)
					p := parse(t, d)
					for _, line := range strings.Split(p.text, "\n") {
						if width(line) > cols {
							t.Fatalf("line %q is %d columns, more than %d", line, width(line), cols)
						}
					}
				}
			}
		}
	})
}

func TestQRModule(t *testing.T) {
	for _, tc := range []struct {
		n, cols int
		want    byte
	}{
		{12, 48, 6}, {12, 32, 6}, {14, 16, 6}, // version 1: 29 modules with the quiet zone
		{700, 48, 5}, {700, 32, 3}, {700, 16, 0}, // version 21: 109 modules
		{2331, 48, 3}, {2332, 48, 0}, {1, 0, 0},
	} {
		if got := qrModule(tc.n, tc.cols); got != tc.want {
			t.Errorf("qrModule(%d, %d) = %d, want %d", tc.n, tc.cols, got, tc.want)
		}
	}
	// A long event id on 58 mm paper: smaller modules, still printed.
	s := single()
	s.EventID = strings.Repeat("e", 600)
	doc, _ := RenderSlip(s, Layout{Columns: 32})
	if !bytes.Contains(doc, []byte{0x1d, '(', 'k', 3, 0, '1', 'C', 3}) || len(parse(t, doc).qr) != 1 {
		t.Errorf("a 600-byte QR on 58 mm paper is not printed at module size 3")
	}
}

func BenchmarkRenderSlip(b *testing.B) {
	s := slip("zh-CN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderSlip(s, Layout{}); err != nil {
			b.Fatal(err)
		}
	}
}
