package sound

import (
	"encoding/binary"
	"math"
	"strconv"
	"testing"
)

// want is what the brief asks each sound to be, burst by burst.
type wantBurst struct {
	hz         float64 // dominant frequency, ±10 Hz
	minMS      float64 // measured above 2% of full scale
	maxMS      float64
	harmonic3  bool // a strong third harmonic (square-ish)
	gapAfterMS float64
}

var wants = map[Kind][]wantBurst{
	Accepted:  {{hz: 880, minMS: 75, maxMS: 100}, {hz: 1320, minMS: 75, maxMS: 100}},
	Rejected:  {{hz: 250, minMS: 420, maxMS: 470, harmonic3: true}},
	Attention: {{hz: 660, minMS: 55, maxMS: 80}, {hz: 660, minMS: 55, maxMS: 80}, {hz: 660, minMS: 55, maxMS: 80}},
}

func TestToneDesigns(t *testing.T) {
	for _, rate := range []int{8000, 22050, 44100, 48000, 96000} {
		for _, k := range Kinds {
			t.Run(k.String()+"/"+strconv.Itoa(rate), func(t *testing.T) {
				pcm, err := Tone(k, rate)
				if err != nil {
					t.Fatalf("Tone: %v", err)
				}
				x := floats(pcm)
				if ms := float64(len(x)) * 1000 / float64(rate); ms > MaxDuration {
					t.Errorf("length: got %.1f ms, want <= %d ms", ms, MaxDuration)
				}
				checkBursts(t, x, rate, wants[k])
				// Loud enough to hear, but with headroom: never near clipping.
				if p := peakAbs(x); p < 0.5 || p > 0.7 {
					t.Errorf("peak: got %.3f of full scale, want 0.5..0.7", p)
				}
				for i, s := range pcm {
					if s == math.MaxInt16 || s == math.MinInt16 {
						t.Fatalf("sample %d clipped: %d", i, s)
					}
				}
				if got := classify(x, rate); got != k {
					t.Errorf("classify: got %v, want %v", got, k)
				}
			})
		}
	}
}

// checkBursts proves x has the wanted bursts: their number, lengths,
// pitches, and soft edges (no clicks).
func checkBursts(t *testing.T, x []float64, rate int, want []wantBurst) {
	t.Helper()
	b := bursts(x, rate)
	if len(b) != len(want) {
		t.Fatalf("bursts: got %d %v, want %d", len(b), b, len(want))
	}
	peak := peakAbs(x)
	for i, s := range b {
		w := want[i]
		if ms := s.ms(rate); ms < w.minMS || ms > w.maxMS {
			t.Errorf("burst %d: got %.1f ms, want %.0f..%.0f", i, ms, w.minMS, w.maxMS)
		}
		seg := x[s.from:s.to]
		if got := dominant(seg, rate); math.Abs(got-w.hz) > 10 {
			t.Errorf("burst %d: got %.0f Hz dominant, want %.0f", i, got, w.hz)
		}
		a1, a3 := amplitude(seg, rate, w.hz), amplitude(seg, rate, 3*w.hz)
		if w.harmonic3 && a3 < 0.2*a1 {
			t.Errorf("burst %d: third harmonic got %.3f of the fundamental, want >= 0.2 (square-ish)", i, a3/a1)
		}
		if !w.harmonic3 && a3 > 0.02*a1 {
			t.Errorf("burst %d: third harmonic got %.3f of the fundamental, want a clean tone", i, a3/a1)
		}
		// Soft attack and release: the first and last millisecond stay
		// well under the peak, and the burst begins and ends near zero.
		ms1 := rate / 1000
		if p := peakAbs(seg[:ms1]); p > 0.5*peak {
			t.Errorf("burst %d attack: got %.3f in the first ms, want <= %.3f", i, p, 0.5*peak)
		}
		if p := peakAbs(seg[len(seg)-ms1:]); p > 0.5*peak {
			t.Errorf("burst %d release: got %.3f in the last ms, want <= %.3f", i, p, 0.5*peak)
		}
	}
	if math.Abs(x[0]) > 0.001 || math.Abs(x[len(x)-1]) > 0.001 {
		t.Errorf("edges: got first %.4f, last %.4f, want silence", x[0], x[len(x)-1])
	}
}

// TestKindsDiffer proves no two sounds can be mistaken: each pair differs
// in the number of beeps or their pitch by a musical interval or more.
func TestKindsDiffer(t *testing.T) {
	const rate = 48000
	type feature struct {
		n     int
		pitch []float64
	}
	feat := map[Kind]feature{}
	for _, k := range Kinds {
		pcm, err := Tone(k, rate)
		if err != nil {
			t.Fatal(err)
		}
		x := floats(pcm)
		var f feature
		for _, s := range bursts(x, rate) {
			f.n++
			f.pitch = append(f.pitch, dominant(x[s.from:s.to], rate))
		}
		feat[k] = f
	}
	for i, a := range Kinds {
		for _, b := range Kinds[i+1:] {
			fa, fb := feat[a], feat[b]
			if fa.n == fb.n && math.Abs(math.Log2(fa.pitch[0]/fb.pitch[0])) < 0.25 {
				t.Errorf("%v and %v alike: %+v, %+v", a, b, fa, fb)
			}
		}
	}
}

func TestToneBadInput(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		rate int
		want string
	}{
		{0, 48000, "tone: unknown kind 0"},
		{4, 48000, "tone: unknown kind 4"},
		{-1, 48000, "tone: unknown kind -1"},
		{Accepted, 0, "tone: sample rate 0 Hz out of range 8000..192000"},
		{Accepted, 7999, "tone: sample rate 7999 Hz out of range 8000..192000"},
		{Rejected, 192001, "tone: sample rate 192001 Hz out of range 8000..192000"},
		{Attention, -48000, "tone: sample rate -48000 Hz out of range 8000..192000"},
	} {
		pcm, err := Tone(c.kind, c.rate)
		if err == nil || err.Error() != c.want || pcm != nil {
			t.Errorf("Tone(%d, %d): got %d samples, %v; want nil, %q", c.kind, c.rate, len(pcm), err, c.want)
		}
		b, err := ToneBytes(c.kind, c.rate)
		if err == nil || b != nil {
			t.Errorf("ToneBytes(%d, %d): got %d bytes, %v; want an error", c.kind, c.rate, len(b), err)
		}
	}
}

func TestToneBytes(t *testing.T) {
	for _, k := range Kinds {
		pcm, _ := Tone(k, 44100)
		b, err := ToneBytes(k, 44100)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 2*len(pcm) {
			t.Fatalf("%v: got %d bytes, want %d", k, len(b), 2*len(pcm))
		}
		for i, s := range pcm {
			if got := int16(binary.LittleEndian.Uint16(b[2*i:])); got != s {
				t.Fatalf("%v sample %d: got %d, want %d", k, i, got, s)
			}
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Accepted: "accepted", Rejected: "rejected", Attention: "attention", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d): got %q, want %q", int(k), got, want)
		}
	}
}

// FuzzTone: any kind and rate gives a bounded sound or a precise error,
// never a panic.
func FuzzTone(f *testing.F) {
	f.Add(1, 48000)
	f.Add(2, 8000)
	f.Add(3, 192000)
	f.Add(0, 44100)
	f.Add(1, -1)
	f.Fuzz(func(t *testing.T, kind, rate int) {
		pcm, err := Tone(Kind(kind), rate)
		if err != nil {
			if pcm != nil {
				t.Fatalf("error %v with %d samples", err, len(pcm))
			}
			return
		}
		if len(pcm) == 0 || len(pcm) > MaxDuration*rate/1000 {
			t.Fatalf("Tone(%d, %d): got %d samples", kind, rate, len(pcm))
		}
	})
}
