package sound

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/ebitengine/oto/v3"
)

// ErrNoDevice is wrapped by Open's error when there is no audio device to
// play on (none present, none configured, or it would not open). The
// window then says "sound: no audio device" and carries on silently.
var ErrNoDevice = errors.New("sound: no audio device")

// Options configure Open. Zero values take the defaults.
type Options struct {
	// SampleRate of the device, in Hz (48000). One process plays at one
	// rate: the first Open fixes it.
	SampleRate int
	// Buffer is the device's buffer (40 ms): the sound starts within
	// about this long of Play.
	Buffer time.Duration
	// OpenTimeout bounds the wait for the device to open (3 s).
	OpenTimeout time.Duration
	Log         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.SampleRate == 0 {
		o.SampleRate = 48000
	}
	if o.Buffer == 0 {
		o.Buffer = 40 * time.Millisecond
	}
	if o.OpenTimeout == 0 {
		o.OpenTimeout = 3 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// The audio device, one per process: oto allows a single context, which
// is never closed. device guards the rest.
var (
	deviceOnce sync.Once
	theDevice  *oto.Context
	deviceRate int
	deviceErr  error

	device     sync.Mutex
	devicePlay int // open Players; the device is suspended at 0
)

// openDevice opens the process's audio device, once; later calls return
// the first call's device or error.
func openDevice(opt Options) (*oto.Context, error) {
	deviceOnce.Do(func() {
		deviceRate = opt.SampleRate
		ctx, ready, err := oto.NewContext(&oto.NewContextOptions{
			SampleRate:   opt.SampleRate,
			ChannelCount: 1,
			Format:       oto.FormatSignedInt16LE,
			BufferSize:   opt.Buffer,
		})
		if err != nil {
			deviceErr = fmt.Errorf("%w: %w", ErrNoDevice, err)
			return
		}
		select {
		case <-ready:
		case <-time.After(opt.OpenTimeout):
			deviceErr = fmt.Errorf("%w: the device did not open within %v", ErrNoDevice, opt.OpenTimeout)
			return
		}
		if err := ctx.Err(); err != nil {
			deviceErr = fmt.Errorf("%w: %w", ErrNoDevice, err)
			return
		}
		theDevice = ctx
	})
	if deviceErr != nil {
		return nil, deviceErr
	}
	if opt.SampleRate != deviceRate {
		return nil, fmt.Errorf("sound: open at %d Hz: this process's device is already open at %d Hz", opt.SampleRate, deviceRate)
	}
	return theDevice, nil
}

// Player plays the sounds on the audio device. Play never blocks: a
// goroutine that Open starts and Close stops talks to the device. A new
// sound cuts off the one still playing. Its methods are safe for
// concurrent use.
type Player struct {
	dev *oto.Context
	pcm map[Kind][]byte
	log *slog.Logger

	wake    chan struct{} // a request is pending; capacity 1
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when run returns

	mu      sync.Mutex // guards the fields below
	pending Kind       // the sound to start next, 0 for none
	volume  float64    // 0..1
	closed  bool
}

// Open opens the audio device and returns a Player at full volume. With
// no device it returns an error wrapping ErrNoDevice, and every later
// Open in the process returns that error again (the device is opened
// once per process).
func Open(opt Options) (*Player, error) {
	opt = opt.withDefaults()
	if opt.SampleRate < MinRate || opt.SampleRate > MaxRate {
		return nil, fmt.Errorf("sound: sample rate %d Hz out of range %d..%d", opt.SampleRate, MinRate, MaxRate)
	}
	if opt.Buffer < 0 || opt.OpenTimeout < 0 {
		return nil, fmt.Errorf("sound: negative buffer %v or open timeout %v", opt.Buffer, opt.OpenTimeout)
	}
	pcm := make(map[Kind][]byte, len(Kinds))
	for _, k := range Kinds {
		b, err := ToneBytes(k, opt.SampleRate)
		if err != nil {
			return nil, fmt.Errorf("sound: %w", err)
		}
		pcm[k] = b
	}
	dev, err := openDevice(opt)
	if err != nil {
		return nil, err
	}
	device.Lock()
	if devicePlay == 0 {
		if err := dev.Resume(); err != nil {
			device.Unlock()
			return nil, fmt.Errorf("sound: resume device: %w", err)
		}
	}
	devicePlay++
	device.Unlock()

	p := &Player{
		dev:     dev,
		pcm:     pcm,
		log:     opt.Log,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		volume:  1,
	}
	go p.run()
	return p, nil
}

// Play starts kind's sound and returns at once, cutting off any sound
// still playing. An unknown kind, or a closed Player, plays nothing.
func (p *Player) Play(kind Kind) {
	if _, ok := designs[kind]; !ok {
		p.log.Warn("sound: unknown kind", "kind", int(kind))
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.pending = kind
	p.mu.Unlock()
	p.poke()
}

// SetVolume sets the volume, from 0 (silent) to 1 (full), of the sound
// playing and the ones to come; values outside are clamped. It returns
// at once.
func (p *Player) SetVolume(v float64) {
	switch {
	case math.IsNaN(v) || v < 0:
		v = 0
	case v > 1:
		v = 1
	}
	p.mu.Lock()
	p.volume = v
	p.mu.Unlock()
	p.poke()
}

// Volume returns the volume SetVolume last set.
func (p *Player) Volume() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.volume
}

// Err reports a failure of the device after Open (a USB speaker
// unplugged, say), or nil.
func (p *Player) Err() error {
	if err := p.dev.Err(); err != nil {
		return fmt.Errorf("sound: %w", err)
	}
	return nil
}

// Close stops the sound, waits for the Player's goroutine to end and,
// when it was the last open Player, lets the device idle (which waits for
// the device to take the samples it is writing). Later calls return nil.
func (p *Player) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.quit)
	<-p.stopped

	device.Lock()
	defer device.Unlock()
	devicePlay--
	if devicePlay == 0 {
		if err := p.dev.Suspend(); err != nil {
			return fmt.Errorf("sound: suspend device: %w", err)
		}
	}
	return nil
}

// poke wakes run without waiting: one pending wake is enough, since run
// reads the latest state.
func (p *Player) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// fadeOut is how long a cut-off sound takes to fall silent: oto ramps a
// volume change over one device period (half of Options.Buffer), so the
// cut makes no click.
const fadeOut = 60 * time.Millisecond

// run talks to the device until Close: it starts the pending sound, fading
// out the one playing (the cut-off), and applies the volume.
func (p *Player) run() {
	defer close(p.stopped)
	var cur, fading *oto.Player
	var faded <-chan time.Time
	closeFading := func() {
		if fading != nil {
			if err := fading.Close(); err != nil {
				p.log.Warn("sound: stop", "err", err)
			}
			fading, faded = nil, nil
		}
	}
	defer func() {
		closeFading()
		if cur != nil {
			_ = cur.Close()
		}
	}()
	for {
		select {
		case <-p.quit:
			return
		case <-faded:
			closeFading()
			continue
		case <-p.wake:
		}
		p.mu.Lock()
		kind, vol := p.pending, p.volume
		p.pending = 0
		p.mu.Unlock()
		if kind == 0 {
			if cur != nil {
				cur.SetVolume(vol)
			}
			continue
		}
		if cur != nil {
			closeFading()
			if cur.IsPlaying() {
				cur.SetVolume(0)
				fading, faded = cur, time.After(fadeOut)
			} else if err := cur.Close(); err != nil {
				p.log.Warn("sound: stop", "err", err)
			}
		}
		cur = p.dev.NewPlayer(bytes.NewReader(p.pcm[kind]))
		cur.SetVolume(vol)
		cur.Play()
	}
}
