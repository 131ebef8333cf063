package scanner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
)

// chunk is bytes arriving at a time (ms after t0).
type chunk struct {
	at   int
	data string
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("x", MaxLen)
	for _, tc := range []struct {
		name   string
		suffix byte
		idle   time.Duration
		chunks []chunk
		end    int      // expire at this time (ms), if not 0
		want   []string // codes, or "error: ..." substrings
		left   int      // bytes still pending at the end
	}{
		{"CRLF", 0, 0, []chunk{{0, "HX1A\r\nHX1B\r\n"}}, 0, []string{"HX1A", "HX1B"}, 0},
		{"LF, CR, Tab", 0, 0, []chunk{{0, "A1\nB2\rC3\t"}}, 0, []string{"A1", "B2", "C3"}, 0},
		{"split across reads", 0, 0, []chunk{{0, "HX"}, {5, "1A"}, {9, "BC\r"}, {10, "\n"}}, 0, []string{"HX1ABC"}, 0},
		{"empty lines are nothing", 0, 0, []chunk{{0, "\r\n\r\n\t\n"}}, 0, nil, 0},
		{"custom suffix", 0x03, 0, []chunk{{0, "A\r1\x03B2\x03"}}, 0, []string{"A\r1", "B2"}, 0},
		{"no suffix yet", 0, 0, []chunk{{0, "HX1"}}, 0, nil, 3},
		{"idle ends a code", 0, 50 * ms, []chunk{{0, "HX1A"}, {10, "BC"}}, 60, []string{"HX1ABC"}, 0},
		{"not idle yet", 0, 50 * ms, []chunk{{0, "HX1A"}, {10, "BC"}}, 59, nil, 6},
		{"idle between chunks", 0, 50 * ms, []chunk{{0, "HX1A"}, {100, "HX1B"}}, 200, []string{"HX1A", "HX1B"}, 0},
		{"suffix and idle", 0, 50 * ms, []chunk{{0, "HX1A\r"}, {10, "HX1B"}}, 100, []string{"HX1A", "HX1B"}, 0},
		{"at MaxLen", 0, 0, []chunk{{0, long + "\r"}}, 0, []string{long}, 0},
		{"over MaxLen", 0, 0, []chunk{{0, long + "yy\rHX1A\r"}}, 0, []string{"error: " + fmt.Sprint(MaxLen+2) + " bytes without a suffix", "HX1A"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := splitter{suffix: tc.suffix, idle: tc.idle}
			var got []string
			emit := func(raw []byte, err error) {
				if err != nil {
					got = append(got, "error: "+err.Error())
					return
				}
				got = append(got, string(raw))
			}
			for _, c := range tc.chunks {
				sp.feed([]byte(c.data), t0.Add(time.Duration(c.at)*ms), emit)
			}
			if tc.end != 0 {
				sp.expire(t0.Add(time.Duration(tc.end)*ms), emit)
			}
			ok := len(got) == len(tc.want)
			for i := 0; ok && i < len(got); i++ {
				ok = got[i] == tc.want[i] || strings.HasPrefix(tc.want[i], "error: ") && strings.Contains(got[i], tc.want[i][7:])
			}
			if !ok {
				t.Errorf("codes %q, want %q", got, tc.want)
			}
			if n := sp.drop(); n != tc.left {
				t.Errorf("left %d bytes pending, want %d", n, tc.left)
			}
		})
	}
}

func TestSplitterDeadline(t *testing.T) {
	sp := splitter{idle: 40 * ms}
	if _, ok := sp.deadline(); ok {
		t.Fatal("a deadline with nothing pending")
	}
	sp.feed([]byte("AB"), t0, nil)
	if d, ok := sp.deadline(); !ok || !d.Equal(t0.Add(40*ms)) {
		t.Fatalf("deadline = %v, %v; want %v", d, ok, t0.Add(40*ms))
	}
}

// recorder collects what a Serial reports.
type recorder struct {
	mu      sync.Mutex
	codes   []string
	rejects []error
	states  []error // nil: connected
	pending int     // bytes of the code under way after the last read
}

func (r *recorder) serial(cfg SerialConfig) *Serial {
	cfg.Reject = func(err error) { r.mu.Lock(); r.rejects = append(r.rejects, err); r.mu.Unlock() }
	s := NewSerial(cfg,
		func(code string) { r.mu.Lock(); r.codes = append(r.codes, code); r.mu.Unlock() },
		func(connected bool, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if connected != (err == nil) {
				err = fmt.Errorf("state connected=%v with error %v", connected, err)
			}
			r.states = append(r.states, err)
		})
	s.observe = func(n int) { r.mu.Lock(); r.pending = n; r.mu.Unlock() }
	return s
}

// wait polls cond (under r.mu) until it holds; the limit only stops a
// hung test.
func (r *recorder) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for limit := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(limit) {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("waiting for %s: codes %q, states %v, pending %d", what, r.codes, r.states, r.pending)
		}
	}
}

// connects counts the connected states reported.
func (r *recorder) connects() int {
	n := 0
	for _, s := range r.states {
		if s == nil {
			n++
		}
	}
	return n
}

func (r *recorder) lastState() error {
	if len(r.states) == 0 {
		return errors.New("no state yet")
	}
	return r.states[len(r.states)-1]
}

// start runs s until the test ends.
func start(t *testing.T, s *Serial) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	})
}

// writer is the scanner's end of the link.
type writer struct {
	t    *testing.T
	port *serialport.Port
}

func openWriter(t *testing.T, path string) *writer {
	t.Helper()
	p, err := serialport.Open(serialport.Config{Path: path, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &writer{t: t, port: p}
}

func (w *writer) write(s string) {
	w.t.Helper()
	if _, err := w.port.Write([]byte(s)); err != nil {
		w.t.Fatalf("write %q: %v", s, err)
	}
}

// A serial scanner unplugged and plugged back mid-stream loses no complete
// code written while it was connected, delivers each exactly once, and
// never yields a partial or glued code, also when unplugged mid-code.
func TestSerialUnplugReplug(t *testing.T) {
	pair := ptypair.New(t)
	pair.Unplug() // the scanner is not there when the reader starts
	var r recorder
	start(t, r.serial(SerialConfig{Spec: pair.B + ":115200", Retry: 5 * ms, RetryMax: 20 * ms}))
	r.wait(t, "the missing device reported", func() bool { return len(r.states) == 1 && r.states[0] != nil })

	var want []string
	// stream writes n codes from first, some split across writes, with
	// the line ends scanners use, and waits until all have arrived.
	stream := func(w *writer, first, n int) {
		ends := []string{"\r\n", "\r", "\n", "\t"}
		for i := first; i < first+n; i++ {
			code := fmt.Sprintf("HX1CODE%04d", i)
			if i%3 == 0 {
				w.write(code[:4])
				w.write(code[4:] + ends[i%4])
			} else {
				w.write(code + ends[i%4])
			}
			want = append(want, code)
		}
		r.wait(t, "codes delivered", func() bool { return len(r.codes) >= len(want) })
	}

	pair.Plug()
	r.wait(t, "first connect", func() bool { return r.connects() == 1 })
	w := openWriter(t, pair.A)
	stream(w, 0, 20)

	pair.Unplug() // between codes
	r.wait(t, "disconnect reported", func() bool { return r.lastState() != nil })
	pair.Plug()
	r.wait(t, "reconnect", func() bool { return r.connects() == 2 })
	w = openWriter(t, pair.A) // a new device behind the same path
	stream(w, 20, 20)

	w.write("HX1PART") // half a code, then the cable goes
	r.wait(t, "the partial code read", func() bool { return r.pending == len("HX1PART") })
	pair.Unplug()
	r.wait(t, "disconnect reported", func() bool { return r.lastState() != nil })
	r.mu.Lock()
	dropped := r.lastState()
	r.mu.Unlock()
	if !errors.Is(dropped, ErrPartialDropped) || !strings.Contains(dropped.Error(), "7 bytes") {
		t.Errorf("disconnect error %v, want %v with 7 bytes", dropped, ErrPartialDropped)
	}
	pair.Plug()
	r.wait(t, "reconnect after a partial code", func() bool { return r.connects() == 3 })
	w = openWriter(t, pair.A)
	stream(w, 40, 20)

	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.codes, want) {
		t.Errorf("codes %q\nwant %q", r.codes, want)
	}
	if len(r.rejects) != 0 {
		t.Errorf("rejects %v, want none", r.rejects)
	}
}

// Unplugged while codes are streaming, with no pause to let them arrive:
// whatever arrives is whole written codes, in order, each once; and every
// code written after the reconnect arrives.
func TestSerialUnplugUnderLoad(t *testing.T) {
	pair := ptypair.New(t)
	var r recorder
	start(t, r.serial(SerialConfig{Spec: pair.B + ":115200", Retry: 5 * ms, RetryMax: 20 * ms}))
	r.wait(t, "connect", func() bool { return r.connects() == 1 })

	written := map[string]int{}
	var order []string
	i := 0
	burst := func(w *writer, n int) {
		for range n {
			code := fmt.Sprintf("HX1LOAD%05d", i)
			i++
			// A write may fail once the cable is pulled; the code then
			// was not (all) written.
			if _, err := w.port.Write([]byte(code[:5])); err != nil {
				return
			}
			if _, err := w.port.Write([]byte(code[5:] + "\r\n")); err != nil {
				return
			}
			written[code] = len(order)
			order = append(order, code)
		}
	}
	for round := range 3 {
		w := openWriter(t, pair.A)
		done := make(chan struct{})
		go func() { defer close(done); burst(w, 200) }()
		time.Sleep(time.Duration(round+1) * 3 * ms) // unplug somewhere in the stream
		pair.Unplug()
		<-done
		w.port.Close()
		pair.Plug()
		r.wait(t, "reconnect", func() bool { return r.connects() == round+2 })
	}
	w := openWriter(t, pair.A)
	from := len(order)
	burst(w, 50)
	if len(order)-from != 50 {
		t.Fatalf("wrote %d codes after the last reconnect, want 50", len(order)-from)
	}
	r.wait(t, "the codes written after the last reconnect", func() bool {
		return len(r.codes) > 0 && r.codes[len(r.codes)-1] == order[len(order)-1]
	})

	r.mu.Lock()
	defer r.mu.Unlock()
	last := -1
	for _, c := range r.codes {
		idx, ok := written[c]
		if !ok {
			t.Fatalf("code %q was never written: partial or glued (all: %q)", c, r.codes)
		}
		if idx <= last {
			t.Fatalf("code %q out of order or twice", c)
		}
		last = idx
	}
	if got := r.codes[len(r.codes)-50:]; !slices.Equal(got, order[from:]) {
		t.Errorf("after the last reconnect got %q, want %q", got, order[from:])
	}
}

// A scanner set to a custom suffix, and one set to none (idle time), over
// a real port; input that does not normalise is rejected, not delivered.
func TestSerialSuffixAndIdle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     SerialConfig
		send    []string // written with a pause longer than Idle between them
		want    []string
		rejects []error
	}{
		{"ETX suffix", SerialConfig{Suffix: 0x03}, []string{"]Q1HX1A\x03HX1B\r\x03"}, []string{"HX1A", "HX1B"}, nil},
		{"no suffix", SerialConfig{Idle: 30 * ms}, []string{"HX1A", "HX1B", " ]E04006381333931 "}, []string{"HX1A", "HX1B", "4006381333931"}, nil},
		{"rejects", SerialConfig{}, []string{"bad\xff\r\n\x00\x01\r\nHX1C\r\n"}, []string{"HX1C"}, []error{ErrNotUTF8, ErrEmpty}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair := ptypair.New(t)
			var r recorder
			tc.cfg.Spec = pair.B
			start(t, r.serial(tc.cfg))
			r.wait(t, "connect", func() bool { return r.connects() == 1 })
			w := openWriter(t, pair.A)
			for i, s := range tc.send {
				w.write(s)
				if tc.cfg.Idle > 0 {
					r.wait(t, "a code ended by idle time", func() bool { return len(r.codes) == i+1 })
				}
			}
			r.wait(t, "all codes", func() bool { return len(r.codes) >= len(tc.want) })
			r.mu.Lock()
			defer r.mu.Unlock()
			if !slices.Equal(r.codes, tc.want) {
				t.Errorf("codes %q, want %q", r.codes, tc.want)
			}
			ok := len(r.rejects) == len(tc.rejects)
			for i := 0; ok && i < len(tc.rejects); i++ {
				ok = errors.Is(r.rejects[i], tc.rejects[i])
			}
			if !ok {
				t.Errorf("rejects %v, want %v", r.rejects, tc.rejects)
			}
		})
	}
}

func TestSerialBadSpec(t *testing.T) {
	s := NewSerial(SerialConfig{Spec: ":9600"}, func(string) {}, nil)
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "missing the device path") {
		t.Fatalf("Run with a bad spec = %v, want the spec error", err)
	}
}

func BenchmarkSplitter(b *testing.B) {
	sp := splitter{line: make([]byte, 0, 64)}
	data := []byte("HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567\r\n")
	n := 0
	emit := func([]byte, error) { n++ }
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sp.feed(data, t0, emit)
	}
}
