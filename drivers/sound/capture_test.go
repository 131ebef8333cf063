package sound

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// oto opens one audio device per process, and ALSA reads its
// configuration when the device opens: each device test runs in its own
// child process (this test binary again, running TestChild) with its own
// ALSA_CONFIG_PATH.

const childEnv = "HEXIAO_SOUND_CHILD"

// runChild runs TestChild in a child process in mode, with env added, and
// fails t with the child's output when the child fails.
func runChild(t *testing.T, mode string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestChild") {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	t.Logf("child %s:\n%s", mode, out)
}

// TestChild is the child side of the device tests.
func TestChild(t *testing.T) {
	switch mode := os.Getenv(childEnv); mode {
	case "":
		t.Skip("runs only in a child process of TestOpenWithoutDevice or TestPlayThroughALSA")
	case "nodevice":
		childNoDevice(t)
	case "capture":
		childCapture(t, os.Getenv("HEXIAO_SOUND_FIFO"))
	default:
		t.Fatalf("unknown child mode %q", mode)
	}
}

// TestOpenWithoutDevice: with no audio device (ALSA configured with none),
// Open fails with ErrNoDevice and a message saying so, again on a second
// call, and never panics.
func TestOpenWithoutDevice(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "asound.conf")
	if err := os.WriteFile(conf, []byte("# no devices at all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runChild(t, "nodevice", "ALSA_CONFIG_PATH="+conf)
}

func childNoDevice(t *testing.T) {
	p, err := Open(Options{})
	if !errors.Is(err, ErrNoDevice) || p != nil {
		t.Fatalf("Open: got %v, %v; want nil, ErrNoDevice", p, err)
	}
	if !strings.HasPrefix(err.Error(), "sound: no audio device: ") || !strings.Contains(err.Error(), "snd_pcm_open") {
		t.Errorf("Open: got %q, want the ALSA open failure after \"sound: no audio device: \"", err)
	}
	t.Logf("Open: %v", err)
	p2, err2 := Open(Options{})
	if p2 != nil || err2 != err {
		t.Errorf("second Open: got %v, %v; want nil and the same error %v", p2, err2, err)
	}
}

// TestPlayThroughALSA plays every sound through oto and ALSA into ALSA's
// file plugin, whose output is a FIFO this test reads at twice real time,
// and checks what the device received.
func TestPlayThroughALSA(t *testing.T) {
	if testing.Short() {
		t.Skip("plays through ALSA for a few seconds")
	}
	// Only this configuration: no alsa.conf, so no device of the machine
	// can be picked instead. The file plugin writes the samples as oto
	// sends them (float32 LE, mono).
	conf, fifo, err := fileDevice(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	runChild(t, "capture", "ALSA_CONFIG_PATH="+conf, "HEXIAO_SOUND_FIFO="+fifo)
}

func childCapture(t *testing.T, fifo string) {
	const rate = 48000
	c := startCapture(t, fifo, rate, 2)
	p, err := Open(Options{SampleRate: rate})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	closed := false
	defer func() {
		c.resume()
		if !closed {
			p.Close()
		}
	}()

	// The device streams silence until a sound is played; unknown kinds
	// play nothing.
	p.Play(0)
	p.Play(Kind(99))
	c.waitLen(t, rate/4)
	if pk := peakAbs(c.since(0)); pk != 0 {
		t.Fatalf("before Play: got peak %.4f, want silence", pk)
	}
	for _, v := range []struct{ set, want float64 }{{-1, 0}, {math.NaN(), 0}, {2, 1}, {0.5, 0.5}, {1, 1}} {
		if p.SetVolume(v.set); p.Volume() != v.want {
			t.Errorf("SetVolume(%v): got Volume %v, want %v", v.set, p.Volume(), v.want)
		}
	}

	for _, k := range Kinds {
		mark := c.len()
		p.Play(k)
		got := c.waitSound(t, mark)
		t.Logf("%v: %s; peak %.3f, clickiness %.4f", k, describe(got, rate), peakAbs(got), clickiness(got))
		if cl := clickiness(got); cl > 0.05 {
			t.Errorf("%v: got a second difference of %.3f, want <= 0.05 (no click)", k, cl)
		}
		checkBursts(t, got, rate, wants[k])
		if kind := classify(got, rate); kind != k {
			t.Errorf("%v: classified as %v", k, kind)
		}
		checkSamples(t, k, got, 1)
	}

	// The volume scales what reaches the device.
	p.SetVolume(0.25)
	mark := c.len()
	p.Play(Attention)
	got := c.waitSound(t, mark)
	if pk := peakAbs(got); math.Abs(pk-0.25*peak) > 0.005 {
		t.Errorf("volume 0.25: got peak %.4f, want %.4f", pk, 0.25*peak)
	}
	checkSamples(t, Attention, got, 0.25)
	p.SetVolume(1)

	// A new sound cuts the one playing off, without a click.
	mark = c.len()
	p.Play(Rejected)
	c.waitAudible(t, mark)
	p.Play(Accepted)
	got = c.waitSound(t, mark)
	b := bursts(got, rate)
	if len(b) < 2 {
		t.Fatalf("cut-off: got %s; want the buzz then the beeps", describe(got, rate))
	}
	first, last := b[0], b[len(b)-1]
	if hz := dominant(got[first.from:first.from+rate/25], rate); hz != 250 {
		t.Errorf("cut-off: the sound began at %.0f Hz, want the 250 Hz buzz", hz)
	}
	if hz := dominant(got[last.from:last.to], rate); hz != 1320 {
		t.Errorf("cut-off: the sound ended at %.0f Hz, want the 1320 Hz beep", hz)
	}
	if ms := (span{first.from, last.to}).ms(rate); ms >= 600 {
		t.Errorf("cut-off: got %.0f ms of sound, want the buzz cut short (< 600 ms; whole, they last 670)", ms)
	}
	t.Logf("cut-off: %s; clickiness %.4f", describe(got, rate), clickiness(got))
	if cl := clickiness(got); cl > 0.05 {
		t.Errorf("cut-off: got a second difference of %.3f, want <= 0.05 (no click)", cl)
	}

	// Play never waits for the device: with the device stalled (nobody
	// reads the FIFO, so ALSA's write blocks), a thousand Plays return.
	c.pause()
	time.Sleep(100 * time.Millisecond)
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		for i := range 1000 {
			p.Play(Kinds[i%len(Kinds)])
			p.SetVolume(1)
		}
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		t.Logf("1000 Play+SetVolume on a stalled device: %v", d)
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("Play blocked on a stalled device")
	}
	c.resume()
	c.waitQuiet(t)
	mark = c.len()
	p.Play(Rejected)
	checkBursts(t, c.waitSound(t, mark), rate, wants[Rejected])

	if err := p.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	closed = true
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	p.Play(Accepted) // nothing, no panic
	p.SetVolume(0.5)

	// The process's device opens again (the same oto context) ...
	p2, err := Open(Options{SampleRate: rate})
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer p2.Close()
	c.waitQuiet(t)
	mark = c.len()
	p2.Play(Attention)
	checkBursts(t, c.waitSound(t, mark), rate, wants[Attention])
	// ... at its first rate only.
	if p3, err := Open(Options{SampleRate: 44100}); err == nil || p3 != nil || !strings.Contains(err.Error(), "already open at 48000 Hz") {
		t.Errorf("Open at another rate: got %v, %v", p3, err)
	}
}

// checkSamples proves got holds kind's samples exactly as Tone made them,
// scaled by volume: the device received the sound bit for bit.
func checkSamples(t *testing.T, kind Kind, got []float64, volume float32) {
	t.Helper()
	pcm, _ := Tone(kind, 48000)
	i, j := firstNonZero16(pcm), firstNonZero(got)
	if i < 0 || j < 0 {
		t.Fatalf("%v: nothing to compare", kind)
	}
	n := len(pcm) - i
	if len(got)-j < n {
		t.Fatalf("%v: got %d samples after the start, want %d", kind, len(got)-j, n)
	}
	for k := range n {
		want := float32(pcm[i+k]) / (1 << 15) * volume
		if g := float32(got[j+k]); math.Abs(float64(g-want)) > 1e-6 {
			t.Fatalf("%v sample %d: got %.6f, want %.6f", kind, k, g, want)
		}
	}
}

func firstNonZero16(x []int16) int {
	for i, v := range x {
		if v != 0 {
			return i
		}
	}
	return -1
}

func firstNonZero(x []float64) int {
	for i, v := range x {
		if v != 0 {
			return i
		}
	}
	return -1
}

// clickiness is the largest second difference in x. Our tones, at most
// 0.6 of full scale and 1320 Hz (or 250 Hz with harmonics up to 1750 Hz),
// bend by at most 0.02 a sample at 48 kHz; a sound cut off or started
// abruptly jumps by about its amplitude (a click).
func clickiness(x []float64) float64 {
	m := 0.0
	for i := 2; i < len(x); i++ {
		m = math.Max(m, math.Abs(x[i]-2*x[i-1]+x[i-2]))
	}
	return m
}

// describe lists x's bursts with their lengths and pitches.
func describe(x []float64, rate int) string {
	var b strings.Builder
	for _, s := range bursts(x, rate) {
		fmt.Fprintf(&b, "[%.0f ms at %.0f Hz from %.0f ms] ", s.ms(rate), dominant(x[s.from:s.to], rate), float64(s.from)*1000/float64(rate))
	}
	return b.String()
}

// capture reads what the device plays (float32 LE mono) from the file
// plugin's FIFO at speed times real time, in run, until the FIFO is
// closed.
type capture struct {
	rate, speed int

	mu     sync.Mutex // guards x and paused
	x      []float64
	paused bool
}

func startCapture(t *testing.T, fifo string, rate, speed int) *capture {
	f, err := openFIFO(fifo)
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{rate: rate, speed: speed}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(f)
	}()
	t.Cleanup(func() {
		c.resume()
		f.Close()
		<-done
	})
	return c
}

// openFIFO opens the file plugin's FIFO read-write, so opening does not
// wait for ALSA to open the other end, with the smallest pipe buffer (a
// page), so little sound waits in it.
func openFIFO(fifo string) (*os.File, error) {
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open fifo: %w", err)
	}
	if sc, err := f.SyscallConn(); err == nil {
		_ = sc.Control(func(fd uintptr) { _, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, 1031 /* F_SETPIPE_SZ */, 4096) })
	}
	return f, nil
}

// fileDevice writes an ALSA configuration into dir whose only device is
// the file plugin writing to a new FIFO there, passing the samples on to
// a null device (which takes them as fast as they come: the FIFO's
// reader paces the stream). It returns the configuration's and the
// FIFO's paths.
func fileDevice(dir string) (conf, fifo string, err error) {
	fifo = filepath.Join(dir, "pcm.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return "", "", fmt.Errorf("mkfifo: %w", err)
	}
	conf = filepath.Join(dir, "asound.conf")
	text := `pcm.!default {
	type file
	slave.pcm { type null }
	file "` + fifo + `"
	format "raw"
}
`
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", "", err
	}
	return conf, fifo, nil
}

func (c *capture) run(f *os.File) {
	buf := make([]byte, 4096)
	var rest []byte
	for {
		c.mu.Lock()
		paused := c.paused
		c.mu.Unlock()
		if paused {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		rest = append(rest, buf[:n]...)
		m := len(rest) / 4
		c.mu.Lock()
		for i := range m {
			c.x = append(c.x, float64(math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))))
		}
		c.mu.Unlock()
		rest = append(rest[:0], rest[4*m:]...)
		time.Sleep(time.Duration(m) * time.Second / time.Duration(c.rate*c.speed))
	}
}

func (c *capture) pause()  { c.set(true) }
func (c *capture) resume() { c.set(false) }

func (c *capture) set(paused bool) {
	c.mu.Lock()
	c.paused = paused
	c.mu.Unlock()
}

func (c *capture) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.x)
}

// since returns a copy of the samples from index from on.
func (c *capture) since(from int) []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]float64(nil), c.x[from:]...)
}

// wait polls until ok holds for the samples since from; the deadline is a
// hang guard, not a measure.
func (c *capture) wait(t *testing.T, what string, from int, ok func(x []float64) bool) []float64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		x := c.since(from)
		if ok(x) {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %d samples captured, peak %.4f", what, len(x), peakAbs(x))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *capture) waitLen(t *testing.T, n int) {
	c.wait(t, "samples", 0, func(x []float64) bool { return len(x) >= n })
}

// waitAudible waits for sound after from.
func (c *capture) waitAudible(t *testing.T, from int) {
	c.wait(t, "sound", from, func(x []float64) bool { return firstNonZero(x) >= 0 })
}

// waitSound waits for a sound after from, then for 200 ms of silence
// after it (longer than any gap within a sound), and returns the samples
// from from to the end of that silence.
func (c *capture) waitSound(t *testing.T, from int) []float64 {
	t.Helper()
	quiet := c.rate / 5
	return c.wait(t, "a whole sound", from, func(x []float64) bool {
		b := bursts(x, c.rate)
		return len(b) > 0 && len(x)-b[len(b)-1].to >= quiet
	})
}

// waitQuiet waits for 200 ms of exact silence: whatever the device still
// held has played.
func (c *capture) waitQuiet(t *testing.T) {
	t.Helper()
	from := c.len()
	quiet := c.rate / 5
	c.wait(t, "silence", from, func(x []float64) bool {
		return len(x) >= quiet && peakAbs(x[len(x)-quiet:]) == 0
	})
}
