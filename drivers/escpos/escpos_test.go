package escpos

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	shanghai = time.FixedZone("CST", 8*3600)
	at       = time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC)
)

func slip(lang string) Slip {
	return Slip{Lang: lang, Store: "sh-001", StoreName: "静安寺店", Terminal: "T-SH001-1", Cashier: "c-07", At: at, Location: shanghai,
		Campaign: "meal-10x", CampaignName: "午餐次卡", Code: "S00000000002", Accepted: true, Reason: "accepted", Mode: "offline",
		Uses: 3, UsesLeft: 7, Amount: 10500, EventID: "T-SH001-1:42"}
}

func report(lang string) Report {
	return Report{Lang: lang, Z: true, Number: 12, Store: "sh-001", StoreName: "Jing'an", Terminal: "T-SH001-1", Manager: "m-1",
		From: at.Add(-10 * time.Hour), To: at, Location: shanghai, PrintedAt: at, Lines: []ReportLine{
			{Campaign: "c1", CampaignName: "Coffee", Redemptions: 40, Uses: 40, Value: 100000, Voids: 2, VoidedUses: 2, VoidedValue: 5000, Offline: 3, Refused: 5},
			{Campaign: "meal-10x", CampaignName: "午餐次卡", Redemptions: 7, Uses: 12, Value: 42000},
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

// printed decodes a Chinese document's text back to UTF-8.
func printed(t *testing.T, doc []byte) string {
	t.Helper()
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestDocuments(t *testing.T) {
	zh := slip("zh-CN")
	re := zh
	re.Reprint, re.UsesLeft = true, -1
	refused := slip("en")
	refused.Accepted, refused.Reason, refused.ReasonText = false, "used_up", "Already used up"
	x := report("en")
	x.Z, x.Number, x.From = false, 0, time.Time{}
	for _, tc := range []struct {
		name string
		doc  func() ([]byte, error)
		has  []string // text the document must print
		not  []string
	}{
		{"slip_zh.bin", func() ([]byte, error) { return RenderSlip(zh, Layout{}) }, []string{"静安寺店", "核销凭证", "午餐次卡", "剩余次数", "105.00", "离线", "核销成功", "T-SH001-1:42", "2026-11-23 10:30:00"}, []string{"重打"}},
		{"slip_en.bin", func() ([]byte, error) { return RenderSlip(slip("en"), Layout{}) }, []string{"REDEMPTION SLIP", "Uses left", "105.00", "offline", "ACCEPTED"}, nil},
		{"slip_zh_32.bin", func() ([]byte, error) { return RenderSlip(zh, Layout{Columns: 32}) }, []string{"午餐次卡"}, nil},
		{"slip_reprint.bin", func() ([]byte, error) { return RenderSlip(re, Layout{}) }, []string{"*** 重打 ***"}, []string{"剩余次数"}},
		{"slip_refused.bin", func() ([]byte, error) { return RenderSlip(refused, Layout{}) }, []string{"NOT REDEEMED", "Already used up"}, []string{"Amount"}},
		{"report_x.bin", func() ([]byte, error) { return RenderReport(x, Layout{}) }, []string{"X REPORT", "(first use)", "Coffee (c1)", "(no campaign)", "Net value"}, nil},
		{"report_z_zh.bin", func() ([]byte, error) { return RenderReport(report("zh-CN"), Layout{}) }, []string{"Z 报表 #12", "午餐次卡 (meal-10x)", "合计", "净额", "1370.00"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := tc.doc()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, doc)
			text := printed(t, doc)
			for _, s := range tc.has {
				if !strings.Contains(text, s) {
					t.Errorf("the document does not print %q:\n%s", s, text)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(text, s) {
					t.Errorf("the document prints %q", s)
				}
			}
			cols := 48
			if strings.Contains(tc.name, "_32") {
				cols = 32
			}
			for _, l := range strings.Split(text, "\n") {
				if i := strings.LastIndex(l, "\x1b"); i >= 0 { // skip the commands before the text
					l = l[i+3:]
				}
				if w := width(l); w > cols && !strings.ContainsAny(l, "\x1d") {
					t.Errorf("line %q is %d columns wide, more than %d", l, w, cols)
				}
			}
		})
	}
	if _, err := RenderReport(Report{Z: true}, Layout{}); err == nil {
		t.Error("a Z report without a number rendered")
	}
	// Text never smuggles printer commands in.
	evil := slip("en")
	evil.Cashier = "c\x1bd\x10\x04x"
	doc, _ := RenderSlip(evil, Layout{})
	if bytes.Contains(doc, []byte("c\x1bd")) || bytes.Contains(doc, []byte{0x10, 0x04}) {
		t.Error("control characters from a field reached the printer")
	}
}

func TestDecodeStatus(t *testing.T) {
	for _, tc := range []struct {
		p, o, paper byte
		want        string
	}{
		{0x12, 0x12, 0x12, "ok"},
		{0x1a, 0x12, 0x12, "offline"},
		{0x12, 0x16, 0x12, "cover_open"},
		{0x12, 0x32, 0x72, "paper_out"},
		{0x12, 0x12, 0x1e, "paper_low"},
		{0x12, 0x52, 0x12, "error"},
	} {
		st, err := DecodeStatus(tc.p, tc.o, tc.paper)
		if err != nil || st.String() != tc.want {
			t.Errorf("DecodeStatus(%#x, %#x, %#x) = %v, %v; want %s", tc.p, tc.o, tc.paper, st, err, tc.want)
		}
	}
	if _, err := DecodeStatus('h', 0x12, 0x12); err == nil {
		t.Error("a text byte decoded as a status")
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(byte(0x12), byte(0x16), byte(0x72))
	f.Fuzz(func(t *testing.T, a, b, c byte) {
		st, err := DecodeStatus(a, b, c)
		if err == nil && st.Ready() != (st.String() == "ok" || st.String() == "paper_low") {
			t.Fatalf("status %v: Ready %v", st, st.Ready())
		}
	})
}

func FuzzLayout(f *testing.F) {
	f.Add("午餐次卡 lunch card with a very long name that never fits", 32)
	f.Add("\x1b@evil\x00", 48)
	f.Fuzz(func(t *testing.T, s string, cols int) {
		cols = 16 + abs(cols)%64
		for _, l := range Wrap(s, cols) {
			if width(l) > cols && utf8.RuneCountInString(l) > 1 {
				t.Fatalf("line %q is %d columns, more than %d", l, width(l), cols)
			}
			if strings.ContainsFunc(l, func(r rune) bool { return r < 0x20 }) {
				t.Fatalf("line %q keeps a control character", l)
			}
		}
		d := newDoc("zh-CN", Layout{Columns: cols})
		d.pair(s, s) // never panics, whatever the widths
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
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

// fakePrinter plays an ESC/POS printer on a pty: it answers DLE EOT with
// the status bytes set in status and collects everything else.
type fakePrinter struct {
	mu      sync.Mutex
	status  [3]byte // answers to DLE EOT 1, 2, 4; 0: stay silent
	after   *[3]byte
	got     bytes.Buffer
	queries int
}

func (f *fakePrinter) serve(t *testing.T, path string) (stop func()) {
	port, err := serialport.Open(serialport.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	port.SetReadTimeout(20 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var in []byte
		buf := make([]byte, 512)
		for {
			n, err := port.Read(buf)
			if errors.Is(err, serialport.ErrTimeout) {
				continue
			} else if err != nil {
				return
			}
			in = append(in, buf[:n]...)
			for {
				i := bytes.Index(in, []byte{0x10, 0x04})
				if i < 0 || i+2 >= len(in) {
					break
				}
				f.mu.Lock()
				f.got.Write(in[:i])
				if f.got.Len() > 0 && f.after != nil {
					f.status, f.after = *f.after, nil
				}
				b := map[byte]byte{1: f.status[0], 2: f.status[1], 4: f.status[2]}[in[i+2]]
				f.queries++
				f.mu.Unlock()
				if b != 0 {
					port.Write([]byte{b})
				}
				in = in[i+3:]
			}
			f.mu.Lock()
			if len(in) > 0 && !bytes.Contains(in, []byte{0x10}) {
				f.got.Write(in)
				in = in[:0]
			}
			f.mu.Unlock()
		}
	}()
	return func() { port.Close(); <-done }
}

func (f *fakePrinter) printed() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.got.Bytes()...)
}

func TestPrinterOverPty(t *testing.T) {
	ctx := context.Background()
	ok := [3]byte{0x12, 0x12, 0x12}
	doc, _ := RenderSlip(slip("zh-CN"), Layout{})
	pair := ptypair.New(t)
	p, err := Open(pair.B+":19200", Config{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	run := func(name string, f *fakePrinter, wantErr string, wantPrinted bool) {
		t.Helper()
		stop := f.serve(t, pair.A)
		defer stop()
		err := p.Print(ctx, doc)
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: Print = %v, want %q", name, err, wantErr)
		}
		time.Sleep(50 * time.Millisecond) // let the fake read the last bytes
		got := f.printed()
		if wantPrinted && !bytes.Equal(got, doc) {
			t.Errorf("%s: the printer got %d bytes, want the document's %d", name, len(got), len(doc))
		}
		if !wantPrinted && len(got) != 0 {
			t.Errorf("%s: the printer got %d bytes, want none", name, len(got))
		}
	}
	run("ready", &fakePrinter{status: ok}, "", true)
	run("paper out", &fakePrinter{status: [3]byte{0x12, 0x32, 0x72}}, "out of paper", false)
	run("cover opened during the print", &fakePrinter{status: ok, after: &[3]byte{0x12, 0x16, 0x12}}, "cover is open", true)
	run("silent", &fakePrinter{}, "did not answer", false)

	pair.Unplug()
	if err := p.Print(ctx, doc); err == nil {
		t.Error("Print on an unplugged printer succeeded")
	}
	pair.Plug()
	// The first try after a replug may still hold the dead port; a
	// later one reopens it.
	f := &fakePrinter{status: ok}
	stop := f.serve(t, pair.A)
	defer stop()
	var perr error
	for range 3 {
		if perr = p.Print(ctx, doc); perr == nil {
			break
		}
	}
	if perr != nil {
		t.Fatalf("Print after the printer came back: %v", perr)
	}
}

func TestFilePrinter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lp0")
	p, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	doc, _ := RenderSlip(slip("en"), Layout{})
	for range 2 {
		if err := p.Print(context.Background(), doc); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, append(append([]byte(nil), doc...), doc...)) {
		t.Errorf("the file holds %d bytes, want two documents of %d", len(got), len(doc))
	}
	if st, err := p.Status(context.Background()); err != nil || st.String() != "unknown" {
		t.Errorf("file printer status = %v, %v; want unknown", st, err)
	}
}

func TestDisplay(t *testing.T) {
	var b bytes.Buffer
	if err := NewDisplay(&b).Show("Accepted ¥35.00", "Coffee voucher with a long name"); err != nil {
		t.Fatal(err)
	}
	want := "\x1b@\x0c\x1bQAAccepted ?35.00\r\x1bQBCoffee voucher with \r"
	if b.String() != want {
		t.Errorf("display got %q, want %q", b.String(), want)
	}
}
