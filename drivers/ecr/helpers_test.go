package ecr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
	"github.com/hexiao/hexiao/protocol"
)

// openPort opens one end of a pty pair; the test's cleanup closes it.
func openPort(t testing.TB, path string) *serialport.Port {
	t.Helper()
	cfg, err := serialport.ParseSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	port, err := serialport.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = port.Close() })
	return port
}

// goRun runs f in a goroutine the test owns: cleanup cancels its context
// and waits for it. Its error, if any and not a cancellation, fails the
// test unless allowed says it is expected.
func goRun(t testing.TB, name string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v", name, err)
		}
	})
}

// fakeTerminal is the test's Handler: a journal of commits by
// idempotency key, like the engine's, and a count of how many times each
// COMMIT reached it.
type fakeTerminal struct {
	mu      sync.Mutex       // guards everything below
	calls   map[string]int   // COMMIT executions per key
	journal map[string]Reply // the first decision per key
	last    string           // key of the last COMMIT or REVERSE
	seq     uint64
	total   Totals
	z       int
	// hold, if set, is waited on by COMMIT before it decides.
	hold chan struct{}
}

func newFakeTerminal() *fakeTerminal {
	return &fakeTerminal{calls: map[string]int{}, journal: map[string]Reply{}}
}

func (f *fakeTerminal) preview(req Request) Reply {
	uses := max(req.Uses, 1)
	r := Reply{Result: ResultOK, Reason: protocol.Accepted, Campaign: "meal-10", Name: "午餐券", Face: 1000, Uses: uses, Amount: 1000 * int64(uses), UsesLeft: 5 - uses}
	switch {
	case strings.HasPrefix(req.Code, "USED"):
		r = Reply{Result: ResultOK, Reason: protocol.UsedUp, Campaign: "meal-10", Face: 1000}
	case strings.HasPrefix(req.Code, "BAD"):
		r = Reply{Result: ResultOK, Reason: protocol.UnknownCode}
	}
	return r
}

func (f *fakeTerminal) Handle(ctx context.Context, req Request) Reply {
	if req.Command == CmdCommit && f.hold != nil {
		<-f.hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch req.Command {
	case CmdPrepare:
		return f.preview(req)
	case CmdCommit:
		f.calls[req.IdemKey]++
		if r, ok := f.journal[req.IdemKey]; ok {
			r.Replayed = true
			return r
		}
		r := f.preview(req)
		f.seq++
		r.Command, r.IdemKey, r.OrderRef = CmdCommit, req.IdemKey, req.OrderRef
		r.Event = protocol.EventRef{Terminal: "t-01", Seq: f.seq}
		r.Mode = protocol.ModeOnline
		if f.seq%3 == 0 {
			r.Mode = protocol.ModeOffline
		}
		if r.Reason.OK() {
			f.total.Redeemed++
			f.total.RedeemedUses += r.Uses
			f.total.RedeemedValue += r.Amount
		} else {
			r.Uses, r.Amount = 0, 0
			f.total.Refused++
		}
		f.journal[req.IdemKey] = r
		f.last = req.IdemKey
		return r
	case CmdLastResult:
		key := req.IdemKey
		if key == "" {
			key = f.last
		}
		r, ok := f.journal[key]
		if !ok {
			return ErrorReply(CmdLastResult, ResultNotFound, "no transaction with that key")
		}
		r.Command, r.Op, r.Replayed = CmdLastResult, CmdCommit, false
		return r
	case CmdReverse:
		r, ok := f.journal[req.IdemKey]
		if !ok {
			return ErrorReply(CmdReverse, ResultNotFound, "no transaction with that key")
		}
		if !r.Reason.OK() || r.Reversed != (protocol.EventRef{}) {
			return ErrorReply(CmdReverse, ResultRefused, "nothing to reverse")
		}
		f.seq++
		r.Reversed = protocol.EventRef{Terminal: "t-01", Seq: f.seq}
		f.journal[req.IdemKey] = r
		f.total.Voids++
		f.total.VoidedUses += r.Uses
		f.total.VoidedValue += r.Amount
		return Reply{IdemKey: r.IdemKey, OrderRef: r.OrderRef, Campaign: r.Campaign, Uses: r.Uses, Amount: r.Amount,
			UsesLeft: r.UsesLeft + r.Uses, Event: r.Reversed, Mode: protocol.ModeOnline}
	case CmdStatus:
		return Reply{Mode: protocol.ModeOnline, Outbox: int(f.seq), Printer: "ok", Terminal: "t-01", Store: "s-1", Version: "test"}
	case CmdTotals:
		return Reply{Totals: f.total}
	case CmdEndOfDay:
		f.z++
		r := Reply{Z: f.z, Totals: f.total}
		f.total = Totals{}
		return r
	}
	return ErrorReply(req.Command, ResultInternal, "fake terminal: no such command")
}

func (f *fakeTerminal) callsFor(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fakeTerminal) entry(key string) (Reply, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.journal[key]
	return r, ok
}

// sameDecision compares the decision fields of a COMMIT or LAST_RESULT
// reply with a journal entry.
func sameDecision(got, want Reply) error {
	g, w := got, want
	g.Command, g.Op, g.Replayed, g.Message = "", "", false, ""
	w.Command, w.Op, w.Replayed, w.Message = "", "", false, ""
	if g != w {
		return fmt.Errorf("got %+v\nwant %+v", g, w)
	}
	return nil
}

// splitter cuts a byte stream into raw link units as they were written:
// a frame (STX to its last checksum byte, escapes and all), a lone ACK or
// NAK, or a run of garbage. The test relay uses it to fault whole units.
type splitter struct {
	sumLen  int
	cur     []byte
	inFrame bool
	esc     bool
	afterE  bool // ETX seen
	nsum    int
}

func (s *splitter) feed(p []byte, emit func(unit []byte)) {
	for _, b := range p {
		if !s.inFrame {
			switch b {
			case STX:
				s.inFrame, s.esc, s.afterE, s.nsum = true, false, false, 0
				s.cur = append(s.cur[:0], b)
			default:
				emit([]byte{b})
			}
			continue
		}
		if b == STX { // a frame cut short upstream: pass it on as it was
			emit(append([]byte(nil), s.cur...))
			s.cur = append(s.cur[:0], b)
			s.esc, s.afterE, s.nsum = false, false, 0
			continue
		}
		s.cur = append(s.cur, b)
		switch {
		case s.esc:
			s.esc = false
			if s.afterE {
				s.nsum++
			}
		case b == DLE:
			s.esc = true
		case b == ETX && !s.afterE:
			s.afterE = true
		case s.afterE:
			s.nsum++
		}
		if s.afterE && s.nsum == s.sumLen {
			emit(append([]byte(nil), s.cur...))
			s.inFrame = false
		}
	}
}

// faultKind names one fault the relay injects.
type faultKind string

const (
	faultNone      faultKind = ""
	faultDropFrame faultKind = "drop_frame"
	faultChecksum  faultKind = "corrupt_checksum"
	faultDropByte  faultKind = "drop_byte"
	faultStall     faultKind = "stall"
	faultDuplicate faultKind = "duplicate"
	faultGarbage   faultKind = "garbage"
	faultDropAck   faultKind = "drop_ack"
	faultAckToNak  faultKind = "ack_to_nak"
	faultDropNak   faultKind = "drop_nak"
	faultBlackout  faultKind = "blackout"
)

// relay copies bytes between two ports in both directions, unit by unit,
// injecting faults from a seeded schedule (the n-th unit of a direction
// always draws the same number) and pacing writes to a baud rate.
type relay struct {
	check Checksum
	// rate is the chance of a fault per unit; 0 relays faithfully.
	rate float64
	// stall is how long a stalled frame waits mid-way.
	stall time.Duration
	// baud, if set, paces every unit to the time it takes on the wire.
	baud int
	seed uint64

	mu       sync.Mutex // guards blackout and counts
	blackout [2]bool    // per direction: drop everything
	counts   map[faultKind]int

	next [2][2]int // per direction, the next frame and ACK fault; owned by that direction's pump
}

var (
	frameFaults = []faultKind{faultDropFrame, faultChecksum, faultDropByte, faultStall, faultDuplicate, faultGarbage}
	ackFaults   = []faultKind{faultDropAck, faultAckToNak}
)

const (
	toServer   = 0 // register → terminal
	toRegister = 1 // terminal → register
)

// start relays a ↔ b (a is the register's side) until the test ends.
func (r *relay) start(t testing.TB, a, b *serialport.Port) {
	r.counts = map[faultKind]int{}
	goRun(t, "relay to terminal", func(ctx context.Context) error { return r.pump(ctx, a, b, toServer) })
	goRun(t, "relay to register", func(ctx context.Context) error { return r.pump(ctx, b, a, toRegister) })
}

func (r *relay) setBlackout(dir int, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blackout[dir] = on
}

func (r *relay) count(k faultKind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[k]++
}

func (r *relay) faults() map[faultKind]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[faultKind]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

func (r *relay) pump(ctx context.Context, from, to *serialport.Port, dir int) error {
	if err := from.SetReadTimeout(20 * time.Millisecond); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(r.seed, uint64(dir)))
	sp := &splitter{sumLen: r.check.Size()}
	buf := make([]byte, 4096)
	var werr error
	emit := func(u []byte) {
		if werr == nil {
			werr = r.forward(to, u, dir, rng)
		}
	}
	for ctx.Err() == nil {
		n, err := from.Read(buf)
		sp.feed(buf[:n], emit)
		if werr != nil {
			return werr
		}
		if err != nil && !errors.Is(err, serialport.ErrTimeout) {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// forward writes one unit on, perhaps faulted.
func (r *relay) forward(to *serialport.Port, u []byte, dir int, rng *rand.Rand) error {
	// Draw the same numbers for every unit so the schedule does not
	// depend on which faults applied.
	roll, pos := rng.Float64(), rng.IntN(1<<16)
	r.mu.Lock()
	black, otherBlack := r.blackout[dir], r.blackout[1-dir]
	r.mu.Unlock()
	if black {
		r.count(faultBlackout)
		return nil
	}
	// When a unit is faulted comes from the seeded roll; which fault, in
	// turn from each unit kind's list, so every kind comes up.
	fault := faultNone
	if !otherBlack && roll < r.rate {
		switch {
		case len(u) > 1 && u[0] == STX:
			fault = frameFaults[r.next[dir][0]%len(frameFaults)]
			r.next[dir][0]++
		case u[0] == ACK:
			fault = ackFaults[r.next[dir][1]%len(ackFaults)]
			r.next[dir][1]++
		case u[0] == NAK:
			fault = faultDropNak
		}
	}
	if fault != faultNone {
		r.count(fault)
	}
	switch fault {
	case faultDropFrame, faultDropAck, faultDropNak:
		return nil
	case faultAckToNak:
		return r.write(to, []byte{NAK})
	case faultChecksum:
		v := append([]byte(nil), u...)
		last := v[len(v)-1]
		if c := last ^ 0x01; !isControl(c) {
			v[len(v)-1] = c
		} else {
			v[len(v)-1] = last ^ 0x20
		}
		return r.write(to, v)
	case faultDropByte:
		i := 1 + pos%(len(u)-1)
		return r.write(to, append(append([]byte(nil), u[:i]...), u[i+1:]...))
	case faultStall:
		i := 1 + pos%(len(u)-1)
		if err := r.write(to, u[:i]); err != nil {
			return err
		}
		time.Sleep(r.stall)
		return r.write(to, u[i:])
	case faultDuplicate:
		if err := r.write(to, u); err != nil {
			return err
		}
		return r.write(to, u)
	case faultGarbage:
		if err := r.write(to, []byte("\x00zz\xff\x7f")); err != nil {
			return err
		}
	}
	return r.write(to, u)
}

// write writes p, first waiting the time it takes on the wire when the
// relay is paced.
func (r *relay) write(to *serialport.Port, p []byte) error {
	if r.baud > 0 {
		time.Sleep(WireTime(len(p), r.baud))
	}
	_, err := to.Write(p)
	return err
}

// link is the test topology: register ↔ pairX.A; relay pairX.B ↔
// pairY.A; terminal Server on pairY.B.
type link struct {
	reg   *Register
	srv   *Server
	term  *fakeTerminal
	relay *relay
}

func newLink(t testing.TB, cfg Config, rl *relay) *link {
	t.Helper()
	x, y := ptypair.New(t), ptypair.New(t)
	regPort, relA, relB, srvPort := openPort(t, x.A), openPort(t, x.B), openPort(t, y.A), openPort(t, y.B)
	rl.check = cfg.Checksum
	rl.start(t, relA, relB)
	l := &link{term: newFakeTerminal(), relay: rl}
	l.srv = NewServer(srvPort, l.term, cfg, nil)
	l.reg = NewRegister(regPort, cfg, nil)
	goRun(t, "server", l.srv.Run)
	goRun(t, "register", l.reg.Run)
	return l
}
