package scanner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// ErrPartialDropped is wrapped into the error of a disconnection that
// happened mid-code: the bytes of that code were dropped, never joined to
// the next.
var ErrPartialDropped = errors.New("a partial code was dropped")

// SerialConfig says where a serial (USB-CDC) scanner is and how it ends a
// code. Zero values take the defaults.
type SerialConfig struct {
	Spec   string        // serialport spec: PATH[:BAUD[:FRAME]]
	Suffix byte          // the byte that ends a code; 0: CR, LF (CRLF counts once) or Tab
	Idle   time.Duration // also end a code after this silence (scanners set to send no suffix); 0: never

	// A device that is gone is opened again after Retry (250 ms), the
	// wait doubling up to RetryMax (1 s) while it stays gone.
	Retry    time.Duration
	RetryMax time.Duration

	// Reject, if set, is called with each delimited input that does not
	// normalise (too long, not UTF-8, nothing but control characters).
	Reject func(err error)
	// Now is the clock the Idle time is measured with (time.Now).
	Now func() time.Time
}

// Serial reads codes from a serial scanner and keeps reading across the
// device being unplugged and plugged back in, reopening it by path.
type Serial struct {
	cfg     SerialConfig
	onCode  func(string)
	onState func(connected bool, err error)

	observe func(pending int) // tests: called after each chunk read with the bytes of the code under way
}

// NewSerial makes a reader that calls onCode with each normalised code,
// and onState (may be nil) when the device comes or goes or the reason it
// cannot be opened changes. Both are called from Run's goroutine.
func NewSerial(cfg SerialConfig, onCode func(code string), onState func(connected bool, err error)) *Serial {
	if cfg.Retry <= 0 {
		cfg.Retry = 250 * time.Millisecond
	}
	if cfg.RetryMax < cfg.Retry {
		cfg.RetryMax = max(time.Second, cfg.Retry)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Reject == nil {
		cfg.Reject = func(error) {}
	}
	if onState == nil {
		onState = func(bool, error) {}
	}
	return &Serial{cfg: cfg, onCode: onCode, onState: onState}
}

// Run reads until ctx is done, then returns nil. It returns an error only
// for a spec that cannot name a port; a missing or vanished device is
// retried for ever.
func (s *Serial) Run(ctx context.Context) error {
	pc, err := serialport.ParseSpec(s.cfg.Spec)
	if err != nil {
		return err
	}
	wait, lastErr := s.cfg.Retry, ""
	for {
		port, err := serialport.Open(pc)
		if err == nil {
			wait, lastErr = s.cfg.Retry, ""
			s.onState(true, nil)
			err = s.read(ctx, port)
			port.Close()
			if ctx.Err() != nil {
				return nil
			}
		}
		if err.Error() != lastErr {
			s.onState(false, err)
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, s.cfg.RetryMax)
	}
}

// pollEvery bounds how long one read waits, so read sees ctx and the idle
// time.
const pollEvery = 50 * time.Millisecond

// read delivers codes from one open port until it fails or ctx is done.
// A partial code when the device goes is dropped, never joined to the
// next.
func (s *Serial) read(ctx context.Context, port *serialport.Port) error {
	poll := pollEvery
	if s.cfg.Idle > 0 {
		poll = max(min(poll, s.cfg.Idle/2), time.Millisecond)
	}
	if err := port.SetReadTimeout(poll); err != nil {
		return fmt.Errorf("set read timeout: %w", err)
	}
	sp := splitter{suffix: s.cfg.Suffix, idle: s.cfg.Idle, line: make([]byte, 0, 64)}
	emit := func(raw []byte, err error) {
		if err == nil {
			var code string
			if code, err = Normalize(string(raw)); err == nil {
				s.onCode(code)
				return
			}
		}
		s.cfg.Reject(err)
	}
	buf := make([]byte, 256)
	for ctx.Err() == nil {
		n, err := port.Read(buf)
		now := s.cfg.Now()
		if n > 0 {
			sp.feed(buf[:n], now, emit)
			if s.observe != nil {
				s.observe(sp.pending())
			}
		}
		switch {
		case errors.Is(err, serialport.ErrTimeout):
			sp.expire(now, emit)
		case err != nil:
			if n := sp.drop(); n > 0 {
				err = fmt.Errorf("%w (%w: %d bytes)", err, ErrPartialDropped, n)
			}
			return err
		}
	}
	return ctx.Err()
}
