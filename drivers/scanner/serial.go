package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// SerialConfig says where a serial (USB-CDC) scanner is and how it ends a
// code.
type SerialConfig struct {
	Spec   string        // serialport spec: PATH[:BAUD[:FRAME]]
	Suffix byte          // the byte that ends a code; 0: CR, LF (CRLF counts once) or Tab
	Idle   time.Duration // also end a code after this silence (scanners set to send no suffix); 0: never
	Retry  time.Duration // how often a gone device is opened again (500 ms)
}

// Serial reads codes from a serial scanner, one code per suffix, and keeps
// reading across the device being unplugged and plugged back in.
type Serial struct {
	cfg     SerialConfig
	onCode  func(string)
	onState func(connected bool, err error)
}

// NewSerial makes a reader calling onCode with each normalised code and
// onState (may be nil) when the device comes and goes; both are called
// from Run's goroutine.
func NewSerial(cfg SerialConfig, onCode func(code string), onState func(connected bool, err error)) *Serial {
	if cfg.Retry <= 0 {
		cfg.Retry = 500 * time.Millisecond
	}
	if onState == nil {
		onState = func(bool, error) {}
	}
	return &Serial{cfg: cfg, onCode: onCode, onState: onState}
}

// Run reads until ctx is done. It returns an error only for a spec that
// cannot name a port; a missing or vanished device is retried for ever.
func (s *Serial) Run(ctx context.Context) error {
	pc, err := serialport.ParseSpec(s.cfg.Spec)
	if err != nil {
		return err
	}
	var lastErr string
	for ctx.Err() == nil {
		port, err := serialport.Open(pc)
		if err != nil {
			if err.Error() != lastErr {
				s.onState(false, err)
				lastErr = err.Error()
			}
			select {
			case <-ctx.Done():
			case <-time.After(s.cfg.Retry):
			}
			continue
		}
		lastErr = ""
		s.onState(true, nil)
		err = s.read(ctx, port)
		port.Close()
		if ctx.Err() == nil {
			s.onState(false, err)
			lastErr = err.Error()
		}
	}
	return nil
}

// pollEvery bounds how long a read waits, so Run sees ctx and the idle
// timeout.
const pollEvery = 50 * time.Millisecond

// read delivers codes from one open port until it fails. A partial code
// when the device goes is dropped, never joined to the next.
func (s *Serial) read(ctx context.Context, port *serialport.Port) error {
	wait := pollEvery
	if s.cfg.Idle > 0 {
		wait = min(wait, s.cfg.Idle)
	}
	if err := port.SetReadTimeout(wait); err != nil {
		return err
	}
	var (
		line   []byte
		lastAt time.Time
		buf    = make([]byte, 256)
	)
	emit := func() {
		if len(line) > 0 {
			if code, err := Normalize(string(line)); err == nil {
				s.onCode(code)
			}
		}
		line = line[:0]
	}
	for ctx.Err() == nil {
		n, err := port.Read(buf)
		now := time.Now()
		if errors.Is(err, serialport.ErrTimeout) {
			if s.cfg.Idle > 0 && len(line) > 0 && now.Sub(lastAt) >= s.cfg.Idle {
				emit()
			}
			continue
		}
		if err != nil {
			if len(line) > 0 {
				err = fmt.Errorf("%w (a partial code of %d bytes was dropped)", err, len(line))
			}
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		lastAt = now
		for _, b := range buf[:n] {
			if s.ends(b) {
				emit()
				continue
			}
			if len(line) >= MaxLen {
				line = line[:0] // garbage without a suffix: drop it
			}
			line = append(line, b)
		}
	}
	return ctx.Err()
}

func (s *Serial) ends(b byte) bool {
	if s.cfg.Suffix != 0 {
		return b == s.cfg.Suffix
	}
	return b == '\r' || b == '\n' || b == '\t'
}
