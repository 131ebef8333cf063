package escpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// Config tunes a printer. Zero values take the defaults.
type Config struct {
	// Timeout bounds each exchange with the device (2 s): the four
	// answers of one status check (DLE EOT 1-4) together, and the taking
	// of each 512-byte part of a document. The check after a print gets
	// the Timeout plus the time the document takes on the wire at the
	// port's baud rate, since the printer sees the query only after the
	// document. A Print on a healthy printer thus takes about the wire
	// time; a silent one fails after one Timeout; none takes longer than
	// about 2 Timeouts plus the wire time plus a Timeout per part.
	Timeout time.Duration
}

// PrintError says why a print or a status query failed.
type PrintError struct {
	State  State  // why: a printer state, no_answer, gone or write_failed
	Status Status // what the printer said, when it said something
	Sent   bool   // some or all of the document reached the device: a slip may have come out
	Err    error  // the I/O error beneath, if any
}

func (e *PrintError) Error() string {
	s := e.Message("en")
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Message says what happened in lang ("zh-CN" or "en"), without the I/O
// detail: fit to show a cashier.
func (e *PrintError) Message(lang string) string {
	why := e.State.Message(lang)
	if e.Status.Known && e.Status.State() == e.State {
		why = e.Status.Message(lang)
	}
	switch {
	case e.Sent && lang == "zh-CN":
		return "已发送，但" + why + "：请检查凭证是否打出"
	case e.Sent:
		return "sent, but " + why + ": check the slip came out"
	case lang == "zh-CN":
		return "未打印：" + why
	}
	return "not printed: " + why
}

func (e *PrintError) Unwrap() error { return e.Err }

// Printer prints documents on a serial printer, its status checked by
// DLE EOT before and after, or on a write-only device or file. A device
// that went away (a USB printer power-cycled) is opened again on the next
// call. Safe for concurrent use: one call at a time reaches the device.
type Printer struct {
	path    string
	serial  *serialport.Config // nil: write-only
	timeout time.Duration

	mu     sync.Mutex // guards dev and closed; held for a whole Print or Status
	dev    *device    // nil: to be opened
	closed bool
}

// device is one open of the printer.
type device struct {
	w  io.WriteCloser
	sp *serialport.Port // nil: write-only
}

// chunk is how much of a document one bounded write hands the device.
const chunk = 512

// Open opens a printer. spec is a serial spec, PATH[:BAUD[:FRAME]]: when
// PATH is a tty (or a baud rate is given) the printer is serial and
// answers status queries; any other path — a /dev/usb/lp* device, a
// plain file, created if missing outside /dev — is written to and never
// asked (status unknown).
func Open(spec string, cfg Config) (*Printer, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	sc, err := serialport.ParseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	p := &Printer{path: sc.Path, timeout: cfg.Timeout}
	fi, statErr := os.Stat(sc.Path)
	explicit := sc.Path != spec // a baud rate or a frame: meant as serial
	maybeSerial := explicit || statErr == nil && fi.Mode()&os.ModeCharDevice != 0 ||
		statErr != nil && (strings.HasPrefix(sc.Path, "/dev/") || strings.HasPrefix(strings.ToUpper(sc.Path), "COM"))
	if maybeSerial {
		port, serr := serialport.Open(sc)
		if serr == nil {
			p.serial, p.dev = &sc, &device{w: port, sp: port}
			return p, nil
		}
		if explicit || statErr != nil {
			return nil, fmt.Errorf("printer: %w", serr)
		}
		// A character device that is not a tty: a USB printer class
		// device (/dev/usb/lp0), write-only.
	}
	p.path = spec
	d, err := p.openFile(statErr != nil)
	if err != nil {
		return nil, err
	}
	p.dev = d
	return p, nil
}

func (p *Printer) openFile(create bool) (*device, error) {
	flag := os.O_WRONLY
	if create {
		flag |= os.O_CREATE | os.O_APPEND
	} else if fi, err := os.Stat(p.path); err == nil && fi.Mode().IsRegular() {
		flag |= os.O_APPEND
	}
	f, err := os.OpenFile(p.path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	return &device{w: f}, nil
}

// ErrClosed is beneath the error of a Print or Status after Close.
var ErrClosed = errors.New("printer closed")

// Close closes the device; later calls fail with ErrClosed.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.dev == nil {
		return nil
	}
	err := p.dev.w.Close()
	p.dev = nil
	return err
}

// device returns the open device, opening it if needed; fresh says it
// was opened now. Called with mu held.
func (p *Printer) device() (d *device, fresh bool, err error) {
	if p.dev != nil {
		return p.dev, false, nil
	}
	if p.closed {
		return nil, false, &PrintError{State: StateGone, Err: ErrClosed}
	}
	if p.serial == nil {
		d, err = p.openFile(false)
	} else {
		var port *serialport.Port
		if port, err = serialport.Open(*p.serial); err == nil {
			d = &device{w: port, sp: port}
		}
	}
	if err != nil {
		return nil, false, &PrintError{State: StateGone, Err: err}
	}
	p.dev = d
	return d, true, nil
}

// drop forgets the device after a failure, so the next call opens it
// again. Called with mu held.
func (p *Printer) drop() {
	if p.dev != nil {
		p.dev.w.Close()
		p.dev = nil
	}
}

// Status asks a serial printer how it is; a write-only printer's status
// is not Known. An error is a *PrintError (no_answer, gone).
func (p *Printer) Status(ctx context.Context) (Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checked(ctx)
}

// checked queries the status, opening the device again once if the one
// held has gone away since the last call. Called with mu held.
func (p *Printer) checked(ctx context.Context) (Status, error) {
	d, fresh, err := p.device()
	if err != nil {
		return Status{}, err
	}
	st, err := p.query(ctx, d, p.timeout)
	var pe *PrintError
	if err != nil && !fresh && errors.As(err, &pe) && pe.State == StateGone {
		if d, _, err = p.device(); err != nil {
			return Status{}, err
		}
		st, err = p.query(ctx, d, p.timeout)
	}
	return st, err
}

// Print checks the printer, writes doc and checks it again. It returns
// within the bounds Config.Timeout gives, or when ctx is done; the error
// is a *PrintError saying why the document did not, or may not have,
// come out (Sent).
//
// A printer that answers DLE EOT only once it has printed what it holds
// (some do not treat it as a real-time command) answers the check after
// a print late: if later than the wait, Print says no_answer with Sent
// set, and the caller asks the cashier whether the slip came out. Its
// late answers are drained before the next query.
func (p *Printer) Print(ctx context.Context, doc []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := p.checked(ctx)
	if err != nil {
		return err
	}
	if !st.Ready() {
		return &PrintError{State: st.State(), Status: st}
	}
	d := p.dev
	if err := p.write(ctx, d, doc); err != nil {
		state := StateWriteFailed
		if errors.Is(err, serialport.ErrClosed) {
			state = StateGone
		}
		return &PrintError{State: state, Sent: true, Err: err}
	}
	wait := p.timeout
	if d.sp != nil {
		wait += wireTime(d.sp.Config(), len(doc))
	}
	after, err := p.query(ctx, d, wait)
	if err != nil {
		var pe *PrintError
		if errors.As(err, &pe) {
			pe.Sent = true
		}
		return err
	}
	if !after.Ready() {
		return &PrintError{State: after.State(), Status: after, Sent: true}
	}
	return nil
}

// wireTime is how long n bytes take to cross a serial port at its baud
// rate.
func wireTime(c serialport.Config, n int) time.Duration {
	if c.Baud <= 0 {
		return 0
	}
	bits := 1 + c.DataBits + c.StopBits // start, data, stop
	if c.Parity != "N" && c.Parity != "" {
		bits++
	}
	return time.Duration(n) * time.Duration(bits) * time.Second / time.Duration(c.Baud)
}

var errStalled = errors.New("the device took nothing within the timeout")

// write hands b to the device a chunk at a time, each within the timeout.
// A write the device never finishes is abandoned: the device is dropped
// and the goroutine stuck in it closes it once the kernel lets go.
// Called with mu held.
func (p *Printer) write(ctx context.Context, d *device, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), chunk)
		done := make(chan error, 1)
		go func(part []byte) {
			_, err := d.w.Write(part)
			done <- err
		}(b[:n])
		t := time.NewTimer(p.timeout)
		var err error
		stuck := true
		select {
		case err = <-done:
			stuck = false
		case <-t.C:
			err = errStalled
		case <-ctx.Done():
			err = ctx.Err()
		}
		t.Stop()
		if err != nil {
			if p.dev == d {
				p.dev = nil
			}
			if stuck {
				go func() { <-done; d.w.Close() }()
			} else {
				d.w.Close()
			}
			return err
		}
		b = b[n:]
	}
	return nil
}

// query asks DLE EOT 1, 2, 3 and 4, all four answers due within wait.
// Stale input (late answers, noise) is drained before each query and
// bytes that cannot be an answer are skipped; a printer that sends only
// such bytes is bad_answer, one that sends nothing no_answer. Any failure
// drops the device. Called with mu held.
func (p *Printer) query(ctx context.Context, d *device, wait time.Duration) (Status, error) {
	if d.sp == nil {
		return Status{}, nil
	}
	deadline := time.Now().Add(wait)
	var ans [4]byte
	for i := range ans {
		b, err := p.ask(ctx, d, byte(i+1), deadline)
		if err != nil {
			state := StateNoAnswer
			var bad *badAnswer
			switch {
			case errors.Is(err, serialport.ErrClosed):
				state = StateGone
			case errors.As(err, &bad):
				state = StateBadAnswer
			}
			if p.dev == d {
				p.drop()
			}
			return Status{}, &PrintError{State: state, Err: err}
		}
		ans[i] = b
	}
	st, err := DecodeStatus(ans[0], ans[1], ans[2], ans[3])
	if err != nil { // ask returns status bytes only
		return Status{}, &PrintError{State: StateBadAnswer, Err: err}
	}
	return st, nil
}

// badAnswer is a query's timeout when the printer sent bytes, none of
// them a status byte.
type badAnswer struct {
	n    byte
	junk []byte // the first bytes seen
}

func (e *badAnswer) Error() string {
	return fmt.Sprintf("answer to DLE EOT %d: % x is no status byte", e.n, e.junk)
}

// ask sends DLE EOT n and waits until deadline for a status byte.
func (p *Printer) ask(ctx context.Context, d *device, n byte, deadline time.Time) (byte, error) {
	var buf [64]byte
	// Drain: whatever is waiting is not the answer to this query.
	if err := d.sp.SetReadTimeout(time.Millisecond); err != nil {
		return 0, err
	}
	for {
		got, err := d.sp.Read(buf[:])
		if errors.Is(err, serialport.ErrTimeout) {
			break
		}
		if err != nil {
			return 0, err
		}
		if time.Now().After(deadline) { // it never stops sending
			return 0, &badAnswer{n: n, junk: append([]byte(nil), buf[:min(got, 8)]...)}
		}
	}
	if err := p.write(ctx, d, []byte{0x10, 0x04, n}); err != nil {
		return 0, err
	}
	var junk []byte
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			if len(junk) > 0 {
				return 0, &badAnswer{n: n, junk: junk}
			}
			return 0, fmt.Errorf("no answer to DLE EOT %d in time", n)
		}
		if err := d.sp.SetReadTimeout(min(left, 50*time.Millisecond)); err != nil {
			return 0, err
		}
		_, err := d.sp.Read(buf[:1])
		if errors.Is(err, serialport.ErrTimeout) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if isStatusByte(buf[0]) {
			return buf[0], nil
		}
		if len(junk) < 8 {
			junk = append(junk, buf[0])
		}
	}
}
