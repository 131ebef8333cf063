package scanner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"HX1ABCDEF", "HX1ABCDEF", ""},
		{"  HX1ABC \r\n", "HX1ABC", ""},
		{"]Q1HX1ABC", "HX1ABC", ""},
		{"]E04006381333931", "4006381333931", ""},
		{"]d2\x1d0104012345012345\x1d10ABC", "0104012345012345\x1d10ABC", ""},
		{`\000026HX1ABC`, "HX1ABC", ""},
		{"]Q1\\000026中文码", "中文码", ""},
		{"a\x00b\x07c\x7fd\u0085e", "abcde", ""},
		{"\r\n\t", "", "empty"},
		{"", "", "empty"},
		{"bad \xff", "", "UTF-8"},
		{strings.Repeat("x", MaxLen+1), "", "too long"},
	} {
		got, err := Normalize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Normalize(%q) = %q, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"]Q1HX1", `\000026x`, "a\x1db", "]]Q1Q1", `\\000001000002`, "  x  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			return
		}
		for _, r := range got {
			if r != GS && unicode.IsControl(r) {
				t.Fatalf("Normalize(%q) = %q keeps control %U", s, got, r)
			}
		}
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// keys types text starting at `at` with gap between keys; a suffix of
// "\n" or "\t" ends it with Enter or Tab.
func keys(at time.Time, gap time.Duration, text string) []Key {
	var out []Key
	for _, r := range text {
		k := Key{Rune: r, Name: KeyRune, At: at}
		switch r {
		case '\n':
			k = Key{Name: KeyEnter, At: at}
		case '\t':
			k = Key{Name: KeyTab, At: at}
		case '\b':
			k = Key{Name: KeyBackspace, At: at}
		}
		out = append(out, k)
		at = at.Add(gap)
	}
	return out
}

func feed(w *Wedge, ks []Key, tickAt time.Time) []Result {
	var out []Result
	for _, k := range ks {
		out = append(out, w.Key(k)...)
	}
	if !tickAt.IsZero() {
		out = append(out, w.Tick(tickAt)...)
	}
	return out
}

func TestWedge(t *testing.T) {
	ms := time.Millisecond
	type want struct {
		kind ResultKind
		text string
		warn string
	}
	for _, tc := range []struct {
		name string
		keys []Key
		tick time.Time
		want []want
	}{
		{"burst + Enter", keys(t0, 8*ms, "HX1ABCD\n"), time.Time{}, []want{{Scan, "HX1ABCD", ""}}},
		{"burst + Tab", keys(t0, 15*ms, "12345678\t"), time.Time{}, []want{{Scan, "12345678", ""}}},
		{"no suffix, idle", keys(t0, 10*ms, "HX1ABCD"), t0.Add(200 * ms), []want{{Scan, "HX1ABCD", ""}}},
		{"no suffix, not idle yet", keys(t0, 10*ms, "HX1ABCD"), t0.Add(100 * ms), nil},
		{"person typing", keys(t0, 180*ms, "S0001\n"), t0.Add(5 * time.Second), []want{{Typed, "S0001", ""}}},
		{"fast typist", keys(t0, 60*ms, "12345678\n"), time.Time{}, []want{{Typed, "12345678", ""}}},
		{"one hesitant key", append(keys(t0, 10*ms, "HX1A"), keys(t0.Add(75*ms), 10*ms, "BCD\n")...), time.Time{}, []want{{Scan, "HX1ABCD", ""}}},
		{"person edits", keys(t0, 10*ms, "HX1AX\bBCD\n"), time.Time{}, []want{{Typed, "HX1ABCD", ""}}},
		{"stray key then a scan", append(keys(t0, 0, "q"), keys(t0.Add(2*time.Second), 8*ms, "HX1ABCD\n")...), time.Time{},
			[]want{{Scan, "HX1ABCD", "ignored 1 keys"}}},
		{"too short", keys(t0, 8*ms, "AB\n"), time.Time{}, []want{{Rejected, "AB", ""}}},
		{"person's first key does not time out", keys(t0, 0, "S"), t0.Add(time.Second), nil},
		{"repeat", append(keys(t0, 8*ms, "HX1ABCD\n"), keys(t0.Add(time.Second), 8*ms, "HX1ABCD\n")...), time.Time{},
			[]want{{Scan, "HX1ABCD", ""}, {Repeat, "HX1ABCD", ""}}},
		{"again after the window", append(keys(t0, 8*ms, "HX1ABCD\n"), keys(t0.Add(3*time.Second), 8*ms, "HX1ABCD\n")...), time.Time{},
			[]want{{Scan, "HX1ABCD", ""}, {Scan, "HX1ABCD", ""}}},
		{"AIM and GS", keys(t0, 8*ms, "]d201034\x1d10AB\n"), time.Time{}, []want{{Scan, "01034\x1d10AB", ""}}},
		{"AZERTY", keys(t0, 8*ms, "&é\"'(-è_\n"), time.Time{}, []want{{Scan, "&é\"'(-è_", "AZERTY"}}},
		{"QWERTZ", keys(t0, 8*ms, "HX1ßABC\n"), time.Time{}, []want{{Scan, "HX1ßABC", "QWERTZ"}}},
		{"idle burst ended by the next key", append(keys(t0, 8*ms, "HX1ABCD"), keys(t0.Add(500*ms), 8*ms, "HX1EFGH\n")...), time.Time{},
			[]want{{Scan, "HX1ABCD", ""}, {Scan, "HX1EFGH", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := feed(NewWedge(WedgeConfig{}), tc.keys, tc.tick)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Kind != w.kind || g.Text != w.text || (w.warn == "") != (g.Warning == "") || !strings.Contains(g.Warning, w.warn) {
					t.Errorf("result %d: got %v %q warning %q, want %v %q warning with %q", i, g.Kind, g.Text, g.Warning, w.kind, w.text, w.warn)
				}
				if (g.Kind == Rejected) != (g.Err != nil) {
					t.Errorf("result %d: %v with error %v", i, g.Kind, g.Err)
				}
			}
		})
	}
}

func TestWedgeDeadline(t *testing.T) {
	w := NewWedge(WedgeConfig{})
	feed(w, keys(t0, 10*time.Millisecond, "HX1A"), time.Time{})
	d, ok := w.NextDeadline()
	if want := t0.Add(30 * time.Millisecond).Add(80 * time.Millisecond); !ok || !d.Equal(want) {
		t.Fatalf("NextDeadline = %v, %v; want %v", d, ok, want)
	}
	if r := w.Tick(d); len(r) != 1 || r[0].Kind != Scan {
		t.Fatalf("Tick at the deadline = %+v", r)
	}
	if _, ok := w.NextDeadline(); ok {
		t.Error("a deadline with nothing under way")
	}
}

func FuzzWedge(f *testing.F) {
	f.Add([]byte("HX1ABCD\n"), []byte{8, 8, 8, 8, 8, 8, 8, 8})
	f.Add([]byte("ab\bc\tq"), []byte{200, 1, 90, 5})
	f.Fuzz(func(t *testing.T, text, gaps []byte) {
		w := NewWedge(WedgeConfig{})
		at := t0
		var res []Result
		for i, r := range string(text) {
			if len(gaps) > 0 {
				at = at.Add(time.Duration(gaps[i%len(gaps)]) * time.Millisecond)
			}
			k := Key{Rune: r, Name: KeyRune, At: at}
			switch r {
			case '\n':
				k.Name = KeyEnter
			case '\t':
				k.Name = KeyTab
			case '\b':
				k.Name = KeyBackspace
			}
			res = append(res, w.Key(k)...)
		}
		res = append(res, w.Tick(at.Add(time.Hour))...)
		for _, r := range res {
			if r.Kind == Scan || r.Kind == Typed || r.Kind == Repeat {
				if n, err := Normalize(r.Text); err != nil || n != r.Text || len([]rune(r.Text)) < 4 {
					t.Fatalf("%v %q is not a normalised code of 4 or more characters", r.Kind, r.Text)
				}
			}
		}
	})
}

func BenchmarkWedgeKey(b *testing.B) {
	w := NewWedge(WedgeConfig{})
	code := "HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567"
	at := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at = at.Add(8 * time.Millisecond)
		k := Key{Rune: rune(code[i%len(code)]), Name: KeyRune, At: at}
		if i%len(code) == len(code)-1 {
			k.Name = KeyEnter
			at = at.Add(2 * time.Second)
		}
		w.Key(k)
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("]Q1HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567"); err != nil {
			b.Fatal(err)
		}
	}
}

// A serial scanner unplugged and plugged back mid-stream loses no complete
// code written while it was connected and never yields a partial or glued
// one.
func TestSerialUnplugReplug(t *testing.T) {
	pair := ptypair.New(t)
	var (
		mu     sync.Mutex
		got    []string
		states []bool
	)
	sc := NewSerial(SerialConfig{Spec: pair.B, Retry: 20 * time.Millisecond},
		func(code string) { mu.Lock(); got = append(got, code); mu.Unlock() },
		func(up bool, err error) { mu.Lock(); states = append(states, up); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s: got %q, states %v", what, got, states)
			}
		}
	}
	connected := func(n int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			c := 0
			for _, s := range states {
				if s {
					c++
				}
			}
			return c >= n
		}
	}
	var want []string
	write := func(codes ...string) {
		t.Helper()
		p, err := serialport.Open(serialport.Config{Path: pair.A})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for _, c := range codes {
			if _, err := p.Write([]byte(c)); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(c, "\r\n") || strings.HasSuffix(c, "\r") {
				want = append(want, strings.TrimRight(c, "\r\n"))
			}
		}
		n := len(want)
		waitFor("codes delivered", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= n })
	}
	waitFor("first connect", connected(1))
	for i := range 5 {
		write(fmt.Sprintf("HX1CODE%03d\r\n", i))
	}
	pair.Unplug() // between codes
	pair.Plug()
	waitFor("reconnect", connected(2))
	write("HX1CODE100\r", "HX1CODE101\r\n")
	// Half a code, then the cable goes.
	p, err := serialport.Open(serialport.Config{Path: pair.A})
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("HX1PART"))
	time.Sleep(20 * time.Millisecond)
	p.Close()
	pair.Unplug()
	pair.Plug()
	waitFor("reconnect after a partial code", connected(3))
	write("HX1CODE200\r\n", "HX1CODE201\r\n")
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("codes %q, want %q", got, want)
	}
}
