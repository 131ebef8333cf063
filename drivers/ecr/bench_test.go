package ecr

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/internal/ptypair"
)

var benchCommit = p("COMMIT", "V=1", "CODE=HX1:AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYUCULBOGAZDINRYHI6D4QCAIQ", "USES=1",
	"KEY=POS1-20260101-000123", "ORDER=A-1001", "CASHIER=c1")

// BenchmarkRoundTripPty is one PREPARE round trip, Register to Server,
// over real ptys: request frame, ACK, reply frame, ACK.
//
// ptys ignore the baud rate, so in the baud=N runs the bytes pass through
// a relay (two pty pairs, as in the fault tests, with no faults) that
// holds every unit for the time it takes on a wire at N baud, 8N1, before
// writing it: ns/op is then close to what a real line costs. wire-bytes/op
// counts the bytes of the exchange and wire-ms/op is their theoretical
// time at N baud. pty-direct is one pty pair with no relay: the software
// and pty cost alone.
func BenchmarkRoundTripPty(b *testing.B) {
	req := Request{Command: CmdPrepare, Code: "HX1:AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYUCULBOGAZDINRYHI6D4QCAIQ", Uses: 1}
	for _, baud := range []int{0, 9600, 115200} {
		name := fmt.Sprintf("baud=%d", baud)
		if baud == 0 {
			name = "pty-direct"
		}
		b.Run(name, func(b *testing.B) {
			cfg := Config{Baud: baud}
			var reg *Register
			if baud == 0 {
				reg = newDirect(b, cfg)
			} else {
				reg = newLink(b, cfg, &relay{baud: baud}).reg
			}
			ctx := context.Background()
			rep, err := reg.Do(ctx, req)
			if err != nil || rep.Result != ResultOK {
				b.Fatalf("PREPARE: %+v, %v", rep, err)
			}
			wire := exchangeBytes(b, req, rep)
			b.ResetTimer()
			for b.Loop() {
				if _, err := reg.Do(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(wire), "wire-bytes/op")
			if baud > 0 {
				b.ReportMetric(float64(WireTime(wire, baud))/float64(time.Millisecond), "wire-ms/op")
			}
		})
	}
}

// newDirect is a Register and Server on the two ends of one pty pair.
func newDirect(b *testing.B, cfg Config) *Register {
	pair := ptypair.New(b)
	srv := NewServer(openPort(b, pair.B), newFakeTerminal(), cfg, nil)
	reg := NewRegister(openPort(b, pair.A), cfg, nil)
	goRun(b, "server", srv.Run)
	goRun(b, "register", reg.Run)
	return reg
}

// exchangeBytes is the bytes one round trip puts on the wire.
func exchangeBytes(b *testing.B, req Request, rep Reply) int {
	rq, err := EncodeRequest(req)
	if err != nil {
		b.Fatal(err)
	}
	rp, err := EncodeReply(rep)
	if err != nil {
		b.Fatal(err)
	}
	f1, _ := AppendFrame(nil, Frame{Seq: 1, Payload: rq}, CRC16)
	f2, _ := AppendFrame(nil, Frame{Seq: 1, Payload: rp}, CRC16)
	return len(f1) + 1 + len(f2) + 1
}

func BenchmarkEncodeFrame(b *testing.B) {
	for _, c := range []Checksum{CRC16, LRC} {
		b.Run(c.String(), func(b *testing.B) {
			f := Frame{Seq: 0x10, Payload: benchCommit}
			buf := make([]byte, 0, MaxWireFrame)
			b.SetBytes(int64(len(benchCommit)))
			for b.Loop() {
				var err error
				buf, err = AppendFrame(buf[:0], f, c)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, c := range []Checksum{CRC16, LRC} {
		b.Run(c.String(), func(b *testing.B) {
			wire, err := AppendFrame(nil, Frame{Seq: 0x10, Payload: benchCommit}, c)
			if err != nil {
				b.Fatal(err)
			}
			d := NewDecoder(c, 100*time.Millisecond)
			toks := make([]Token, 0, 4)
			now := time.Now()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				toks = d.Feed(toks[:0], wire, now)
				if len(toks) != 1 || toks[0].Kind != TokenFrame {
					b.Fatalf("got %s", describe(toks))
				}
			}
		})
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	b.SetBytes(int64(len(benchCommit)))
	for b.Loop() {
		if _, err := DecodeRequest(benchCommit); err != nil {
			b.Fatal(err)
		}
	}
}
