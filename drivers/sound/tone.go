package sound

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Kind is one of the sounds: one per kind of verdict. The values match
// terminal/ui's Sound (1, 2, 3), so wiring is a conversion.
type Kind int

// The sounds. Each is at most 500 ms long, so the next scan is never
// kept waiting, and each differs from the others in pitch, length and
// rhythm, so a cashier tells them apart without looking.
const (
	Accepted  Kind = iota + 1 // two short rising beeps: 880 Hz, then 1320 Hz
	Rejected                  // one long low buzz: 250 Hz, square-ish, 450 ms
	Attention                 // three short mid beeps: 660 Hz
)

// Kinds lists every Kind, in order.
var Kinds = []Kind{Accepted, Rejected, Attention}

func (k Kind) String() string {
	switch k {
	case Accepted:
		return "accepted"
	case Rejected:
		return "rejected"
	case Attention:
		return "attention"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// The sample rates Tone accepts.
const (
	MinRate = 8000
	MaxRate = 192000
)

// MaxDuration is the longest any sound lasts.
const MaxDuration = 500 // milliseconds

// peak is the loudest sample of every sound, as a fraction of full scale:
// 0.6 (−4.4 dBFS) leaves headroom, so nothing clips even after a device
// resamples.
const peak = 0.6

// ramp is each beep's attack and release (raised cosine), long enough
// that a beep starts and stops without a click.
const rampMS = 5.0

// beep is one burst of a sound: a tone (a sine, or a band-limited square
// when square is set) of hz for ms milliseconds, after gapMS of silence.
type beep struct {
	gapMS, ms float64
	hz        float64
	square    bool
}

// designs are the sounds, burst by burst.
var designs = map[Kind][]beep{
	// Two short rising beeps: a fifth up, bright and brief — "yes".
	Accepted: {{ms: 90, hz: 880}, {gapMS: 40, ms: 90, hz: 1320}},
	// One long low buzz, rich in odd harmonics — "no".
	Rejected: {{ms: 450, hz: 250, square: true}},
	// Three short mid beeps — "look at the screen".
	Attention: {{ms: 70, hz: 660}, {gapMS: 50, ms: 70, hz: 660}, {gapMS: 50, ms: 70, hz: 660}},
}

// Tone returns the PCM of a sound: mono, signed 16-bit samples at rate
// samples per second. It is pure and allocates one slice; callers that
// play a sound often keep the result.
func Tone(kind Kind, rate int) ([]int16, error) {
	bursts, ok := designs[kind]
	if !ok {
		return nil, fmt.Errorf("tone: unknown kind %d", int(kind))
	}
	if rate < MinRate || rate > MaxRate {
		return nil, fmt.Errorf("tone: sample rate %d Hz out of range %d..%d", rate, MinRate, MaxRate)
	}
	n := 0
	for _, b := range bursts {
		n += samples(b.gapMS, rate) + samples(b.ms, rate)
	}
	pcm := make([]int16, n)
	at := 0
	for _, b := range bursts {
		at += samples(b.gapMS, rate)
		m := samples(b.ms, rate)
		render(pcm[at:at+m], b, rate)
		at += m
	}
	return pcm, nil
}

// ToneBytes returns Tone's samples as little-endian bytes (s16le), the
// form audio devices take.
func ToneBytes(kind Kind, rate int) ([]byte, error) {
	pcm, err := Tone(kind, rate)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
	}
	return out, nil
}

func samples(ms float64, rate int) int {
	return int(math.Round(ms * float64(rate) / 1000))
}

// squarePartials are a square wave's odd harmonics up to the 7th, each at
// 1/n; their sum peaks at 0.930 (Gibbs overshoot), so dividing by
// squarePeak keeps it within ±1.
var squarePartials = []struct{ n, amp float64 }{{1, 1}, {3, 1.0 / 3}, {5, 1.0 / 5}, {7, 1.0 / 7}}

const squarePeak = 0.931

// render writes one burst into out.
func render(out []int16, b beep, rate int) {
	ramp := samples(rampMS, rate)
	if 2*ramp > len(out) {
		ramp = len(out) / 2
	}
	w := 2 * math.Pi * b.hz / float64(rate)
	for i := range out {
		var v float64
		if b.square {
			for _, p := range squarePartials {
				if b.hz*p.n < float64(rate)/2 {
					v += p.amp * math.Sin(p.n*w*float64(i))
				}
			}
			v /= squarePeak
		} else {
			v = math.Sin(w * float64(i))
		}
		env := 1.0
		switch {
		case i < ramp:
			env = 0.5 - 0.5*math.Cos(math.Pi*float64(i)/float64(ramp))
		case i >= len(out)-ramp:
			env = 0.5 - 0.5*math.Cos(math.Pi*float64(len(out)-1-i)/float64(ramp))
		}
		out[i] = int16(math.Round(peak * env * v * math.MaxInt16))
	}
}
