package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/escpos"
	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// devices are the serial devices a headless run serves besides stdin.
type devices struct {
	scanner string // serialport spec of a serial scanner
	ecr     string // serialport spec of the cash register link
	ecrSum  ecr.Checksum
}

func (d devices) any() bool { return d.scanner != "" || d.ecr != "" }

// start runs the devices' readers until ctx is done; wait waits for them.
func (d devices) start(ctx context.Context, s *session, stderr io.Writer, log *slog.Logger) (wait func()) {
	var wg sync.WaitGroup
	if d.scanner != "" {
		n := 0
		sc := scanner.NewSerial(scanner.SerialConfig{Spec: d.scanner},
			func(code string) {
				n++
				line := s.decide(ctx, n, "scanner", terminal.Input{Text: code, Entry: protocol.EntryScanned})
				if err := s.emit(line); err != nil {
					log.Error("scanner decision not written", "err", err)
				}
			},
			func(connected bool, err error) {
				if connected {
					fmt.Fprintf(stderr, "scanner %s connected\n", d.scanner)
				} else {
					fmt.Fprintf(stderr, "scanner %s disconnected: %v\n", d.scanner, err)
				}
			})
		wg.Go(func() {
			if err := sc.Run(ctx); err != nil && ctx.Err() == nil {
				fmt.Fprintf(stderr, "scanner %s stopped: %v\n", d.scanner, err)
			}
		})
	}
	if d.ecr != "" {
		wg.Go(func() { d.serveECR(ctx, s, stderr, log) })
	}
	return wg.Wait
}

// serveECR serves the cash register link until ctx is done, reopening
// the port whenever it goes.
func (d devices) serveECR(ctx context.Context, s *session, stderr io.Writer, log *slog.Logger) {
	pc, _ := serialport.ParseSpec(d.ecr) // checked when the flags were read
	ecr.ServePort(ctx, pc, ecrLogger{s: s}, ecr.Config{Checksum: d.ecrSum}, log, func(open bool, err error) {
		switch {
		case open:
			fmt.Fprintf(stderr, "cash register link %s open (%s)\n", pc, d.ecrSum)
		case err != nil:
			fmt.Fprintf(stderr, "cash register link %s: %v; reopening\n", d.ecr, err)
		}
	})
}

// ecrLine is what headless writes for each command the register sends.
type ecrLine struct {
	Source  string          `json:"source"` // ecr
	Command ecr.Command     `json:"command"`
	Reply   json.RawMessage `json:"reply"` // as ecr-sim prints it (docs/ecr.md)
}

// ecrLogger answers the register from the counter and writes each answer
// to stdout.
type ecrLogger struct{ s *session }

func (l ecrLogger) Handle(ctx context.Context, req ecr.Request) ecr.Reply {
	if req.Cashier == "" {
		req.Cashier = l.s.cashier
	}
	r := l.s.ctr.Handle(ctx, req)
	if req.Command == ecr.CmdCommit {
		if l.s.link != nil {
			l.s.link.Kick()
		}
		if r.Result == ecr.ResultOK {
			l.s.show(r.Reason, r.Uses, r.Amount)
		}
	}
	_ = l.s.emit(ecrLine{Source: "ecr", Command: req.Command, Reply: r.AppendJSON(nil)})
	return r
}

// printer adapts the ESC/POS printer to the counter: it prints, and it
// says its state for the register's STATUS.
type printer struct{ p *escpos.Printer }

func (p printer) Print(ctx context.Context, doc []byte) error { return p.p.Print(ctx, doc) }

func (p printer) StatusText(ctx context.Context) string {
	st, err := p.p.Status(ctx)
	if err != nil {
		return err.Error()
	}
	return st.String()
}
