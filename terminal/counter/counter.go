package counter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// Store is what the counter needs of the terminal's store besides the
// engine: the journal to reprint from and the printed-slip records.
type Store interface {
	Identity() terminal.Identity
	Redemption(ctx context.Context, seq uint64) (protocol.Event, int, error)
	ByIdemKey(ctx context.Context, key string) (protocol.Event, error)
	LastVoidOf(ctx context.Context, seq uint64) (protocol.Event, error)
	Campaign(ctx context.Context, id string) (protocol.Campaign, error)
	CodeByID(ctx context.Context, id string) (protocol.CodeState, error)
	RecordPrint(ctx context.Context, seq uint64, at time.Time, failure error) error
	OutboxDepth(ctx context.Context) (int, error)
}

// Printer prints one rendered document, or says why it could not.
type Printer interface {
	Print(ctx context.Context, doc []byte) error
}

// Config holds the counter's settings. Zero values take the defaults.
type Config struct {
	StoreName    string        // printed on slips and reports
	Lang         protocol.Lang // of slips and reports (en)
	Columns      int           // printer width in columns: 32 (58 mm) or 48 (80 mm, the default)
	PrintTimeout time.Duration // bound on one print (10 s)
	Queue        int           // slips waiting for the printer (64)
	Manager      string        // recorded on an ECR REVERSE or END_OF_DAY with no operator ("ecr")
	Version      string        // this build's version, for the register's STATUS
}

func (c Config) withDefaults() Config {
	if c.Lang == "" {
		c.Lang = protocol.LangEN
	}
	if c.Columns == 0 {
		c.Columns = 48
	}
	if c.PrintTimeout <= 0 {
		c.PrintTimeout = 10 * time.Second
	}
	if c.Queue <= 0 {
		c.Queue = 64
	}
	if c.Manager == "" {
		c.Manager = "ecr"
	}
	return c
}

// Counter serves one counter. Commit, Reprint, XReport, CloseDay and the
// ECR handler are safe for concurrent use; Run prints the queued slips.
type Counter struct {
	eng *terminal.Engine
	st  Store
	pr  Printer // nil: no printer
	now func() time.Time

	docMu sync.RWMutex // guards cfg's StoreName, Lang and Columns (SetDocuments)
	cfg   Config
	log   *slog.Logger

	// OnPrint, when set before Run, is told each slip's outcome, from
	// Run's goroutine.
	OnPrint func(seq uint64, err error)

	jobs    chan job
	pending atomic.Int64  // slips queued and not yet recorded
	drained chan struct{} // signalled (buffer 1) when pending falls to 0
	mu      sync.Mutex    // serialises prints (the queue's and Reprint's) on the one printer

	lmu  sync.Mutex // guards last
	last *ecr.Reply // the register's last COMMIT, REVERSE or END_OF_DAY since start
}

// job is a slip to print: the decision and who served it, rendered only
// when its turn comes, off the verdict path.
type job struct {
	d       terminal.Decision
	cashier string
}

// New makes a counter on eng and st printing on pr (nil: no printer).
func New(eng *terminal.Engine, st Store, pr Printer, cfg Config, now func() time.Time, log *slog.Logger) *Counter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Counter{eng: eng, st: st, pr: pr, cfg: cfg, now: now, log: log, jobs: make(chan job, cfg.Queue),
		drained: make(chan struct{}, 1)}
}

// docs returns the settings of the documents: store name, language and
// width (SetDocuments may change them while the counter runs).
func (c *Counter) docs() Config {
	c.docMu.RLock()
	defer c.docMu.RUnlock()
	return c.cfg
}

// SetDocuments changes the store name, the language and the width of the
// slips and reports printed from now on (the window's settings).
func (c *Counter) SetDocuments(storeName string, lang protocol.Lang, columns int) {
	c.docMu.Lock()
	defer c.docMu.Unlock()
	c.cfg.StoreName = storeName
	if lang != "" {
		c.cfg.Lang = lang
	}
	if columns == 32 || columns == 48 {
		c.cfg.Columns = columns
	}
}

// Engine is the engine the counter serves.
func (c *Counter) Engine() *terminal.Engine { return c.eng }

// Switchable is a Printer that may be configured or not at a given moment
// (the window's settings swap printers while the counter runs): while
// Present is false the counter treats it as no printer.
type Switchable interface {
	Present() bool
}

// HasPrinter reports whether slips and reports print.
func (c *Counter) HasPrinter() bool {
	if c.pr == nil {
		return false
	}
	if s, ok := c.pr.(Switchable); ok {
		return s.Present()
	}
	return true
}

// Run prints queued slips until ctx is done. Slips still queued then stay
// unprinted (no record), which is how a reprint finds them.
func (c *Counter) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-c.jobs:
			doc, err := c.renderDecision(j.d, j.cashier)
			if err == nil {
				err = c.print(ctx, doc)
			}
			c.recordSlip(context.WithoutCancel(ctx), j.d.Event.Seq, err)
			if c.OnPrint != nil {
				c.OnPrint(j.d.Event.Seq, err)
			}
			if c.pending.Add(-1) == 0 {
				select {
				case c.drained <- struct{}{}:
				default:
				}
			}
		}
	}
}

// recordSlip records one try to print the slip of event seq.
func (c *Counter) recordSlip(ctx context.Context, seq uint64, err error) {
	if rerr := c.st.RecordPrint(ctx, seq, c.now(), err); rerr != nil {
		c.log.Error("record slip", "seq", seq, "err", rerr)
	}
	if err != nil {
		c.log.Warn("slip not printed: reprint it from the log", "seq", seq, "err", err)
	}
}

// Flush waits until every queued slip has printed or failed, or ctx is
// done. Run must be running.
func (c *Counter) Flush(ctx context.Context) error {
	for c.pending.Load() > 0 {
		select {
		case <-c.drained:
		case <-ctx.Done():
			return fmt.Errorf("slips still waiting for the printer: %w", ctx.Err())
		}
	}
	return nil
}

// print prints doc within the print timeout, one document at a time.
func (c *Counter) print(ctx context.Context, doc []byte) error {
	if !c.HasPrinter() {
		return errors.New("no printer configured")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, c.cfg.PrintTimeout)
	defer cancel()
	return c.pr.Print(pctx, doc)
}

// Commit decides in and, when it is accepted and a printer is set, queues
// its slip: the decision never waits for the printer.
func (c *Counter) Commit(ctx context.Context, in terminal.Input) terminal.Decision {
	d := c.eng.Commit(ctx, in)
	if d.Accepted() && c.HasPrinter() && d.Event.Seq != 0 && !d.Replayed {
		c.queueSlip(ctx, d, in.Cashier)
	}
	return d
}

func (c *Counter) queueSlip(ctx context.Context, d terminal.Decision, cashier string) {
	c.pending.Add(1)
	select {
	case c.jobs <- job{d: d, cashier: cashier}:
	default:
		c.pending.Add(-1)
		c.recordSlip(ctx, d.Event.Seq, fmt.Errorf("%d slips already wait for the printer", cap(c.jobs)))
	}
}

// Reprint prints again the slip of one of this terminal's redemptions,
// marked as a reprint, and records the outcome.
func (c *Counter) Reprint(ctx context.Context, seq uint64) error {
	ev, _, err := c.st.Redemption(ctx, seq)
	if errors.Is(err, terminal.ErrNotFound) {
		return fmt.Errorf("no event %d in this terminal's journal", seq)
	} else if err != nil {
		return err
	}
	if ev.Kind != protocol.KindRedemption {
		return fmt.Errorf("event %d is a %s: only redemptions have slips", seq, ev.Kind)
	}
	doc, err := c.renderEvent(ctx, ev)
	if err != nil {
		return err
	}
	perr := c.print(ctx, doc)
	if rerr := c.st.RecordPrint(context.WithoutCancel(ctx), seq, c.now(), perr); rerr != nil {
		return errors.Join(perr, rerr)
	}
	return perr
}

// ReportResult is a report and whether it printed.
type ReportResult struct {
	terminal.Report
	PrintErr error // nil: printed (or no printer: see Printed)
	Printed  bool
}

// XReport totals the events since the last Z report and prints them.
func (c *Counter) XReport(ctx context.Context) (ReportResult, error) {
	r, err := c.eng.XReport(ctx)
	if err != nil {
		return ReportResult{}, err
	}
	return c.printReport(ctx, r), nil
}

// CloseDay journals the next Z report and prints it. A printer failure
// never undoes the Z report: XReport's totals start after it either way,
// and the printout says which Z it is.
func (c *Counter) CloseDay(ctx context.Context, manager string) (ReportResult, error) {
	r, err := c.eng.CloseDay(ctx, manager)
	if err != nil {
		return ReportResult{}, err
	}
	return c.printReport(ctx, r), nil
}

func (c *Counter) printReport(ctx context.Context, r terminal.Report) ReportResult {
	out := ReportResult{Report: r}
	if !c.HasPrinter() {
		return out
	}
	doc, err := c.renderReport(ctx, r)
	if err == nil {
		err = c.print(ctx, doc)
	}
	out.PrintErr, out.Printed = err, err == nil
	if err != nil {
		c.log.Warn("report not printed", "z", r.Z, "number", r.Number, "err", err)
	}
	return out
}
