package escpos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
)

func TestDecodeStatus(t *testing.T) {
	for _, tc := range []struct {
		p, o, e, paper byte
		want           State
		msg            string // in the English message
	}{
		{0x12, 0x12, 0x12, 0x12, StateReady, "ready"},
		{0x16, 0x12, 0x12, 0x12, StateReady, "ready"}, // drawer pin high: no matter
		{0x1a, 0x12, 0x12, 0x12, StateOffline, "offline"},
		{0x1a, 0x16, 0x12, 0x12, StateCoverOpen, "cover"},
		{0x1a, 0x32, 0x12, 0x72, StatePaperOut, "out of paper"},
		{0x12, 0x12, 0x12, 0x60 | 0x12, StatePaperOut, "out of paper"},
		{0x12, 0x12, 0x12, 0x1e, StatePaperLow, "running low"},
		{0x1a, 0x52, 0x1a, 0x12, StateError, "cutter"},
		{0x1a, 0x52, 0x32, 0x12, StateError, "unrecoverable"},
		{0x1a, 0x52, 0x52, 0x12, StateError, "too hot"},
		{0x1a, 0x52, 0x16, 0x12, StateError, "mechanism"},
		{0x1a, 0x36, 0x12, 0x72, StateCoverOpen, "cover"}, // the most pressing cause
	} {
		st, err := DecodeStatus(tc.p, tc.o, tc.e, tc.paper)
		if err != nil || st.State() != tc.want || !strings.Contains(st.Message("en"), tc.msg) {
			t.Errorf("DecodeStatus(%#x, %#x, %#x, %#x) = %v (%q), %v; want %v (%q)", tc.p, tc.o, tc.e, tc.paper, st, st.Message("en"), err, tc.want, tc.msg)
		}
		if st.Message("zh-CN") == st.Message("en") {
			t.Errorf("%v: no Chinese message", st)
		}
	}
	for _, b := range []byte{'h', 0x00, 0xff, 0x13, 0x92} {
		if _, err := DecodeStatus(0x12, 0x12, b, 0x12); err == nil {
			t.Errorf("%#x decoded as a status byte", b)
		}
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(byte(0x12), byte(0x16), byte(0x12), byte(0x72))
	f.Add(byte(0x1a), byte(0x52), byte(0x1a), byte(0x12))
	f.Add(byte('x'), byte(0), byte(0xff), byte(0x12))
	f.Fuzz(func(t *testing.T, a, b, c, d byte) {
		st, err := DecodeStatus(a, b, c, d)
		valid := isStatusByte(a) && isStatusByte(b) && isStatusByte(c) && isStatusByte(d)
		if (err == nil) != valid {
			t.Fatalf("DecodeStatus(%#x, %#x, %#x, %#x) error %v; the bytes are valid: %v", a, b, c, d, err, valid)
		}
		if err != nil {
			return
		}
		s := st.State()
		if s < StateReady || s > StateError {
			t.Fatalf("state %v from a printer's answer", s)
		}
		if st.Ready() != (s == StateReady || s == StatePaperLow) {
			t.Fatalf("status %v: Ready %v", st, st.Ready())
		}
		if st.Message("en") == "" || st.Message("zh-CN") == "" {
			t.Fatalf("status %v has no message", st)
		}
	})
}

// fakePrinter plays an ESC/POS printer on a pty: it answers DLE EOT n
// with status[n-1] (0: stays silent) and collects everything else.
type fakePrinter struct {
	status [4]byte
	after  *[4]byte      // the status once a document has come in
	noise  []byte        // sent before each answer
	stale  byte          // sent after each answer (a late duplicate), 0: none
	stall  bool          // stop reading after the first status round
	late   time.Duration // answers once a document has come in wait this long (the printer prints first)
	// unplug, when set, is called once unplugAt bytes of document have
	// come in: the cable pulled mid-print.
	unplug   func()
	unplugAt int

	mu      sync.Mutex // guards the fields below and status, after
	got     bytes.Buffer
	queries int
}

func (f *fakePrinter) serve(t *testing.T, path string) (stop func()) {
	t.Helper()
	port, err := serialport.Open(serialport.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var in []byte
		buf := make([]byte, 4096)
		port.SetReadTimeout(20 * time.Millisecond)
		for {
			select {
			case <-quit:
				return
			default:
			}
			f.mu.Lock()
			stalled := f.stall && f.queries >= 4
			f.mu.Unlock()
			if stalled {
				<-quit
				return
			}
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
				var ans byte
				if q := in[i+2]; q >= 1 && q <= 4 {
					ans = f.status[q-1]
				}
				f.queries++
				late := f.late > 0 && f.got.Len() > 0
				f.mu.Unlock()
				if late { // and answers even if the host has given up
					time.Sleep(f.late)
				}
				if ans != 0 || len(f.noise) > 0 {
					out := append([]byte(nil), f.noise...)
					if ans != 0 {
						out = append(out, ans)
					}
					if f.stale != 0 {
						out = append(out, f.stale)
					}
					port.Write(out)
				}
				in = in[i+3:]
			}
			// Keep a tail that may be the start of a query.
			keep := 0
			if bytes.HasSuffix(in, []byte{0x10}) {
				keep = 1
			} else if bytes.HasSuffix(in, []byte{0x10, 0x04}) {
				keep = 2
			}
			f.mu.Lock()
			f.got.Write(in[:len(in)-keep])
			pull := f.unplug != nil && f.got.Len() >= f.unplugAt
			f.mu.Unlock()
			in = append(in[:0], in[len(in)-keep:]...)
			if pull {
				f.unplug()
				f.unplug = nil
			}
		}
	}()
	return func() { close(quit); <-done; port.Close() }
}

func (f *fakePrinter) printed() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.got.Bytes()...)
}

var ready = [4]byte{0x12, 0x12, 0x12, 0x12}

func TestPrinterOverPty(t *testing.T) {
	ctx := context.Background()
	doc, err := os.ReadFile(filepath.Join("testdata", "slip_zh.bin"))
	if err != nil {
		t.Fatal(err)
	}
	pair := ptypair.New(t)
	p, err := Open(pair.B+":115200", Config{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tc := range []struct {
		name      string
		f         *fakePrinter
		want      State // StateReady: no error
		sent      bool
		printed   bool
		wantQuery int // DLE EOT queries the printer saw, 0: any
	}{
		{"ready", &fakePrinter{status: ready}, StateReady, false, true, 8},
		{"paper out before", &fakePrinter{status: [4]byte{0x1a, 0x32, 0x12, 0x72}}, StatePaperOut, false, false, 4},
		{"cover opened during the print", &fakePrinter{status: ready, after: &[4]byte{0x1a, 0x16, 0x12, 0x12}}, StateCoverOpen, true, true, 8},
		{"paper low prints", &fakePrinter{status: [4]byte{0x12, 0x12, 0x12, 0x1e}}, StateReady, false, true, 8},
		{"noise and late duplicates", &fakePrinter{status: ready, noise: []byte{0xff, 'x', 0x00, 0x93}, stale: 0x7e}, StateReady, false, true, 8},
		{"silent", &fakePrinter{}, StateNoAnswer, false, false, 1},
		{"offline after", &fakePrinter{status: ready, after: &[4]byte{0x1a, 0x12, 0x12, 0x12}}, StateOffline, true, true, 8},
		// Wrong baud rate: bytes come back, never a status byte.
		{"garbage", &fakePrinter{noise: []byte{0xff, 0x00, 0x80, 'x'}}, StateBadAnswer, false, false, 0},
		{"ready after garbage", &fakePrinter{status: ready}, StateReady, false, true, 8},
		// It answers only once it has printed, later than the wait: the
		// slip may be out, the caller asks.
		{"answers after the job, too late", &fakePrinter{status: ready, after: &[4]byte{0x1a, 0x32, 0x12, 0x72}, late: time.Second}, StateNoAnswer, true, true, 5},
		// Its late answer (offline) still in the line does not spoil the
		// next print.
		{"ready after late answers", &fakePrinter{status: ready}, StateReady, false, true, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := tc.f.serve(t, pair.A)
			err := p.Print(ctx, doc)
			stop()
			checkPrintErr(t, err, tc.want, tc.sent)
			got := tc.f.printed()
			if tc.printed && !bytes.Equal(got, doc) {
				t.Errorf("the printer got %d bytes, want the document's %d (%q)", len(got), len(doc), got)
			}
			if !tc.printed && len(got) != 0 {
				t.Errorf("the printer got %d bytes, want none: %q", len(got), got)
			}
			if tc.wantQuery != 0 && tc.f.queries != tc.wantQuery {
				t.Errorf("the printer saw %d status queries, want %d", tc.f.queries, tc.wantQuery)
			}
		})
	}

	t.Run("unplugged and back", func(t *testing.T) {
		pair.Unplug()
		checkPrintErr(t, p.Print(ctx, doc), StateGone, false)
		if _, err := p.Status(ctx); err == nil {
			t.Error("Status of an unplugged printer succeeded")
		}
		pair.Plug()
		f := &fakePrinter{status: ready}
		stop := f.serve(t, pair.A)
		defer stop()
		if err := p.Print(ctx, doc); err != nil {
			t.Fatalf("the first print after the printer came back: %v", err)
		}
		if !bytes.Equal(f.printed(), doc) {
			t.Errorf("the printer got %d bytes, want %d", len(f.printed()), len(doc))
		}
	})

	t.Run("unplugged mid-print and back", func(t *testing.T) {
		big := bigDoc(t)
		f := &fakePrinter{status: ready, unplug: pair.Unplug, unplugAt: 4096}
		stop := f.serve(t, pair.A)
		err := p.Print(ctx, big)
		stop()
		var pe *PrintError
		if !errors.As(err, &pe) || !pe.Sent || (pe.State != StateGone && pe.State != StateNoAnswer && pe.State != StateWriteFailed) {
			t.Fatalf("Print unplugged mid-print = %v, want gone, no_answer or write_failed, sent", err)
		}
		if got := len(f.printed()); got == 0 || got >= len(big) {
			t.Errorf("the printer got %d of %d bytes, want part of it", got, len(big))
		}
		pair.Plug()
		f = &fakePrinter{status: ready}
		stop = f.serve(t, pair.A)
		defer stop()
		if err := p.Print(ctx, doc); err != nil {
			t.Fatalf("the first print after plugging back: %v", err)
		}
		if !bytes.Equal(f.printed(), doc) {
			t.Errorf("the printer got %d bytes, want %d", len(f.printed()), len(doc))
		}
	})

	t.Run("power-cycled between prints", func(t *testing.T) {
		// The device held open went away and came back unnoticed: the
		// next print opens it again instead of failing.
		pair.Unplug()
		pair.Plug()
		f := &fakePrinter{status: ready}
		stop := f.serve(t, pair.A)
		defer stop()
		if err := p.Print(ctx, doc); err != nil {
			t.Fatalf("print after a power cycle: %v", err)
		}
		if st, err := p.Status(ctx); err != nil || st.State() != StateReady {
			t.Errorf("Status = %v, %v; want ready", st, err)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		f := &fakePrinter{} // silent: only ctx ends the wait early
		stop := f.serve(t, pair.A)
		defer stop()
		slow, err := Open(pair.B, Config{Timeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			for {
				f.mu.Lock()
				q := f.queries
				f.mu.Unlock()
				if q > 0 {
					cancel()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		err = slow.Print(cctx, doc)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Print = %v, want context.Canceled", err)
		}
	})

	t.Run("device stops taking data", func(t *testing.T) {
		f := &fakePrinter{status: ready, stall: true}
		stop := f.serve(t, pair.A)
		defer stop()
		big := bytes.Repeat([]byte("x"), 4<<20)
		checkPrintErr(t, p.Print(ctx, big), StateWriteFailed, true)
	})
}

// bigDoc is a long document (a long report): far more than the pty
// and socat hold, so it is still being written when the cable is pulled.
func bigDoc(t *testing.T) []byte {
	r := report("zh-CN")
	for i := range 3000 {
		r.Lines = append(r.Lines, ReportLine{Campaign: fmt.Sprint("c-", i), CampaignName: "午餐次卡", Redemptions: i})
	}
	doc, err := RenderReport(r, Layout{})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestWireTime(t *testing.T) {
	for _, tc := range []struct {
		spec string
		n    int
		want time.Duration
	}{
		{"/dev/x:9600", 960, time.Second},                       // 8N1: 10 bits a byte
		{"/dev/x:9600:7E2", 960, 1100 * time.Millisecond},       // 7E2: 11 bits
		{"/dev/x:115200", 805, 805 * 10 * time.Second / 115200}, // a slip
		{"/dev/x", 0, 0},
	} {
		c, err := serialport.ParseSpec(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := wireTime(c, tc.n); got != tc.want {
			t.Errorf("wireTime(%s, %d) = %v, want %v", tc.spec, tc.n, got, tc.want)
		}
	}
}

func checkPrintErr(t *testing.T, err error, want State, sent bool) {
	t.Helper()
	if want == StateReady {
		if err != nil {
			t.Errorf("Print = %v, want no error", err)
		}
		return
	}
	var pe *PrintError
	if !errors.As(err, &pe) {
		t.Fatalf("Print = %v, want a *PrintError (%v)", err, want)
	}
	if pe.State != want || pe.Sent != sent {
		t.Errorf("Print = %v (state %v, sent %v), want state %v, sent %v", err, pe.State, pe.Sent, want, sent)
	}
	if pe.Message("zh-CN") == pe.Message("en") || !strings.Contains(pe.Error(), want.Message("en")[:10]) && pe.Status.State() != want {
		t.Errorf("messages %q / %q", pe.Message("en"), pe.Message("zh-CN"))
	}
}

func TestFilePrinter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lp0") // created: a spool file
	p, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	doc, err := RenderSlip(single(), Layout{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Print(context.Background(), doc); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, append(append([]byte(nil), doc...), doc...)) {
		t.Errorf("the file holds %d bytes, want two documents of %d", len(got), len(doc))
	}
	if st, err := p.Status(context.Background()); err != nil || st.State() != StateUnknown || st.Known {
		t.Errorf("file printer status = %v, %v; want unknown", st, err)
	}
	if _, err := Open("/dev/hexiao-no-such-printer", Config{}); err == nil {
		t.Error("opening a missing device succeeded")
	}
	if _, err := os.Stat("/dev/hexiao-no-such-printer"); err == nil {
		t.Error("Open created a file in /dev")
	}
	if _, err := Open(path+":9600", Config{}); err == nil {
		t.Error("a regular file opened as a serial port")
	}
}
