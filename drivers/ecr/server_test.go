package ecr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
	"github.com/hexiao/hexiao/internal/testlog"
	"github.com/hexiao/hexiao/protocol"
)

// rawEnd is the test speaking bytes on one end of a pty, decoding what
// comes back.
type rawEnd struct {
	t     testing.TB
	port  *serialport.Port
	dec   *Decoder
	check Checksum
	queue []Token
}

func newRawEnd(t testing.TB, path string, c Checksum) *rawEnd {
	port := openPort(t, path)
	if err := port.SetReadTimeout(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return &rawEnd{t: t, port: port, dec: NewDecoder(c, 0), check: c}
}

func (e *rawEnd) write(p []byte) {
	e.t.Helper()
	if _, err := e.port.Write(p); err != nil {
		e.t.Fatalf("write: %v", err)
	}
}

func (e *rawEnd) frame(seq byte, payload []byte) []byte {
	e.t.Helper()
	b, err := AppendFrame(nil, Frame{Seq: seq, Payload: payload}, e.check)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// next returns the next token from the other end. It waits as long as it
// takes; only a test that would otherwise hang for ever fails after 20 s.
func (e *rawEnd) next() Token {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	buf := make([]byte, 256)
	for len(e.queue) == 0 {
		if time.Now().After(deadline) {
			e.t.Fatal("nothing more came from the other end (hung)")
		}
		n, err := e.port.Read(buf)
		if err != nil && !errors.Is(err, serialport.ErrTimeout) {
			e.t.Fatalf("read: %v", err)
		}
		e.queue = e.dec.Feed(e.queue, buf[:n], time.Now())
	}
	t := e.queue[0]
	e.queue = e.queue[1:]
	return t
}

// expect reads the next token and checks it: "ACK", "NAK" or "F<seq>" (a
// reply frame with that sequence byte, which it then ACKs and returns).
func (e *rawEnd) expect(want string) Reply {
	e.t.Helper()
	t := e.next()
	got := describe([]Token{t})
	switch {
	case want == "ACK" && t.Kind == TokenACK, want == "NAK" && t.Kind == TokenNAK:
		return Reply{}
	case t.Kind == TokenFrame && fmt.Sprintf("F%02X", t.Frame.Seq) == want:
		e.write([]byte{ACK})
		rep, err := DecodeReply(t.Frame.Payload)
		if err != nil {
			e.t.Fatalf("reply %q: %v", t.Frame.Payload, err)
		}
		return rep
	}
	e.t.Fatalf("got %s, want %s", got, want)
	return Reply{}
}

// TestServerFixtures writes every row of the frame fixture table, raw, to
// a Server over a real pty, each followed by a good probe frame, and checks
// the link's answer: a good frame is ACKed and answered (a frame equal to
// the previous request is answered from the cache), a bad whole frame is
// NAKed, a cut-short one gets nothing, so the first answer after it is the
// probe's.
func TestServerFixtures(t *testing.T) {
	for _, c := range []Checksum{CRC16, LRC} {
		t.Run(c.String(), func(t *testing.T) {
			pair := ptypair.New(t)
			term := newFakeTerminal()
			srv := NewServer(openPort(t, pair.B), term, Config{Checksum: c}, nil)
			goRun(t, "server", srv.Run)
			reg := newRawEnd(t, pair.A, c)
			probeSeq := byte(0x80)
			for _, fx := range frameFixtures {
				if fx.check != c {
					continue
				}
				t.Run(fx.name, func(t *testing.T) {
					reg.t = t
					// What the server must say, from the reference decoder.
					var want []string
					for _, tok := range NewDecoder(c, 0).Feed(nil, fx.wire, time.Time{}) {
						switch {
						case tok.Kind == TokenFrame:
							want = append(want, "ACK", fmt.Sprintf("F%02X", tok.Frame.Seq))
						case tok.Complete():
							want = append(want, "NAK")
						}
					}
					reg.write(fx.wire)
					for _, w := range want {
						reg.expect(w)
					}
					// The probe is written only now: a request sent while
					// the last is being handled supersedes it.
					probeSeq++
					reg.write(reg.frame(probeSeq, p("STATUS", "V=1")))
					reg.expect("ACK")
					reg.expect(fmt.Sprintf("F%02X", probeSeq))
				})
			}
		})
	}
}

// TestServerRequestFixtures sends every request fixture through a Server
// and checks the reply's result, and that the handler saw exactly the good
// ones.
func TestServerRequestFixtures(t *testing.T) {
	pair := ptypair.New(t)
	var got []Request
	h := HandlerFunc(func(_ context.Context, req Request) Reply {
		got = append(got, req) // the server never calls the handler concurrently
		return ErrorReply(req.Command, ResultRefused, "reached the handler")
	})
	srv := NewServer(openPort(t, pair.B), h, Config{}, nil)
	goRun(t, "server", srv.Run)
	reg := newRawEnd(t, pair.A, CRC16)
	var want []Request
	for i, fx := range requestFixtures {
		if len(fx.payload) > MaxPayload {
			continue // no frame carries it: see the oversized frame fixture
		}
		seq := byte(i + 1)
		reg.write(reg.frame(seq, fx.payload))
		reg.expect("ACK")
		rep := reg.expect(fmt.Sprintf("F%02X", seq))
		wantResult := fx.result
		if wantResult == "" {
			wantResult = ResultRefused // what the handler says
			want = append(want, fx.want)
		}
		if rep.Result != wantResult {
			t.Errorf("%s: got result %s (%s), want %s", fx.name, rep.Result, rep.Message, wantResult)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("handler saw\n%v\nwant\n%v", got, want)
	}
}

// TestServerDuplicates: a request frame sent again with the same sequence
// byte and payload is ACKed and answered from the cache, not handled
// again; the same payload under a new sequence byte, or a new payload
// under the same one, is a new request.
func TestServerDuplicates(t *testing.T) {
	pair := ptypair.New(t)
	term := newFakeTerminal()
	srv := NewServer(openPort(t, pair.B), term, Config{}, nil)
	goRun(t, "server", srv.Run)
	reg := newRawEnd(t, pair.A, CRC16)

	commit := p("COMMIT", "V=1", "CODE=X", "KEY=K1")
	f := reg.frame(7, commit)
	reg.write(f)
	reg.expect("ACK")
	first := reg.expect("F07")
	for range 3 {
		reg.write(f)
		reg.expect("ACK")
		if again := reg.expect("F07"); again != first {
			t.Fatalf("repeated request: got %+v, want the cached %+v", again, first)
		}
	}
	// Twice in one write, as a relay duplicating a frame would.
	reg.write(append(append([]byte(nil), f...), f...))
	reg.expect("ACK")
	reg.expect("F07")
	reg.expect("ACK")
	reg.expect("F07")
	if n := term.callsFor("K1"); n != 1 {
		t.Fatalf("COMMIT K1 handled %d times, want 1", n)
	}
	// The same payload under a new sequence byte is new: the handler runs
	// (and, being idempotent by key, replays).
	reg.write(reg.frame(8, commit))
	reg.expect("ACK")
	if r := reg.expect("F08"); !r.Replayed || r.Event != first.Event {
		t.Fatalf("commit K1 again, new seq: got %+v, want a replay of %v", r, first.Event)
	}
	// A new payload under the last sequence byte is new too.
	reg.write(reg.frame(8, p("COMMIT", "V=1", "CODE=X", "KEY=K2")))
	reg.expect("ACK")
	reg.expect("F08")
	if a, b := term.callsFor("K1"), term.callsFor("K2"); a != 2 || b != 1 {
		t.Fatalf("handled K1 %d, K2 %d times; want 2 and 1", a, b)
	}
}

// TestServerReplyRetransmits: a reply never ACKed is sent 1+MaxRetransmits
// times, a NAK counts as a miss, then the server gives up and serves the
// next request normally.
func TestServerReplyRetransmits(t *testing.T) {
	pair := ptypair.New(t)
	logs := &testlog.Buffer{}
	srv := NewServer(openPort(t, pair.B), newFakeTerminal(), Config{AckTimeout: 30 * time.Millisecond}, logs.Logger())
	goRun(t, "server", srv.Run)
	reg := newRawEnd(t, pair.A, CRC16)
	reg.write(reg.frame(1, p("STATUS", "V=1")))
	if tok := reg.next(); tok.Kind != TokenACK {
		t.Fatalf("got %s, want ACK", describe([]Token{tok}))
	}
	var copies [][]byte
	for range 1 + MaxRetransmits {
		tok := reg.next()
		if tok.Kind != TokenFrame || tok.Frame.Seq != 1 {
			t.Fatalf("got %s, want the reply to seq 01", describe([]Token{tok}))
		}
		copies = append(copies, tok.Frame.Payload)
		if len(copies) == 2 {
			reg.write([]byte{NAK}) // a NAK: sent again at once
		}
	}
	for _, c := range copies[1:] {
		if !bytes.Equal(c, copies[0]) {
			t.Fatalf("retransmitted reply differs: %q vs %q", c, copies[0])
		}
	}
	// Wait for the server to say it gave up (an event, not a time).
	for logs.Count("giving up") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	reg.write(reg.frame(2, p("STATUS", "V=1")))
	reg.expect("ACK")
	reg.expect("F02")
}

// TestRegisterRetransmits: a register whose frames are never ACKed, or
// always NAKed, sends each 1+MaxRetransmits times and reports the outcome
// unknown.
func TestRegisterRetransmits(t *testing.T) {
	for _, peer := range []string{"silent", "naks"} {
		t.Run(peer, func(t *testing.T) {
			pair := ptypair.New(t)
			reg := NewRegister(openPort(t, pair.A), Config{AckTimeout: 20 * time.Millisecond}, nil)
			goRun(t, "register", reg.Run)
			term := newRawEnd(t, pair.B, CRC16)
			done := make(chan error, 1)
			go func() {
				_, err := reg.Do(context.Background(), Request{Command: CmdCommit, Code: "X", IdemKey: "K1"})
				done <- err
			}()
			var seqs []byte
			for range 1 + MaxRetransmits {
				tok := term.next()
				if tok.Kind != TokenFrame {
					t.Fatalf("got %s, want a request frame", describe([]Token{tok}))
				}
				seqs = append(seqs, tok.Frame.Seq)
				if peer == "naks" {
					term.write([]byte{NAK})
				}
			}
			err := <-done
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("Do: got %v, want ErrOutcomeUnknown", err)
			}
			for _, s := range seqs[1:] {
				if s != seqs[0] {
					t.Fatalf("retransmissions changed the sequence byte: % X", seqs)
				}
			}
			// Nothing more was sent: the next frame is a new request.
			go func() {
				_, err := reg.Do(context.Background(), Request{Command: CmdStatus})
				done <- err
			}()
			tok := term.next()
			if tok.Kind != TokenFrame || tok.Frame.Seq == seqs[0] || !bytes.HasPrefix(tok.Frame.Payload, []byte("STATUS")) {
				t.Fatalf("after giving up, got %s; want a new STATUS request", describe([]Token{tok}))
			}
			term.write([]byte{ACK})
			rep, _ := AppendFrame(nil, Frame{Seq: tok.Frame.Seq, Payload: p("STATUS", "V=1", "RESULT=ok", "REASON=accepted", "MODE=online", "OUTBOX=3")}, CRC16)
			term.write(rep)
			if err := <-done; err != nil {
				t.Fatalf("STATUS: %v", err)
			}
			if tok := term.next(); tok.Kind != TokenACK {
				t.Fatalf("register did not ACK the reply: %s", describe([]Token{tok}))
			}
		})
	}
}

// TestRoundTripEveryCommand runs each command from Register to Server
// over a pty pair, with both checksum profiles.
func TestRoundTripEveryCommand(t *testing.T) {
	for _, c := range []Checksum{CRC16, LRC} {
		t.Run(c.String(), func(t *testing.T) {
			l := newLink(t, Config{Checksum: c}, &relay{})
			ctx := context.Background()
			do := func(req Request) Reply {
				t.Helper()
				r, err := l.reg.Do(ctx, req)
				if err != nil {
					t.Fatalf("%s: %v", req.Command, err)
				}
				return r
			}
			if r := do(Request{Command: CmdPrepare, Code: "HX1:A", Uses: 2}); r.Result != ResultOK || r.Reason != protocol.Accepted || r.Amount != 2000 || r.UsesLeft != 3 {
				t.Errorf("PREPARE: %+v", r)
			}
			c1 := do(Request{Command: CmdCommit, Code: "HX1:A", IdemKey: "K1", OrderRef: "A-1001", Cashier: "c1"})
			if !c1.OK() || c1.Event.Seq != 1 || c1.IdemKey != "K1" || c1.OrderRef != "A-1001" || c1.Replayed {
				t.Errorf("COMMIT: %+v", c1)
			}
			again := do(Request{Command: CmdCommit, Code: "HX1:A", IdemKey: "K1", OrderRef: "A-1001", Cashier: "c1"})
			if !again.Replayed || again.Event != c1.Event {
				t.Errorf("COMMIT with a used key: got %+v, want the first outcome replayed", again)
			}
			if r := do(Request{Command: CmdCommit, Code: "USED-1", IdemKey: "K2"}); r.Result != ResultOK || r.Reason != protocol.UsedUp {
				t.Errorf("COMMIT used up: %+v", r)
			}
			if r := do(Request{Command: CmdCommit, Code: "HX1:A"}); r.Result != ResultMissingField || r.Reason != protocol.Malformed {
				t.Errorf("COMMIT without KEY: %+v", r)
			}
			if r := do(Request{Command: CmdLastResult, IdemKey: "K1"}); r.Op != CmdCommit || sameDecision(r, c1) != nil {
				t.Errorf("LAST_RESULT K1: %+v (%v)", r, sameDecision(r, c1))
			}
			if r := do(Request{Command: CmdLastResult, IdemKey: "nope"}); r.Result != ResultNotFound {
				t.Errorf("LAST_RESULT unknown key: %+v", r)
			}
			if r := do(Request{Command: CmdReverse, IdemKey: "K1", Cashier: "m1", Note: "wrong item"}); !r.OK() || r.Amount != 1000 {
				t.Errorf("REVERSE: %+v", r)
			}
			if r := do(Request{Command: CmdReverse, IdemKey: "K1", Cashier: "m1"}); r.Result != ResultRefused {
				t.Errorf("REVERSE twice: %+v", r)
			}
			if r := do(Request{Command: CmdStatus}); r.Mode != protocol.ModeOnline || r.Terminal != "t-01" {
				t.Errorf("STATUS: %+v", r)
			}
			if r := do(Request{Command: CmdTotals}); r.Totals != (Totals{Redeemed: 1, RedeemedUses: 1, RedeemedValue: 1000, Voids: 1, VoidedUses: 1, VoidedValue: 1000, Refused: 1}) {
				t.Errorf("TOTALS: %+v", r.Totals)
			}
			if r := do(Request{Command: CmdEndOfDay, Cashier: "m1"}); r.Z != 1 || r.Totals.Redeemed != 1 {
				t.Errorf("END_OF_DAY: %+v", r)
			}
			if r := do(Request{Command: "REFUND", Code: "X"}); r.Result != ResultUnknownCommand || r.Command != "REFUND" {
				t.Errorf("unknown command: %+v", r)
			}
			if n := l.term.callsFor("K1"); n != 2 {
				t.Errorf("COMMIT K1 reached the handler %d times, want 2 (two distinct requests)", n)
			}
		})
	}
}

// TestServerDeviceGone: unplugging the device ends Run with an error
// wrapping serialport.ErrClosed; after reopening and Reattach, a request
// the register repeats across the reconnect is answered from the cache.
func TestServerDeviceGone(t *testing.T) {
	pair := ptypair.New(t)
	term := newFakeTerminal()
	srvPort := openPort(t, pair.B)
	srv := NewServer(srvPort, term, Config{}, nil)
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(context.Background()) }()
	reg := newRawEnd(t, pair.A, CRC16)
	f := reg.frame(9, p("COMMIT", "V=1", "CODE=X", "KEY=K9"))
	reg.write(f)
	reg.expect("ACK")
	first := reg.expect("F09")

	pair.Unplug()
	err := <-runErr
	if !errors.Is(err, serialport.ErrClosed) {
		t.Fatalf("Run after unplug: got %v, want an error wrapping serialport.ErrClosed", err)
	}
	pair.Plug()
	srv.Reattach(openPort(t, pair.B))
	goRun(t, "server again", srv.Run)
	reg = newRawEnd(t, pair.A, CRC16)
	reg.write(f)
	reg.expect("ACK")
	if again := reg.expect("F09"); again != first {
		t.Fatalf("after reconnect: got %+v, want the cached %+v", again, first)
	}
	if n := term.callsFor("K9"); n != 1 {
		t.Fatalf("COMMIT K9 handled %d times, want 1", n)
	}
}

// TestRegisterDeviceGone: the register's Run ends with ErrClosed and a Do
// in flight reports the outcome unknown.
func TestRegisterDeviceGone(t *testing.T) {
	pair := ptypair.New(t)
	reg := NewRegister(openPort(t, pair.A), Config{}, nil)
	runErr := make(chan error, 1)
	go func() { runErr <- reg.Run(context.Background()) }()
	term := newRawEnd(t, pair.B, CRC16)
	done := make(chan error, 1)
	go func() {
		_, err := reg.Do(context.Background(), Request{Command: CmdCommit, Code: "X", IdemKey: "K1"})
		done <- err
	}()
	term.next() // the request arrived; never answered
	pair.Unplug()
	if err := <-runErr; !errors.Is(err, serialport.ErrClosed) {
		t.Fatalf("Run: got %v, want ErrClosed", err)
	}
	if err := <-done; !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, serialport.ErrClosed) {
		t.Fatalf("Do: got %v, want ErrOutcomeUnknown and ErrClosed", err)
	}
	if _, err := reg.Do(context.Background(), Request{Command: CmdStatus}); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Do after Run: got %v, want ErrNotRunning", err)
	}
}

// brokenWriter reads from a pipe (with deadlines) but fails every write.
type brokenWriter struct{ net.Conn }

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("line driver failed") }

// TestWriteFailureEndsRun: a port that fails writes ends Run with the
// error (it must not wait for ever on its own reader), and the request in
// flight is reported with an unknown outcome.
func TestWriteFailureEndsRun(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	reg := NewRegister(brokenWriter{a}, Config{}, nil)
	runErr := make(chan error, 1)
	go func() { runErr <- reg.Run(context.Background()) }()
	_, err := reg.Do(context.Background(), Request{Command: CmdStatus})
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Do: got %v, want ErrOutcomeUnknown", err)
	}
	if err := <-runErr; err == nil || !strings.Contains(err.Error(), "line driver failed") {
		t.Fatalf("register Run: got %v, want the write error", err)
	}

	c, d := net.Pipe()
	defer c.Close()
	defer d.Close()
	srv := NewServer(brokenWriter{c}, newFakeTerminal(), Config{}, nil)
	go func() { runErr <- srv.Run(context.Background()) }()
	f, _ := AppendFrame(nil, Frame{Seq: 1, Payload: p("STATUS", "V=1")}, CRC16)
	if _, err := d.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := <-runErr; err == nil || !strings.Contains(err.Error(), "line driver failed") {
		t.Fatalf("server Run: got %v, want the write error", err)
	}
}
