package scanner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// pause makes the next key come this long after the previous one, once.
type pause time.Duration

// play turns a script into key events from t0. A time.Duration sets the
// gap between the keys that follow; a pause sets it for the next key only;
// a string is typed, '\n' as Enter, '\t' as Tab, '\b' as Backspace and
// '\x01' as some other key (an arrow).
func play(script ...any) []Key {
	var (
		out      []Key
		at       = t0
		gap      = 8 * ms
		once     time.Duration
		haveOnce bool
	)
	for _, s := range script {
		switch s := s.(type) {
		case time.Duration:
			gap = s
		case pause:
			once, haveOnce = time.Duration(s), true
		case string:
			for _, r := range s {
				if len(out) > 0 {
					if haveOnce {
						at, haveOnce = at.Add(once), false
					} else {
						at = at.Add(gap)
					}
				}
				k := Key{Rune: r, Name: KeyRune, At: at}
				switch r {
				case '\n':
					k = Key{Name: KeyEnter, At: at}
				case '\t':
					k = Key{Name: KeyTab, At: at}
				case '\b':
					k = Key{Name: KeyBackspace, At: at}
				case '\x01':
					k = Key{Name: KeyOther, At: at}
				}
				out = append(out, k)
			}
		default:
			panic(fmt.Sprintf("play: %T", s))
		}
	}
	return out
}

// run feeds keys, calling Tick at every deadline that passes before the
// next key (as the window's timer does), and finally at last key + tail
// if tail > 0.
func run(w *Wedge, keys []Key, tail time.Duration) []Result {
	var out []Result
	for _, k := range keys {
		if d, ok := w.NextDeadline(); ok && d.Before(k.At) {
			out = append(out, w.Tick(d)...)
		}
		out = append(out, w.Key(k)...)
	}
	if tail > 0 && len(keys) > 0 {
		out = append(out, w.Tick(keys[len(keys)-1].At.Add(tail))...)
	}
	return out
}

type want struct {
	kind ResultKind
	text string
	warn string // a substring of the warning; "" for none
	err  error
}

func (w want) String() string {
	return fmt.Sprintf("%v %q warn %q err %v", w.kind, w.text, w.warn, w.err)
}

func show(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n\t%v %q warn %q err %v", r.Kind, r.Text, r.Warning, r.Err)
	}
	return b.String()
}

func check(t *testing.T, got []Result, want []want) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		g, w := got[i], want[i]
		ok = g.Kind == w.kind && g.Text == w.text &&
			(w.warn == "") == (g.Warning == "") && strings.Contains(g.Warning, w.warn) &&
			errors.Is(g.Err, w.err) && (w.err == nil) == (g.Err == nil)
	}
	if !ok {
		t.Errorf("got:%s\nwant: %v", show(got), want)
	}
}

func TestWedge(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []Key
		tail time.Duration // Tick this long after the last key; 0: no Tick
		want []want
	}{
		{"burst + Enter", play("HX1ABCD\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"burst + Tab", play(15*ms, "12345678\t"), 0, []want{{Scan, "12345678", "", nil}}},
		{"burst + Enter as a rune", play("HX1ABCD\r"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"slow suffix", play("HX1ABCD", pause(70*ms), "\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"no suffix, idle", play(10*ms, "HX1ABCD"), 80 * ms, []want{{Scan, "HX1ABCD", "", nil}}},
		{"no suffix, not idle yet", play(10*ms, "HX1ABCD"), 79 * ms, nil},
		{"idle burst ended by the next key", play("HX1ABCD", pause(500*ms), "HX1EFGH\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}, {Scan, "HX1EFGH", "", nil}}},

		{"person typing", play(180*ms, "S0001\n"), 5 * time.Second, []want{{Typed, "S0001", "", nil}}},
		{"person typing, no Enter yet", play(180*ms, "S0001"), 5 * time.Second, nil},
		{"fast typist", play(60*ms, "12345678\n"), 0, []want{{Typed, "12345678", "", nil}}},
		{"faster typist", play(40*ms, "12345678\n"), 0, []want{{Typed, "12345678", "", nil}}},
		{"typist rolling pairs of keys", play(90*ms, "1", pause(20*ms), "2", "3", pause(15*ms), "4", "5", pause(25*ms), "6", "7", pause(20*ms), "8", "\n"), 0,
			[]want{{Typed, "12345678", "", nil}}},
		{"typist rolling pairs, pausing", play(90*ms, "1", pause(20*ms), "2", pause(300*ms), "3", pause(15*ms), "4", "\n"), time.Second,
			[]want{{Typed, "1234", "", nil}}},
		{"person edits", play(150*ms, "HX1AX\bBCD\n"), 0, []want{{Typed, "HX1ABCD", "", nil}}},
		{"person uses an arrow key", play(150*ms, "HX1A\x01BCD\n"), 0, []want{{Typed, "HX1ABCD", "", nil}}},
		{"Backspace inside a burst", play("HX1AX\bBCD\n"), 0, []want{{Typed, "HX1ABCD", "", nil}}},
		{"key auto-repeat", play(20*ms, "1111111\n"), 0, []want{{Typed, "1111111", "", nil}}},

		{"one hesitant gap", play("HX1A", pause(45*ms), "BCD\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"hesitant gaps all along", play(45*ms, "HX1ABCD\n"), 0, []want{{Typed, "HX1ABCD", "", nil}}},
		{"scanner stalls mid-code", play("HX1A", pause(70*ms), "BCD\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"scanner stalls early", play("HX", pause(70*ms), "1ABCD\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"scanner stalls, no suffix", play("HX1A", pause(70*ms), "BCD"), 80 * ms, []want{{Scan, "HX1ABCD", "", nil}}},
		{"scanner stalls before its last key", play("HX1ABC", pause(70*ms), "D\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"pause over Idle splits", play("HX1A", pause(90*ms), "BCD\n"), 0,
			[]want{{Scan, "HX1A", "", nil}, {Rejected, "BCD", "", ErrTooShort}}},

		{"person types right after a suffix-less scan", play("HX1ABCD", pause(60*ms), 200*ms, "S0001\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}, {Typed, "S0001", "", nil}}},
		{"person's key right after a suffix-less scan", play("HX1ABCD", pause(60*ms), "5"), 80 * ms,
			[]want{{Scan, "HX1ABCD", "", nil}}},
		{"Backspace right after a suffix-less scan", play("HX1ABCD", pause(60*ms), "\b"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}}},
		{"stray key, then a scan", play("q", pause(2*time.Second), "HX1ABCD\n"), 0,
			[]want{{Rejected, "q", "", ErrInterrupted}, {Scan, "HX1ABCD", "", nil}}},
		{"half-typed code, then a suffix-less scan", play(150*ms, "S00", pause(time.Second), 8*ms, "HX1ABCD"), 80 * ms,
			[]want{{Rejected, "S00", "", ErrInterrupted}, {Scan, "HX1ABCD", "", nil}}},
		{"spaces typed, then a scan", play(150*ms, "  ", pause(time.Second), 8*ms, "HX1ABCD\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}}},

		{"too short", play("AB\n"), 0, []want{{Rejected, "AB", "", ErrTooShort}}},
		{"too short typed", play(150*ms, "AB\n"), 0, []want{{Rejected, "AB", "", ErrTooShort}}},
		{"Enter alone", play("\n"), 0, nil},
		{"spaces alone", play(150*ms, "  \n"), 0, []want{{Rejected, "", "", ErrEmpty}}},
		{"person's first key does not time out", play("S"), time.Second, nil},
		{"too long", play(strings.Repeat("A", MaxLen+5) + "\n"), 0, []want{{Rejected, "", "", ErrTooLong}}},
		{"too long, no suffix", play(strings.Repeat("A", MaxLen) + "B"), 80 * ms, []want{{Rejected, "", "", ErrTooLong}}},

		{"repeat", play("HX1ABCD\n", pause(time.Second), "HX1ABCD\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}, {Repeat, "HX1ABCD", "", nil}}},
		{"again after the window", play("HX1ABCD\n", pause(3*time.Second), "HX1ABCD\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}, {Scan, "HX1ABCD", "", nil}}},
		{"repeats keep the window open", play("HX1ABCD\n", pause(time.Second), "HX1ABCD\n", pause(time.Second), "HX1ABCD\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}, {Repeat, "HX1ABCD", "", nil}, {Repeat, "HX1ABCD", "", nil}}},
		{"another code between", play("HX1ABCD\n", pause(300*ms), "HX1EFGH\n", pause(300*ms), "HX1ABCD\n"), 0,
			[]want{{Scan, "HX1ABCD", "", nil}, {Scan, "HX1EFGH", "", nil}, {Scan, "HX1ABCD", "", nil}}},
		{"typed twice is not a repeat", play(150*ms, "S0001\nS0001\n"), 0,
			[]want{{Typed, "S0001", "", nil}, {Typed, "S0001", "", nil}}},

		{"AIM and GS", play("]d201034\x1d10AB\n"), 0, []want{{Scan, "01034\x1d10AB", "", nil}}},
		{"ECI", play(`\000026HX1ABCD` + "\n"), 0, []want{{Scan, "HX1ABCD", "", nil}}},
		{"AZERTY digits", play("&é\"'(-è_\n"), 0, []want{{Scan, "&é\"'(-è_", "AZERTY", nil}}},
		{"AZERTY code", play("HX&QBCD\"'\n"), 0, []want{{Scan, "HX&QBCD\"'", "AZERTY", nil}}},
		{"QWERTZ", play("HX1ßABC\n"), 0, []want{{Scan, "HX1ßABC", "QWERTZ", nil}}},
		{"dashes and ampersands are not a layout", play("HX-1&A'B\n"), 0, []want{{Scan, "HX-1&A'B", "", nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, run(NewWedge(WedgeConfig{}), tc.keys, tc.tail), tc.want)
		})
	}
}

// Results depend on the key timestamps only: Tick called at every
// deadline, late, or never gives the same results.
func TestWedgeTickTiming(t *testing.T) {
	keys := play("HX1ABCD", pause(60*ms), 150*ms, "S0", pause(time.Second), 8*ms, "HX1EFGH", pause(time.Second), "HX1EFGH", pause(200*ms), "X")
	want := run(NewWedge(WedgeConfig{}), keys, time.Hour)
	late := NewWedge(WedgeConfig{})
	var got []Result
	for _, k := range keys {
		if d, ok := late.NextDeadline(); ok {
			got = append(got, late.Tick(d.Add(-time.Millisecond))...) // early: nothing
			if d.Add(7 * ms).Before(k.At) {
				got = append(got, late.Tick(d.Add(7*ms))...)
			}
		}
		got = append(got, late.Key(k)...)
	}
	got = append(got, late.Tick(keys[len(keys)-1].At.Add(time.Hour))...)
	never := NewWedge(WedgeConfig{})
	var none []Result
	for _, k := range keys {
		none = append(none, never.Key(k)...)
	}
	none = append(none, never.Tick(keys[len(keys)-1].At.Add(time.Hour))...)
	if len(want) != 4 {
		t.Fatalf("ticked on time:%s\nwant 4 results", show(want))
	}
	if !slices.EqualFunc(got, want, sameResult) {
		t.Errorf("ticked late:%s\nwant:%s", show(got), show(want))
	}
	if !slices.EqualFunc(none, want, sameResult) {
		t.Errorf("never ticked:%s\nwant:%s", show(none), show(want))
	}
}

func sameResult(a, b Result) bool {
	return a.Kind == b.Kind && a.Text == b.Text && a.Warning == b.Warning && fmt.Sprint(a.Err) == fmt.Sprint(b.Err)
}

func TestWedgeDeadline(t *testing.T) {
	w := NewWedge(WedgeConfig{})
	if _, ok := w.NextDeadline(); ok {
		t.Fatal("a deadline before any key")
	}
	for _, k := range play(10*ms, "HX1") {
		w.Key(k)
	}
	if d, ok := w.NextDeadline(); ok {
		t.Fatalf("NextDeadline after 3 keys = %v, want none (shorter than MinLen)", d)
	}
	w.Key(Key{Rune: 'A', At: t0.Add(30 * ms)})
	d, ok := w.NextDeadline()
	if want := t0.Add(30 * ms).Add(80 * ms); !ok || !d.Equal(want) {
		t.Fatalf("NextDeadline = %v, %v; want %v", d, ok, want)
	}
	if r := w.Tick(d.Add(-time.Nanosecond)); r != nil {
		t.Fatalf("Tick before the deadline = %s, want nothing", show(r))
	}
	check(t, w.Tick(d), []want{{Scan, "HX1A", "", nil}})
	if _, ok := w.NextDeadline(); ok {
		t.Error("a deadline with nothing under way")
	}
}

func TestWedgePending(t *testing.T) {
	w := NewWedge(WedgeConfig{})
	for _, k := range play(150*ms, "S0X\b") {
		w.Key(k)
	}
	if got := w.Pending(); got != "S0" {
		t.Fatalf("Pending = %q, want %q", got, "S0")
	}
	w.Key(Key{Name: KeyEnter, At: t0.Add(time.Second)})
	if got := w.Pending(); got != "" {
		t.Fatalf("Pending after Enter = %q, want empty", got)
	}
}

func TestWedgeConfig(t *testing.T) {
	w := NewWedge(WedgeConfig{MinLen: 2, RepeatWindow: 10 * time.Second, Idle: 200 * ms})
	got := run(w, play("AB\n", pause(5*time.Second), "AB", pause(250*ms), "CD"), 200*ms)
	check(t, got, []want{{Scan, "AB", "", nil}, {Repeat, "AB", "", nil}, {Scan, "CD", "", nil}})
}

// keysFrom turns fuzz bytes into key events: each key takes two bytes, the
// gap before it in milliseconds and the key (a few special keys, else a
// character from a small alphabet with GS, AIM and ECI material, spaces
// and control characters).
func keysFrom(data []byte) []Key {
	const alphabet = "HX1ABCD0123456789]Qd\\\x1d \x00é&ß\u200b"
	runes := []rune(alphabet)
	var out []Key
	at := t0
	for i := 0; i+1 < len(data); i += 2 {
		at = at.Add(time.Duration(data[i]) * ms)
		k := Key{At: at}
		switch c := data[i+1]; {
		case c < 8:
			k.Name = KeyEnter
		case c < 10:
			k.Name = KeyTab
		case c < 14:
			k.Name = KeyBackspace
		case c < 16:
			k.Name = KeyOther
		default:
			k.Rune = runes[int(c)%len(runes)]
		}
		out = append(out, k)
	}
	return out
}

func FuzzWedge(f *testing.F) {
	f.Add([]byte("\x08H\x08X\x081\x08A\x08B\x08C\x08D\x08\x00"))
	f.Add([]byte("\x96H\x96X\x961\x96A\x96\x00"))
	f.Add([]byte("\x08H\x08X\x461\x08A\x08B\xff\x10"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys := keysFrom(data)
		if len(keys) == 0 {
			return
		}
		w := NewWedge(WedgeConfig{MaxLen: 64})
		got := run(w, keys, time.Hour)
		for _, r := range got {
			switch r.Kind {
			case Scan, Repeat, Typed:
				checkNormalized(t, "keys", r.Text)
				if n := len([]rune(r.Text)); n < 4 {
					t.Fatalf("%v %q: %d characters, fewer than MinLen", r.Kind, r.Text, n)
				}
				if r.Err != nil {
					t.Fatalf("%v %q with error %v", r.Kind, r.Text, r.Err)
				}
			case Rejected:
				if r.Err == nil {
					t.Fatalf("Rejected %q without an error", r.Text)
				}
				if r.Text != "" {
					checkNormalized(t, "keys", r.Text)
				}
			default:
				t.Fatalf("unknown kind %v", r.Kind)
			}
		}
		// The same keys with Tick never called give the same results.
		never := NewWedge(WedgeConfig{MaxLen: 64})
		var again []Result
		for _, k := range keys {
			again = append(again, never.Key(k)...)
		}
		again = append(again, never.Tick(keys[len(keys)-1].At.Add(time.Hour))...)
		if !slices.EqualFunc(again, got, sameResult) {
			t.Fatalf("without Tick:%s\nwith Tick:%s", show(again), show(got))
		}
	})
}

// BenchmarkWedgeKey is the cost of one keystroke of a stream of 33-key
// scans ending in Enter, with the results each Enter returns.
func BenchmarkWedgeKey(b *testing.B) {
	w := NewWedge(WedgeConfig{})
	codes := []string{"HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567", "HX1BCDEFGHJKLMNPQRSTUVWXYZ2345678"}
	at := t0
	b.ReportAllocs()
	i, c := 0, 0
	for b.Loop() {
		code := codes[c%2]
		at = at.Add(8 * ms)
		k := Key{Rune: rune(code[i]), At: at}
		if i++; i == len(code) {
			k = Key{Name: KeyEnter, At: at}
			i, c = 0, c+1
		}
		if d, ok := w.NextDeadline(); ok && !d.After(at) {
			w.Tick(d)
		}
		w.Key(k)
	}
}

// BenchmarkWedgePerson is the cost of one keystroke of a person typing.
func BenchmarkWedgePerson(b *testing.B) {
	w := NewWedge(WedgeConfig{})
	code := "S0001234\n"
	at := t0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at = at.Add(150 * ms)
		w.Key(Key{Rune: rune(code[i]), At: at})
		i = (i + 1) % len(code)
	}
}
