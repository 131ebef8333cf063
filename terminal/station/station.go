// Package station wires one counter station for the window: the local
// store, the engine, the counter (printer, cash register), the hub link,
// the serial scanner and the window's settings, behind the Backend that
// terminal/ui drives. It holds no redemption rules (package terminal does)
// and no widgets (package ui does); it must never decide a redemption
// itself, only pass inputs to the counter.
package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/counter"
	"github.com/hexiao/hexiao/terminal/hublink"
	"github.com/hexiao/hexiao/terminal/sqlite"
	"github.com/hexiao/hexiao/terminal/ui"
)

// Options configure a Station. Zero values take the defaults.
type Options struct {
	Dir          string // the data directory
	Version      string // this build's version
	Log          *slog.Logger
	Now          func() time.Time // the base clock (time.Now); the hub's offset is applied to it
	ClaimTimeout time.Duration    // how long a claim waits for the hub (800 ms)
	NoHub        bool             // run offline even if enrolled
	// OnScan is told each code a serial scanner read; the window submits
	// it like a scan.
	OnScan func(code string)
	// OnDecision is told each decision the cash register asked for, so
	// the window shows it too.
	OnDecision func(d terminal.Decision)
	// OnDevice is told when a device connects or goes ("" err: connected).
	OnDevice func(device string, err error)
}

// Station is one counter's terminal parts. Until the terminal is enrolled
// (or set up with init) only Enroll, Settings and SaveSettings work.
type Station struct {
	opt Options
	log *slog.Logger

	ready chan struct{} // closed once the parts are up

	mu       sync.Mutex // guards the fields below
	st       *sqlite.Store
	link     *hublink.Link // nil: not linked to a hub
	eng      *terminal.Engine
	ctr      *counter.Counter
	settings ui.Settings
	devs     *devices
	clock    func() time.Time // hub-corrected time, once the store is open
	printErr error            // how the last print went
	hubName  string           // the store's name as the hub gave it at start (else its id)

	interrupted []protocol.Event // decisions a crash left unfinished, NOT redeemed
}

var _ ui.Backend = (*Station)(nil)

// Open opens the station on opt.Dir. A directory that is not set up yet is
// not an error: the window shows enrollment.
func Open(ctx context.Context, opt Options) (*Station, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Station{opt: opt, log: opt.Log, ready: make(chan struct{})}
	set, err := loadSettings(opt.Dir)
	if err != nil {
		return nil, err
	}
	s.settings = set
	s.devs = newDevices(s)
	if err := s.openParts(ctx); err != nil && !errors.Is(err, sqlite.ErrNotSetUp) {
		return nil, err
	}
	return s, nil
}

// openParts opens the store and builds the engine, link and counter.
func (s *Station) openParts(ctx context.Context) error {
	st, err := sqlite.Open(ctx, s.opt.Dir, s.log)
	if err != nil {
		return err
	}
	clock := terminal.HubClock(s.opt.Now, st.ClockOffset)
	var link *hublink.Link
	var eng *terminal.Engine
	if !s.opt.NoHub {
		cfg, err := hublink.LoadConfig(s.opt.Dir)
		switch {
		case err == nil:
			link, err = hublink.New(cfg, st, hublink.Options{App: s.opt.Version, Log: s.log, Clock: clock,
				Online:      func() bool { return eng != nil && eng.Online() },
				Forced:      func() bool { return eng != nil && eng.ForcedOffline() },
				OnReachable: func(ok bool) { eng.SetReachable(ok) },
			})
			if err != nil {
				st.Close()
				return err
			}
		case errors.Is(err, os.ErrNotExist):
			s.log.Info("not enrolled at a hub: running offline", "dir", s.opt.Dir)
		default:
			st.Close()
			return err
		}
	}
	var hl terminal.HubLink
	if link != nil {
		hl = link
	}
	eng = terminal.New(st, hl, clock, terminal.Config{ClaimTimeout: s.opt.ClaimTimeout}, s.log)
	if link != nil {
		eng.SetReachable(false) // until the hub answers
	}
	interrupted, err := eng.Resolve(ctx)
	if err != nil {
		st.Close()
		return fmt.Errorf("resolve interrupted decisions: %w", err)
	}
	hubName := storeName(ctx, st)
	s.mu.Lock()
	set := s.settings
	if set.StoreName == "" {
		set.StoreName = hubName
	}
	ctr := counter.New(eng, st, s.devs.printer, counter.Config{StoreName: set.StoreName, Lang: set.Lang,
		Columns: set.Columns, Version: s.opt.Version}, clock, s.log)
	ctr.OnPrint = func(_ uint64, err error) {
		s.mu.Lock()
		s.printErr = err
		s.mu.Unlock()
	}
	s.st, s.link, s.eng, s.ctr, s.interrupted, s.clock, s.hubName = st, link, eng, ctr, interrupted, clock, hubName
	s.mu.Unlock()
	for _, ev := range interrupted {
		s.log.Warn("interrupted before its verdict and NOT redeemed: scan it again", "code", ev.Code, "event", ev.Ref())
	}
	close(s.ready)
	return nil
}

// now is the hub-corrected time (the base clock before enrollment).
func (s *Station) now() time.Time {
	s.mu.Lock()
	clock := s.clock
	s.mu.Unlock()
	if clock == nil {
		return s.opt.Now()
	}
	return clock()
}

// parts returns the parts, or an error before enrollment.
func (s *Station) parts() (*sqlite.Store, *terminal.Engine, *counter.Counter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return nil, nil, nil, errNotEnrolled
	}
	return s.st, s.eng, s.ctr, nil
}

var errNotEnrolled = &ui.UserError{EN: "This terminal is not paired with HQ yet", ZH: "此终端尚未绑定总部"}

// Run runs the station until ctx is done: it waits for enrollment, then
// runs the hub link, the printer queue and the devices; on the way out it
// waits (bounded) for queued slips.
func (s *Station) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-s.ready:
	}
	s.mu.Lock()
	link, ctr := s.link, s.ctr
	s.mu.Unlock()
	var wg sync.WaitGroup
	pctx, stopPrinter := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { _ = ctr.Run(pctx) })
	if link != nil {
		wg.Go(func() {
			if err := link.Run(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("hub link stopped", "err", err)
			}
		})
	}
	wg.Go(func() { s.devs.run(ctx) })
	<-ctx.Done()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if err := ctr.Flush(fctx); err != nil {
		s.log.Warn("slips left unprinted at exit: reprint them from the log", "err", err)
	}
	cancel()
	stopPrinter()
	wg.Wait()
	return nil
}

// Close closes the store and the devices. Call it after Run returned.
func (s *Station) Close() error {
	s.devs.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		return s.st.Close()
	}
	return nil
}

// Store is the station's store (nil before enrollment), for the command's
// other uses and tests.
func (s *Station) Store() *sqlite.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Interrupted lists the decisions a crash left unfinished, which were NOT
// redeemed: the window tells the cashier to scan them again.
func (s *Station) Interrupted() []protocol.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interrupted
}

// Enrolled reports whether the terminal is set up.
func (s *Station) Enrolled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st != nil
}

// Enroll exchanges the enrollment link scanned from the hub's QR code and
// starts the terminal.
func (s *Station) Enroll(ctx context.Context, text string) error {
	if s.Enrolled() {
		return &ui.UserError{EN: "This terminal is already paired", ZH: "此终端已绑定"}
	}
	l, err := hublink.ReadEnrollInput(hublink.EnrollInput{Link: text})
	if err != nil {
		return &ui.UserError{EN: "Not an enrollment code: " + err.Error(), ZH: "不是绑定二维码：" + err.Error()}
	}
	if _, err := hublink.Enroll(ctx, s.opt.Dir, l, ""); err != nil {
		return err
	}
	if err := saveSettings(s.opt.Dir, s.Settings()); err != nil {
		s.log.Warn("settings not saved", "err", err)
	}
	return s.openParts(ctx)
}
