package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// ErrOutcomeUnknown is wrapped by every Do error after the request may have
// reached the terminal: retransmissions exhausted, no reply, the context
// cancelled, the port gone. The register must then ask LAST_RESULT (with
// the idempotency key) and never resend a COMMIT blindly.
var ErrOutcomeUnknown = errors.New("ecr: outcome unknown; ask LAST_RESULT")

// ErrNotRunning is returned by Do once the register's Run has returned.
var ErrNotRunning = errors.New("ecr register: link not running")

// Register is the cash register's end of the link (the master), as the
// simulator and the tests use it: Do sends a request and waits for the
// reply, retransmitting as the link layer allows. Run must be running.
type Register struct {
	cfg Config
	log *slog.Logger
	rw  io.ReadWriter

	running atomic.Bool
	calls   chan *call
	done    chan struct{} // closed when Run returns
}

type call struct {
	ctx     context.Context
	cmd     Command
	payload []byte
	res     chan callResult // buffered: Run never blocks on it
}

type callResult struct {
	reply Reply
	err   error
}

// NewRegister returns a register speaking on rw (see NewServer for what rw
// should support). A Register runs once: after Run returns, Do fails with
// ErrNotRunning.
func NewRegister(rw io.ReadWriter, cfg Config, log *slog.Logger) *Register {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Register{cfg: cfg.withDefaults(), log: log, rw: rw, calls: make(chan *call), done: make(chan struct{})}
}

// Do sends req and returns the terminal's reply. A reply whose Result is
// not ok is still a reply (nil error). An error wrapping ErrOutcomeUnknown
// means the request may or may not have been carried out; any other error
// means it was not sent.
func (r *Register) Do(ctx context.Context, req Request) (Reply, error) {
	payload, err := EncodeRequest(req)
	if err != nil {
		return Reply{}, err
	}
	return r.do(ctx, req.Command, payload)
}

func (r *Register) do(ctx context.Context, cmd Command, payload []byte) (Reply, error) {
	c := &call{ctx: ctx, cmd: cmd, payload: payload, res: make(chan callResult, 1)}
	select {
	case r.calls <- c:
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	case <-r.done:
		return Reply{}, ErrNotRunning
	}
	res := <-c.res // Run always answers a call it took
	return res.reply, res.err
}

// Run drives the link until ctx is done (it returns nil) or the port fails
// (the error wraps serialport.ErrClosed when the device has gone). Between
// calls it still ACKs the terminal's late or repeated replies.
func (r *Register) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("ecr register: Run is already running")
	}
	defer close(r.done)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	rd := startReader(rctx, r.rw, r.cfg)
	defer rd.wait()
	m := &master{r: r, seq: byte(rand.UintN(256)), timer: time.NewTimer(time.Hour)}
	m.timer.Stop()
	err := m.loop(rctx, rd)
	stop() // the reader too, before the deferred wait for it
	if m.cur != nil {
		cause := err
		if cause == nil {
			cause = ErrNotRunning
		}
		m.finish(Reply{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, cause))
	}
	return err
}

type masterState uint8

const (
	awaitAck   masterState = iota // the request is sent, no ACK yet
	awaitReply                    // ACKed, waiting for the reply frame
)

// master is one Run's state; only Run's goroutine touches it.
type master struct {
	r        *Register
	seq      byte
	cur      *call // the call in flight
	curSeq   byte
	frame    []byte // cur's request frame
	state    masterState
	attempts int // retransmissions of frame so far
	timer    *time.Timer
}

func (m *master) loop(ctx context.Context, rd *reader) error {
	for {
		var calls chan *call
		var callDone <-chan struct{}
		if m.cur == nil {
			calls = m.r.calls
		} else {
			callDone = m.cur.ctx.Done()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-rd.done:
			if rd.err == nil {
				return nil
			}
			return fmt.Errorf("ecr register: %w", rd.err)
		case c := <-calls:
			if err := m.start(c); err != nil {
				return err
			}
		case <-callDone:
			m.finish(Reply{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, m.cur.ctx.Err()))
		case t := <-rd.toks:
			if err := m.token(t); err != nil {
				return fmt.Errorf("ecr register: %w", err)
			}
		case <-m.timer.C:
			if m.cur == nil {
				continue
			}
			what := "no ACK"
			if m.state == awaitReply {
				what = "ACKed but no reply"
			}
			if err := m.resend(what); err != nil {
				return fmt.Errorf("ecr register: %w", err)
			}
		}
	}
}

func (m *master) start(c *call) error {
	if err := c.ctx.Err(); err != nil {
		c.res <- callResult{err: err} // not sent
		return nil
	}
	m.seq++
	frame, err := AppendFrame(m.frame[:0], Frame{Seq: m.seq, Payload: c.payload}, m.r.cfg.Checksum)
	if err != nil {
		c.res <- callResult{err: err}
		return nil
	}
	m.cur, m.curSeq, m.frame, m.attempts = c, m.seq, frame, 0
	return m.transmit()
}

func (m *master) transmit() error {
	m.state = awaitAck
	if err := write(m.r.rw, m.frame); err != nil {
		m.finish(Reply{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err))
		return fmt.Errorf("ecr register: %w", err)
	}
	m.timer.Reset(m.r.cfg.ackWait(len(m.frame)))
	return nil
}

// resend sends the request again, or gives up after MaxRetransmits.
func (m *master) resend(why string) error {
	if m.attempts >= MaxRetransmits {
		m.finish(Reply{}, fmt.Errorf("%w: %s after %d transmissions", ErrOutcomeUnknown, why, m.attempts+1))
		return nil
	}
	m.attempts++
	m.r.log.Debug("ecr request sent again", "seq", m.curSeq, "why", why, "attempt", m.attempts+1)
	return m.transmit()
}

func (m *master) finish(rep Reply, err error) {
	m.timer.Stop()
	m.cur.res <- callResult{reply: rep, err: err}
	m.cur = nil
}

func (m *master) token(t Token) error {
	switch t.Kind {
	case TokenACK:
		if m.cur != nil && m.state == awaitAck {
			m.state = awaitReply
			m.timer.Reset(m.r.cfg.ReplyTimeout)
		}
	case TokenNAK:
		if m.cur != nil && m.state == awaitAck {
			return m.resend("NAK")
		}
	case TokenBad:
		if t.Complete() {
			return write(m.r.rw, nakByte)
		}
	case TokenFrame:
		if err := write(m.r.rw, ackByte); err != nil {
			return err
		}
		if m.cur == nil || t.Frame.Seq != m.curSeq {
			m.r.log.Debug("ecr stale reply acknowledged", "seq", t.Frame.Seq)
			return nil
		}
		rep, err := DecodeReply(t.Frame.Payload)
		if err == nil && rep.Command != m.cur.cmd && rep.Command != CmdError {
			err = fmt.Errorf("reply to %s for a %s request", rep.Command, m.cur.cmd)
		}
		if err != nil {
			m.finish(Reply{}, fmt.Errorf("%w: unreadable reply: %w", ErrOutcomeUnknown, err))
			return nil
		}
		m.finish(rep, nil)
	}
	return nil
}
