package ecr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Handler carries out the register's requests. The terminal implements it
// on top of its engine: PREPARE → Prepare, COMMIT → Commit (its journal
// makes a used idempotency key return the first decision), REVERSE → Void,
// LAST_RESULT → the journal, STATUS, TOTALS → the X report, END_OF_DAY →
// the Z report.
//
// The Server calls Handle at most once per distinct request frame and
// never concurrently. Requests reach it decoded and checked (required
// fields present, values in range). A Reply whose Command is empty gets
// the request's; an empty Reason gets DefaultReason(Result).
type Handler interface {
	Handle(ctx context.Context, req Request) Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req Request) Reply { return f(ctx, req) }

// Server is the terminal's end of the link: it ACKs good frames, NAKs bad
// ones, hands each new request to the Handler and delivers the reply with
// up to MaxRetransmits retransmissions. A request repeated with the same
// sequence byte and payload is ACKed again and answered from the cached
// reply, never handled twice.
type Server struct {
	h   Handler
	cfg Config
	log *slog.Logger

	running atomic.Bool // one Run at a time

	mu sync.Mutex    // guards rw
	rw io.ReadWriter // the port the next Run uses

	// last is the request most recently taken and, once handled, its
	// reply. It is kept from one Run to the next, so a register repeating
	// its request across a reconnect still gets the cached reply. Only Run
	// touches it.
	last *exchange
}

// exchange is one request frame and, once handled, its reply frame.
type exchange struct {
	seq     byte
	payload []byte
	reply   []byte // the encoded reply frame; nil while the handler runs
}

func (x *exchange) same(f Frame) bool {
	return x != nil && x.seq == f.Seq && bytes.Equal(x.payload, f.Payload)
}

// NewServer returns a server reading requests from rw. rw should be a
// *serialport.Port (read timeouts) or have SetReadDeadline (os.File,
// net.Conn), so Run can stop its reader on its own; with a plain
// io.ReadWriter, Run returns without waiting for a Read that never ends.
func NewServer(rw io.ReadWriter, h Handler, cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{h: h, cfg: cfg.withDefaults(), log: log, rw: rw}
}

// Reattach gives the server a new port for its next Run, typically the
// same device reopened after Run returned an error wrapping
// serialport.ErrClosed. The duplicate cache is kept.
func (s *Server) Reattach(rw io.ReadWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rw = rw
}

// Run serves the link until ctx is done (it returns nil) or the port
// fails. When the device has gone (unplugged, pty closed) the error wraps
// serialport.ErrClosed: reopen it, Reattach and Run again. A handler still
// running when Run stops is waited for, and its reply cached. Run does not
// close the port.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("ecr server: Run is already running")
	}
	defer s.running.Store(false)
	s.mu.Lock()
	rw := s.rw
	s.mu.Unlock()

	rctx, stop := context.WithCancel(ctx)
	defer stop()
	rd := startReader(rctx, rw, s.cfg)
	defer rd.wait()
	st := &serve{s: s, rw: rw, ctx: ctx, results: make(chan Reply, 1), timer: time.NewTimer(time.Hour)}
	st.timer.Stop()
	err := st.loop(rctx, rd)
	stop()
	if st.busy != nil { // wait for the handler, keep its reply for a repeat
		st.answered(<-st.results, false)
	}
	return err
}

// serve is one Run's state; only Run's goroutine touches it.
type serve struct {
	s       *Server
	rw      io.ReadWriter
	ctx     context.Context // the handler's: not cancelled when the link fails
	busy    *exchange       // the request the handler is working on
	queued  *exchange       // a newer request, taken while busy
	results chan Reply      // the handler's reply
	// The reply frame being delivered, waiting for ACK.
	out      []byte
	attempts int
	timer    *time.Timer
}

func (st *serve) loop(ctx context.Context, rd *reader) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rd.done:
			if rd.err == nil {
				return nil
			}
			return fmt.Errorf("ecr server: %w", rd.err)
		case t := <-rd.toks:
			if err := st.token(t); err != nil {
				return fmt.Errorf("ecr server: %w", err)
			}
		case r := <-st.results:
			if err := st.answered(r, true); err != nil {
				return fmt.Errorf("ecr server: %w", err)
			}
		case <-st.timer.C:
			if st.out != nil {
				st.s.log.Debug("ecr reply not acknowledged in time", "attempt", st.attempts+1)
				if err := st.resend(); err != nil {
					return fmt.Errorf("ecr server: %w", err)
				}
			}
		}
	}
}

func (st *serve) token(t Token) error {
	log := st.s.log
	switch t.Kind {
	case TokenACK:
		if st.out != nil {
			st.out = nil
			st.timer.Stop()
		}
	case TokenNAK:
		if st.out != nil {
			log.Debug("ecr reply NAKed", "attempt", st.attempts+1)
			return st.resend()
		}
	case TokenBad:
		if !t.Complete() {
			log.Debug("ecr frame abandoned", "err", t.Err)
			return nil
		}
		log.Debug("ecr frame refused (NAK)", "err", t.Err)
		return write(st.rw, nakByte)
	case TokenFrame:
		return st.frame(t.Frame)
	}
	return nil
}

func (st *serve) frame(f Frame) error {
	s := st.s
	if err := write(st.rw, ackByte); err != nil {
		return err
	}
	switch {
	case s.last.same(f):
		s.log.Debug("ecr repeated request", "seq", f.Seq, "answered", s.last.reply != nil)
		if s.last.reply != nil && st.queued == nil {
			return st.send(s.last.reply)
		}
		return nil
	case st.queued.same(f):
		return nil
	}
	// A new request: the register has moved on from the last one.
	st.out = nil
	st.timer.Stop()
	x := &exchange{seq: f.Seq, payload: f.Payload}
	if st.busy != nil {
		if st.queued != nil {
			s.log.Warn("ecr request dropped: the register sent another while the terminal was busy", "seq", st.queued.seq)
		}
		st.queued = x
		return nil
	}
	return st.start(x)
}

// start takes x as the current request: a bad payload is answered at once,
// a good one goes to the handler.
func (st *serve) start(x *exchange) error {
	s := st.s
	s.last = x
	req, err := DecodeRequest(x.payload)
	if err != nil {
		var rerr *RequestError
		errors.As(err, &rerr)
		s.log.Info("ecr request refused", "seq", x.seq, "result", string(rerr.Result), "err", err)
		st.busy = x
		return st.answered(rerr.Reply(), true)
	}
	st.busy = x
	go func() { st.results <- st.s.call(st.ctx, req) }()
	return nil
}

// call runs the handler, turning a panic into internal_error.
func (s *Server) call(ctx context.Context, req Request) (r Reply) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("ecr handler panicked", "command", string(req.Command), "panic", fmt.Sprint(p))
			r = ErrorReply(req.Command, ResultInternal, "the terminal failed handling the request")
		}
	}()
	r = s.h.Handle(ctx, req)
	if r.Command == "" {
		r.Command = req.Command
	}
	if r.Result == "" {
		r.Result = ResultOK
	}
	if r.Reason == "" {
		r.Reason = DefaultReason(r.Result)
	}
	r.Message = sanitizeMessage(r.Message)
	s.log.Info("ecr request", "command", string(req.Command), "key", req.IdemKey, "order", req.OrderRef,
		"result", string(r.Result), "reason", string(r.Reason), "event", r.Event.String())
	return r
}

// answered caches the reply for the busy request and, when deliver is set
// and no newer request waits, sends it.
func (st *serve) answered(r Reply, deliver bool) error {
	x := st.busy
	st.busy = nil
	payload, err := EncodeReply(r)
	if err != nil {
		st.s.log.Error("ecr handler reply cannot be encoded", "command", string(r.Command), "err", err)
		payload, _ = EncodeReply(ErrorReply(r.Command, ResultInternal, sanitizeMessage("the terminal built a reply it cannot send: "+err.Error())))
	}
	frame, err := AppendFrame(nil, Frame{Seq: x.seq, Payload: payload}, st.s.cfg.Checksum)
	if err != nil { // cannot happen: EncodeReply caps the payload
		return err
	}
	x.reply = frame
	if !deliver {
		return nil
	}
	if q := st.queued; q != nil {
		st.queued = nil
		return st.start(q)
	}
	return st.send(frame)
}

// send starts delivering a reply frame.
func (st *serve) send(frame []byte) error {
	st.out, st.attempts = frame, 0
	return st.transmit()
}

func (st *serve) transmit() error {
	if err := write(st.rw, st.out); err != nil {
		return err
	}
	st.timer.Reset(st.s.cfg.ackWait(len(st.out)))
	return nil
}

// resend sends the reply again, or gives up after MaxRetransmits.
func (st *serve) resend() error {
	if st.attempts >= MaxRetransmits {
		st.s.log.Warn("ecr reply not acknowledged; giving up (the register must ask LAST_RESULT)", "transmissions", st.attempts+1)
		st.out = nil
		st.timer.Stop()
		return nil
	}
	st.attempts++
	return st.transmit()
}
