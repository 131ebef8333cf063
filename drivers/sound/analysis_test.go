package sound

import (
	"math"
)

// What the tests hear in PCM, independent of how Tone makes it: samples
// are floats in −1..1 (full scale), as oto hands them to the device.

func floats(pcm []int16) []float64 {
	out := make([]float64, len(pcm))
	for i, s := range pcm {
		out[i] = float64(s) / 32768
	}
	return out
}

// amplitude is the amplitude of hz in x (Goertzel), in full-scale units:
// a sine of amplitude A at hz over a whole number of periods gives A.
func amplitude(x []float64, rate int, hz float64) float64 {
	if len(x) == 0 {
		return 0
	}
	w := 2 * math.Pi * hz / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := v + c*s1 - s2
		s2, s1 = s1, s0
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	return 2 * math.Hypot(re, im) / float64(len(x))
}

// dominant is the frequency from 100 to 3000 Hz, in 10 Hz steps, with the
// largest amplitude in x.
func dominant(x []float64, rate int) float64 {
	best, bestA := 0.0, -1.0
	for hz := 100.0; hz <= 3000; hz += 10 {
		if a := amplitude(x, rate, hz); a > bestA {
			best, bestA = hz, a
		}
	}
	return best
}

// span is one burst of sound: samples [from, to).
type span struct{ from, to int }

func (s span) ms(rate int) float64 { return float64(s.to-s.from) * 1000 / float64(rate) }

// bursts finds the bursts of sound in x: runs where the signal exceeds
// 2% of full scale, merging runs less than 10 ms apart (a tone's own zero
// crossings are far shorter).
func bursts(x []float64, rate int) []span {
	const level = 0.02
	join := rate / 100
	var out []span
	for i, v := range x {
		if math.Abs(v) < level {
			continue
		}
		if n := len(out); n > 0 && i-out[n-1].to <= join {
			out[n-1].to = i + 1
			continue
		}
		out = append(out, span{i, i + 1})
	}
	return out
}

// peakAbs is the largest magnitude in x.
func peakAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// classify tells a sound's kind the way a cashier does: by how many beeps
// and how high. It returns 0 when the sound is none of the three.
func classify(x []float64, rate int) Kind {
	b := bursts(x, rate)
	pitch := func(s span) float64 { return dominant(x[s.from:s.to], rate) }
	switch {
	case len(b) == 2 && pitch(b[1]) > pitch(b[0])*1.2:
		return Accepted
	case len(b) == 1 && pitch(b[0]) < 400 && b[0].ms(rate) > 300:
		return Rejected
	case len(b) == 3 && pitch(b[0]) == pitch(b[1]) && pitch(b[1]) == pitch(b[2]):
		return Attention
	}
	return 0
}
