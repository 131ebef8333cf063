package station

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/escpos"
	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/ui"
)

// devices are the station's printer, customer display, serial scanner and
// cash register link, reopened when the settings change.
type devices struct {
	s       *Station
	printer *swapPrinter
	restart chan struct{} // the scanner or register port changed

	mu      sync.Mutex // guards display and the errors
	display *escpos.Display
}

func newDevices(s *Station) *devices {
	d := &devices{s: s, printer: &swapPrinter{}, restart: make(chan struct{}, 1)}
	set := s.settings
	if err := d.openPrinter(set); err != nil {
		s.log.Warn("printer not opened", "printer", set.Printer, "err", err)
	}
	if err := d.openDisplay(set); err != nil {
		s.log.Warn("customer display not opened", "display", set.Display, "err", err)
	}
	return d
}

// apply reopens what changed between old and set.
func (d *devices) apply(old, set ui.Settings) error {
	var errs []error
	if old.Printer != set.Printer {
		errs = append(errs, d.openPrinter(set))
	}
	if old.Display != set.Display {
		errs = append(errs, d.openDisplay(set))
	}
	if old.ScannerPort != set.ScannerPort || old.ECRPort != set.ECRPort || old.ECRSum != set.ECRSum {
		select {
		case d.restart <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

func (d *devices) openPrinter(set ui.Settings) error {
	var p *escpos.Printer
	if set.Printer != "" {
		var err error
		if p, err = escpos.Open(set.Printer, escpos.Config{}); err != nil {
			d.printer.set(nil, err)
			return fmt.Errorf("printer %s: %w", set.Printer, err)
		}
	}
	d.printer.set(p, nil)
	return nil
}

func (d *devices) openDisplay(set ui.Settings) error {
	var disp *escpos.Display
	if set.Display != "" {
		var err error
		if disp, err = escpos.OpenDisplay(set.Display); err != nil {
			return fmt.Errorf("customer display %s: %w", set.Display, err)
		}
	}
	d.mu.Lock()
	old := d.display
	d.display = disp
	d.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// show puts a verdict on the customer display, never failing the
// decision.
func (d *devices) show(r protocol.Reason, uses int, amount int64) {
	d.mu.Lock()
	disp := d.display
	d.mu.Unlock()
	if disp != nil {
		_ = disp.ShowVerdict(string(r), uses, amount)
	}
}

// run serves the serial scanner and the cash register until ctx is done,
// starting them again whenever their settings change.
func (d *devices) run(ctx context.Context) {
	for {
		set := d.s.Settings()
		dctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		if set.ScannerPort != "" {
			wg.Go(func() { d.serveScanner(dctx, set.ScannerPort) })
		}
		if set.ECRPort != "" {
			wg.Go(func() { d.serveECR(dctx, set) })
		}
		select {
		case <-ctx.Done():
		case <-d.restart:
		}
		stop()
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
	}
}

func (d *devices) told(device string, err error) {
	if d.s.opt.OnDevice != nil {
		d.s.opt.OnDevice(device, err)
	}
}

func (d *devices) serveScanner(ctx context.Context, spec string) {
	sc := scanner.NewSerial(scanner.SerialConfig{Spec: spec},
		func(code string) {
			if d.s.opt.OnScan != nil {
				d.s.opt.OnScan(code)
			}
		},
		func(connected bool, err error) {
			if connected {
				d.told("scanner", nil)
			} else {
				d.told("scanner", fmt.Errorf("scanner %s: %w", spec, err))
			}
		})
	if err := sc.Run(ctx); err != nil && ctx.Err() == nil {
		d.s.log.Error("serial scanner stopped", "port", spec, "err", err)
	}
}

func (d *devices) serveECR(ctx context.Context, set ui.Settings) {
	pc, err := serialport.ParseSpec(set.ECRPort)
	if err != nil {
		d.s.log.Error("cash register port", "port", set.ECRPort, "err", err)
		return
	}
	sum, err := ecr.ParseChecksum(set.ECRSum)
	if err != nil {
		sum = ecr.CRC16
	}
	ecr.ServePort(ctx, pc, ecrHandler{d}, ecr.Config{Checksum: sum}, d.s.log, func(open bool, err error) {
		switch {
		case open:
			d.told("ecr", nil)
		case err != nil:
			d.told("ecr", fmt.Errorf("cash register %s: %w", set.ECRPort, err))
		}
	})
}

// ecrHandler answers the register from the counter and shows each commit.
type ecrHandler struct{ d *devices }

func (h ecrHandler) Handle(ctx context.Context, req ecr.Request) ecr.Reply {
	s := h.d.s
	_, _, ctr, err := s.parts()
	if err != nil {
		return ecr.ErrorReply(req.Command, ecr.ResultRefused, err.Error())
	}
	r := ctr.Handle(ctx, req)
	if req.Command == ecr.CmdCommit && r.Result == ecr.ResultOK {
		s.kick()
		h.d.show(r.Reason, r.Uses, r.Amount)
		if s.opt.OnDecision != nil && !r.Replayed {
			s.opt.OnDecision(replyDecision(r))
		}
	}
	return r
}

// replyDecision is the decision a register's COMMIT reply describes.
func replyDecision(r ecr.Reply) terminal.Decision {
	d := terminal.Decision{Mode: r.Mode, Event: r.Event, UsesLeft: r.UsesLeft, Replayed: r.Replayed}
	d.Reason, d.Uses, d.Amount = r.Reason, r.Uses, r.Amount
	d.Campaign = protocol.Campaign{ID: r.Campaign, Name: r.Name, FaceValue: r.Face}
	return d
}

func (d *devices) close() {
	d.printer.set(nil, nil)
	d.mu.Lock()
	if d.display != nil {
		d.display.Close()
		d.display = nil
	}
	d.mu.Unlock()
}

// swapPrinter is the counter's printer: the one the settings name, or none.
type swapPrinter struct {
	mu  sync.Mutex
	p   *escpos.Printer
	err error // why the configured printer could not be opened
}

func (sp *swapPrinter) set(p *escpos.Printer, err error) {
	sp.mu.Lock()
	old := sp.p
	sp.p, sp.err = p, err
	sp.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

func (sp *swapPrinter) get() (*escpos.Printer, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.p, sp.err
}

// Present reports whether a printer is configured (counter.Switchable).
func (sp *swapPrinter) Present() bool {
	p, err := sp.get()
	return p != nil || err != nil
}

func (sp *swapPrinter) Print(ctx context.Context, doc []byte) error {
	p, err := sp.get()
	if err != nil {
		return err
	}
	if p == nil {
		return errors.New("no printer configured")
	}
	return p.Print(ctx, doc)
}

// StatusText is the printer's state in words (counter.PrinterStatus).
func (sp *swapPrinter) StatusText(ctx context.Context) string {
	p, err := sp.get()
	switch {
	case err != nil:
		return err.Error()
	case p == nil:
		return ""
	}
	st, err := p.Status(ctx)
	if err != nil {
		return err.Error()
	}
	return st.String()
}
