package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// MaxRetransmits is how many times a sender sends a frame again (after a
// NAK, or no ACK in time) before it gives up: at most 4 transmissions.
const MaxRetransmits = 3

// Config is how one end of the link behaves. Both ends must agree on
// Checksum; the zero Config is the spec's defaults.
type Config struct {
	Checksum Checksum // CRC16 (default) or LRC

	// Baud is the line's rate, used only to add the time a frame takes on
	// the wire (10 bit times a byte) to AckTimeout, since a write returns
	// as soon as the bytes are in the driver's buffer. Default 9600.
	Baud int
	// InterByte abandons a frame whose next byte does not come within it.
	// Default 100 ms.
	InterByte time.Duration
	// AckTimeout is how long a sender waits for ACK or NAK after a frame's
	// last byte is on the wire before sending it again. Default 500 ms.
	AckTimeout time.Duration
	// ReplyTimeout is how long the register waits for the reply after its
	// request was ACKed before sending the request again (the terminal
	// answers a repeated request from its cache, or ACKs it while still
	// working). Default 5 s.
	ReplyTimeout time.Duration

	// Now is the clock the inter-byte timeout is measured by; default
	// time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Baud <= 0 {
		c.Baud = 9600
	}
	if c.InterByte <= 0 {
		c.InterByte = 100 * time.Millisecond
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 500 * time.Millisecond
	}
	if c.ReplyTimeout <= 0 {
		c.ReplyTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// WireTime is how long n bytes take on a line at baud, 8N1 (10 bit times a
// byte).
func WireTime(n, baud int) time.Duration {
	if baud <= 0 {
		baud = 9600
	}
	return time.Duration(n) * 10 * time.Second / time.Duration(baud)
}

// ackWait is how long to wait for ACK after writing a frame of n bytes.
func (c Config) ackWait(n int) time.Duration { return c.AckTimeout + WireTime(n, c.Baud) }

// pollEvery is how often a reader that can time out wakes with no input,
// to notice a cancelled context and a stalled frame.
func (c Config) pollEvery() time.Duration {
	return min(max(c.InterByte/2, 10*time.Millisecond), 100*time.Millisecond)
}

// reader owns the goroutine that reads the port and turns bytes into
// tokens.
type reader struct {
	toks chan Token
	done chan struct{} // closed when the goroutine has returned
	err  error         // why it returned; read after done
	// waitable says the goroutine notices a cancelled context by itself
	// (the port has read timeouts or deadlines); otherwise it returns only
	// when a Read does.
	waitable bool
}

type readTimeouter interface {
	SetReadTimeout(time.Duration) error
}

type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// startReader starts reading r until ctx is done or a read fails.
func startReader(ctx context.Context, r io.Reader, cfg Config) *reader {
	rd := &reader{toks: make(chan Token, 32), done: make(chan struct{})}
	poll := cfg.pollEvery()
	arm := func() {}
	switch p := r.(type) {
	case readTimeouter:
		rd.waitable = p.SetReadTimeout(poll) == nil
	case readDeadliner:
		if p.SetReadDeadline(time.Now().Add(poll)) == nil {
			rd.waitable = true
			arm = func() { _ = p.SetReadDeadline(time.Now().Add(poll)) }
		}
	}
	go func() {
		defer close(rd.done)
		rd.err = rd.loop(ctx, r, cfg, arm)
	}()
	return rd
}

func (rd *reader) loop(ctx context.Context, r io.Reader, cfg Config, arm func()) error {
	dec := NewDecoder(cfg.Checksum, cfg.InterByte)
	buf := make([]byte, 512)
	var toks []Token
	for ctx.Err() == nil {
		arm()
		n, err := r.Read(buf)
		now := cfg.Now()
		toks = toks[:0]
		if n > 0 {
			toks = dec.Feed(toks, buf[:n], now)
		} else {
			toks = dec.Expire(toks, now)
		}
		for _, t := range toks {
			select {
			case rd.toks <- t:
			case <-ctx.Done():
				return nil
			}
		}
		if err != nil && !isTimeout(err) {
			return linkErr("read", err)
		}
	}
	return nil
}

// wait waits for the goroutine if it can notice ctx by itself.
func (rd *reader) wait() {
	if rd.waitable {
		<-rd.done
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, serialport.ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// linkErr wraps a read or write error; one that says the device has gone
// wraps serialport.ErrClosed.
func linkErr(op string, err error) error {
	switch {
	case errors.Is(err, serialport.ErrClosed):
		return fmt.Errorf("ecr link %s: %w", op, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrClosedPipe), errors.Is(err, os.ErrClosed),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EIO):
		return fmt.Errorf("ecr link %s: %w (%v)", op, serialport.ErrClosed, err)
	}
	return fmt.Errorf("ecr link %s: %w", op, err)
}

// write writes p, all of it or an error.
func write(w io.Writer, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return linkErr("write", err)
	}
	return nil
}

var (
	ackByte = []byte{ACK}
	nakByte = []byte{NAK}
)
