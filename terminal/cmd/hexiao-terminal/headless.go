package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/escpos"
	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/counter"
	"github.com/hexiao/hexiao/terminal/hublink"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// maxLine bounds one input line; a longer one is refused as malformed.
const maxLine = 4096

// decisionLine is what headless writes for each code: one JSON object a
// line. API.md fixes code, verdict, reason, event_id, mode and
// remaining_uses; the rest are additions.
type decisionLine struct {
	Line          int             `json:"line"`
	Code          string          `json:"code"` // as given; a card secret masked
	CodeID        string          `json:"code_id,omitempty"`
	Verdict       string          `json:"verdict"` // accepted or rejected
	Reason        protocol.Reason `json:"reason"`
	Message       string          `json:"message"`
	EventID       string          `json:"event_id,omitempty"`
	Mode          protocol.Mode   `json:"mode"`
	RemainingUses int             `json:"remaining_uses"`
	Uses          int             `json:"uses,omitempty"`
	Campaign      string          `json:"campaign,omitempty"`
	CampaignName  string          `json:"campaign_name,omitempty"`
	FaceValue     int64           `json:"face_value,omitempty"`
	Amount        int64           `json:"amount,omitempty"`
	At            time.Time       `json:"at"`
	Error         string          `json:"error,omitempty"`  // the decision could not be journaled
	Source        string          `json:"source,omitempty"` // scanner or ecr; stdin when empty
}

// inputLine is the JSON form of an input line. Cmd, when set, makes it a
// control line: offline or online (a manager's force-offline switch, with
// Manager and Note), status, x (X report), z (Z report, with Manager) or
// reprint (the slip of event Seq).
type inputLine struct {
	Cmd      string `json:"cmd"`
	Manager  string `json:"manager"`
	Note     string `json:"note"`
	Seq      uint64 `json:"seq"`
	Code     string `json:"code"`
	Uses     int    `json:"uses"`
	Cashier  string `json:"cashier"`
	OrderRef string `json:"order_ref"`
	IdemKey  string `json:"idem_key"`
}

func runHeadless(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("headless", stderr)
	data := fs.String("data", "", "data directory")
	cashier := fs.String("cashier", "", "cashier id recorded with each decision")
	lang := fs.String("lang", "en", "language of the message field: en or zh-CN")
	scannerSpec := fs.String("scanner", "", "serial (USB-CDC) scanner: PATH[:BAUD[:FRAME]], e.g. /dev/ttyACM0")
	ecrSpec := fs.String("ecr", "", "cash register link: PATH[:BAUD[:FRAME]], e.g. /dev/ttyS0:9600 (docs/ecr.md)")
	ecrSum := fs.String("ecr-checksum", "crc16", "cash register frame checksum: crc16 or lrc")
	printerSpec := fs.String("printer", "", "ESC/POS receipt printer: a serial spec PATH[:BAUD], or a device or file path (/dev/usb/lp0)")
	columns := fs.Int("printer-columns", 48, "printer width in columns: 48 (80 mm paper) or 32 (58 mm)")
	storeName := fs.String("store-name", "", "store name printed on slips and reports (default: the store id)")
	displaySpec := fs.String("display", "", "CD5220 customer display: PATH[:BAUD[:FRAME]]")
	claimTimeout := fs.Duration("claim-timeout", 800*time.Millisecond, "how long a claim waits for the hub before deciding offline")
	syncWait := fs.Duration("sync-wait", 30*time.Second, "how long a never-synced terminal waits for its first snapshot before reading stdin")
	flushTimeout := fs.Duration("flush-timeout", 30*time.Second, "how long to wait at the end of stdin for the hub to acknowledge the outbox")
	noHub := fs.Bool("no-hub", false, "run offline without the hub link even if the terminal is enrolled")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("headless: --data DIR is required")
	}
	if fs.NArg() > 0 {
		return usageErr("headless: codes come on stdin, not as arguments")
	}
	if *lang != string(protocol.LangEN) && *lang != string(protocol.LangZH) {
		return usageErr(fmt.Sprintf("headless: --lang %q: want en or zh-CN", *lang))
	}
	if *cashier != "" {
		if err := protocol.ValidID(*cashier); err != nil {
			return usageErr("headless: --cashier: " + err.Error())
		}
	}
	devs := devices{scanner: *scannerSpec, ecr: *ecrSpec}
	for name, spec := range map[string]string{"--scanner": *scannerSpec, "--ecr": *ecrSpec, "--display": *displaySpec} {
		if spec != "" {
			if _, err := serialport.ParseSpec(spec); err != nil {
				return usageErr(fmt.Sprintf("headless: %s: %v", name, err))
			}
		}
	}
	sum, err := ecr.ParseChecksum(*ecrSum)
	if err != nil {
		return usageErr("headless: --ecr-checksum: " + err.Error())
	}
	devs.ecrSum = sum
	if *columns != 32 && *columns != 48 {
		return usageErr(fmt.Sprintf("headless: --printer-columns %d: want 32 or 48", *columns))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := sqlite.Open(ctx, *data, log)
	if err != nil {
		return err
	}
	defer st.Close()
	clock := terminal.HubClock(time.Now, st.ClockOffset)
	lng := protocol.Lang(*lang)
	var pr counter.Printer
	if *printerSpec != "" {
		p, err := escpos.Open(*printerSpec, escpos.Config{})
		if err != nil {
			return fmt.Errorf("headless: --printer: %w", err)
		}
		defer p.Close()
		pr = printer{p}
	}
	var display *escpos.Display
	if *displaySpec != "" {
		d, err := escpos.OpenDisplay(*displaySpec)
		if err != nil {
			return fmt.Errorf("headless: --display: %w", err)
		}
		defer d.Close()
		display = d
	}
	// counterSession wires the engine (with link, or none) to the counter, the
	// printer, the display and stdout.
	counterSession := func(link *hublink.Link, eng *terminal.Engine) *session {
		ctr := counter.New(eng, st, pr, counter.Config{StoreName: *storeName, Lang: lng, Columns: *columns, Version: version}, clock, log)
		return newSession(ctr, link, display, stdout, *cashier, lng)
	}
	var link *hublink.Link
	if !*noHub {
		cfg, err := hublink.LoadConfig(*data)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(stderr, "not enrolled at a hub (no %s): running offline\n", hublink.ConfigFile)
		default:
			return err
		}
		if err == nil {
			var eng *terminal.Engine
			link, err = hublink.New(cfg, st, hublink.Options{App: version, Log: log, Clock: clock,
				Online:      func() bool { return eng != nil && eng.Online() },
				Forced:      func() bool { return eng != nil && eng.ForcedOffline() },
				OnReachable: func(ok bool) { eng.SetReachable(ok) },
				OnIncompatible: func(err error) {
					if err != nil {
						fmt.Fprintf(stderr, "the hub's protocol is incompatible: %v\n", err)
					}
				},
				OnRevoked: func(why string) {
					fmt.Fprintf(stderr, "this terminal was revoked by HQ (%s): cache wiped, nothing will be redeemed\n", why)
				},
			})
			if err != nil {
				return err
			}
			eng = terminal.New(st, link, clock, terminal.Config{ClaimTimeout: *claimTimeout}, log)
			eng.SetReachable(false) // until the hub answers
			return runSynced(ctx, st, counterSession(link, eng), devs, stdin, stderr, log, *syncWait, *flushTimeout)
		}
	}
	eng := terminal.New(st, nil, clock, terminal.Config{ClaimTimeout: *claimTimeout}, log)
	if err := ready(ctx, st, eng, stderr, "offline (no hub link)"); err != nil {
		return err
	}
	if err := counterSession(nil, eng).serve(ctx, devs, stdin, stderr, log, *flushTimeout); err != nil {
		return err
	}
	depth, err := st.OutboxDepth(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	if depth > 0 {
		fmt.Fprintf(stderr, "%d events wait in the outbox for the hub (not linked)\n", depth)
	}
	return nil
}

// ready resolves decisions a crash interrupted and says the terminal is
// ready.
func ready(ctx context.Context, st *sqlite.Store, eng *terminal.Engine, stderr io.Writer, mode string) error {
	interrupted, err := eng.Resolve(ctx)
	if err != nil {
		return err
	}
	for _, ev := range interrupted {
		fmt.Fprintf(stderr, "interrupted before its verdict and NOT redeemed: code %s (event %s): scan it again\n", ev.Code, ev.Ref())
	}
	id := st.Identity()
	fmt.Fprintf(stderr, "terminal %s of store %s ready: %s; codes on stdin, one a line\n", id.Terminal, id.Store, mode)
	return nil
}

// runSynced serves stdin with the hub link running: it waits (bounded) for
// a never-synced terminal's first snapshot, and at the end of stdin for the
// hub to acknowledge the outbox.
func runSynced(ctx context.Context, st *sqlite.Store, s *session, devs devices, stdin io.Reader, stderr io.Writer, log *slog.Logger,
	syncWait, flushTimeout time.Duration) error {
	link, eng := s.link, s.ctr.Engine()
	lctx, stop := context.WithCancel(ctx)
	linkDone := make(chan error, 1)
	go func() { linkDone <- link.Run(lctx) }()
	defer func() {
		stop()
		<-linkDone
	}()
	if cursor, err := st.FeedCursor(ctx); err == nil && cursor == 0 && syncWait > 0 {
		wctx, cancel := context.WithTimeout(ctx, syncWait)
		for wctx.Err() == nil {
			if c, _ := st.FeedCursor(ctx); c > 0 || st.Revoked() != "" {
				break
			}
			select {
			case <-wctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		cancel()
		if c, _ := st.FeedCursor(ctx); c == 0 {
			fmt.Fprintf(stderr, "no snapshot from the hub within %s: the cache is empty until it arrives\n", syncWait)
		}
	}
	mode := "offline, connecting to the hub"
	if eng.Online() {
		mode = "online"
	}
	if err := ready(ctx, st, eng, stderr, mode); err != nil {
		return err
	}
	if err := s.serve(ctx, devs, stdin, stderr, log, flushTimeout); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := link.Flush(fctx); err != nil {
		fmt.Fprintf(stderr, "outbox not flushed: %v; they are kept and sent at the next start\n", err)
		return nil
	}
	fmt.Fprintf(stderr, "outbox flushed: the hub has every event\n")
	return nil
}
