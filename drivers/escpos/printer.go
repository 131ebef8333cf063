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
	// Timeout bounds the wait for one status answer and for the device
	// to take each part of a document (2 s).
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

	mu  sync.Mutex // guards dev; held for a whole Print or Status
	dev *device    // nil: to be opened
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

// Close closes the device.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
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
	st, err := p.query(ctx, d)
	var pe *PrintError
	if err != nil && !fresh && errors.As(err, &pe) && pe.State == StateGone {
		if d, _, err = p.device(); err != nil {
			return Status{}, err
		}
		st, err = p.query(ctx, d)
	}
	return st, err
}

// Print checks the printer, writes doc and checks it again. It returns
// within about the timeout per status answer and per part of the
// document, or when ctx is done; the error is a *PrintError saying why
// the document did not, or may not have, come out.
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
	if err := p.write(ctx, p.dev, doc); err != nil {
		state := StateWriteFailed
		if errors.Is(err, serialport.ErrClosed) {
			state = StateGone
		}
		return &PrintError{State: state, Sent: true, Err: err}
	}
	after, err := p.query(ctx, p.dev)
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

// query asks DLE EOT 1, 2, 3 and 4, draining stale input (late answers,
// noise) before each and skipping bytes that cannot be an answer. Any
// failure drops the device. Called with mu held.
func (p *Printer) query(ctx context.Context, d *device) (Status, error) {
	if d.sp == nil {
		return Status{}, nil
	}
	var ans [4]byte
	for i := range ans {
		b, err := p.ask(ctx, d, byte(i+1))
		if err != nil {
			state := StateNoAnswer
			if errors.Is(err, serialport.ErrClosed) {
				state = StateGone
			}
			if p.dev == d {
				p.drop()
			}
			return Status{}, &PrintError{State: state, Err: err}
		}
		ans[i] = b
	}
	st, err := DecodeStatus(ans[0], ans[1], ans[2], ans[3])
	if err != nil {
		return Status{}, &PrintError{State: StateNoAnswer, Err: err}
	}
	return st, nil
}

func (p *Printer) ask(ctx context.Context, d *device, n byte) (byte, error) {
	deadline := time.Now().Add(p.timeout)
	var buf [64]byte
	// Drain: whatever is waiting is not the answer to this query.
	if err := d.sp.SetReadTimeout(time.Millisecond); err != nil {
		return 0, err
	}
	for {
		_, err := d.sp.Read(buf[:])
		if errors.Is(err, serialport.ErrTimeout) {
			break
		}
		if err != nil {
			return 0, err
		}
		if time.Now().After(deadline) {
			return 0, errors.New("the printer keeps sending")
		}
	}
	if err := p.write(ctx, d, []byte{0x10, 0x04, n}); err != nil {
		return 0, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return 0, fmt.Errorf("no answer to DLE EOT %d within %s", n, p.timeout)
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
	}
}
