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

// Status is what a printer says of itself (DLE EOT 1, 2 and 4).
type Status struct {
	Known     bool // false: a write-only device cannot say
	Offline   bool
	CoverOpen bool
	PaperOut  bool
	PaperLow  bool
	Error     bool
}

// String is the state in one word: ok, paper_low, paper_out, cover_open,
// offline, error or unknown.
func (s Status) String() string {
	switch {
	case !s.Known:
		return "unknown"
	case s.CoverOpen:
		return "cover_open"
	case s.PaperOut:
		return "paper_out"
	case s.Error:
		return "error"
	case s.Offline:
		return "offline"
	case s.PaperLow:
		return "paper_low"
	}
	return "ok"
}

// Ready reports whether a print can go ahead.
func (s Status) Ready() bool { return !s.Known || !(s.Offline || s.CoverOpen || s.PaperOut || s.Error) }

// Message says the state in words, in lang ("zh-CN" or "en").
func (s Status) Message(lang string) string {
	m := map[string][2]string{
		"ok": {"printer ready", "打印机就绪"}, "paper_low": {"paper is running low", "纸将用尽"},
		"paper_out": {"printer is out of paper", "打印机缺纸"}, "cover_open": {"printer cover is open", "打印机盖未关"},
		"offline": {"printer is offline", "打印机离线"}, "error": {"printer error (cutter or mechanism)", "打印机故障（切刀或机构）"},
		"unknown": {"printer state unknown", "打印机状态未知"},
	}[s.String()]
	if lang == "zh-CN" {
		return m[1]
	}
	return m[0]
}

// DecodeStatus reads the answers to DLE EOT 1, 2 and 4 (one byte each).
// A byte that is not a status byte (bits 0 and 7 clear, bits 1 and 4 set)
// is an error.
func DecodeStatus(printer, offline, paper byte) (Status, error) {
	for _, b := range [...]byte{printer, offline, paper} {
		if b&0x93 != 0x12 {
			return Status{}, fmt.Errorf("printer answered %#02x, not a status byte", b)
		}
	}
	return Status{Known: true, Offline: printer&0x08 != 0, CoverOpen: offline&0x04 != 0,
		PaperOut: offline&0x20 != 0 || paper&0x60 != 0, Error: offline&0x40 != 0, PaperLow: paper&0x0c != 0}, nil
}

// Config tunes a printer. Zero values take the defaults.
type Config struct {
	Timeout time.Duration // bound on one status answer or one write (2 s)
}

// Printer prints documents on a serial printer (status checked before and
// after) or on a write-only device or file. Safe for concurrent use.
type Printer struct {
	spec    string
	serial  *serialport.Config // nil: a file
	timeout time.Duration

	mu   sync.Mutex // guards port
	port io.ReadWriteCloser
}

// Open opens a printer: a serial spec (PATH[:BAUD[:FRAME]]) whose path is
// a tty, or any other path (a /dev/usb/lp* device or a plain file), which
// is written to and never asked for its status.
func Open(spec string, cfg Config) (*Printer, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	p := &Printer{spec: spec, timeout: cfg.Timeout}
	sc, err := serialport.ParseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("printer %q: %w", spec, err)
	}
	if port, err := serialport.Open(sc); err == nil {
		p.serial, p.port = &sc, port
		return p, nil
	}
	if _, err := os.Stat(sc.Path); err == nil && sc.Path != spec {
		// A baud rate was given, so the caller meant a serial port.
		return nil, fmt.Errorf("printer %s is not a serial port", sc.Path)
	}
	f, err := os.OpenFile(spec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open printer %s: %w", spec, err)
	}
	p.port = fileRW{f}
	return p, nil
}

type fileRW struct{ *os.File }

func (fileRW) Read([]byte) (int, error) { return 0, errors.New("write-only printer") }

// Close closes the device.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.port == nil {
		return nil
	}
	err := p.port.Close()
	p.port = nil
	return err
}

// open returns the open device, opening a serial printer again if it went
// away. Called with mu held.
func (p *Printer) open() (io.ReadWriteCloser, error) {
	if p.port != nil {
		return p.port, nil
	}
	if p.serial == nil {
		f, err := os.OpenFile(p.spec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open printer %s: %w", p.spec, err)
		}
		p.port = fileRW{f}
		return p.port, nil
	}
	port, err := serialport.Open(*p.serial)
	if err != nil {
		return nil, fmt.Errorf("printer %s is not connected: %w", p.serial.Path, err)
	}
	p.port = port
	return port, nil
}

// fail closes the device after an error that means it went away.
func (p *Printer) fail(err error) error {
	if errors.Is(err, serialport.ErrClosed) && p.port != nil {
		p.port.Close()
		p.port = nil
	}
	return err
}

// Status asks a serial printer how it is; a file printer's is unknown.
func (p *Printer) Status(ctx context.Context) (Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	port, err := p.open()
	if err != nil {
		return Status{}, err
	}
	return p.status(ctx, port)
}

func (p *Printer) status(ctx context.Context, port io.ReadWriteCloser) (Status, error) {
	sp, ok := port.(*serialport.Port)
	if !ok {
		return Status{}, nil
	}
	// Drop anything stale (a late answer, line noise) first.
	sp.SetReadTimeout(time.Millisecond)
	var junk [64]byte
	for i := 0; i < 64; i++ {
		if _, err := sp.Read(junk[:]); err != nil {
			if errors.Is(err, serialport.ErrTimeout) {
				break
			}
			return Status{}, p.fail(err)
		}
	}
	var ans [3]byte
	for i, n := range [...]byte{1, 2, 4} {
		if err := ctx.Err(); err != nil {
			return Status{}, err
		}
		if _, err := sp.Write([]byte{0x10, 0x04, n}); err != nil {
			return Status{}, p.fail(fmt.Errorf("printer status: %w", err))
		}
		sp.SetReadTimeout(p.timeout)
		if _, err := sp.Read(ans[i : i+1]); err != nil {
			if errors.Is(err, serialport.ErrTimeout) {
				return Status{}, fmt.Errorf("printer did not answer its status query within %s: is it on and connected?", p.timeout)
			}
			return Status{}, p.fail(fmt.Errorf("printer status: %w", err))
		}
	}
	return DecodeStatus(ans[0], ans[1], ans[2])
}

// Print checks the printer, writes doc and checks it again. The error says
// why the document did not (or may not have) come out.
func (p *Printer) Print(ctx context.Context, doc []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	port, err := p.open()
	if err != nil {
		return err
	}
	st, err := p.status(ctx, port)
	if err != nil {
		return err
	}
	if !st.Ready() {
		return fmt.Errorf("not printed: %s", st.Message("en"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := port.Write(doc); err != nil {
		return p.fail(fmt.Errorf("printing failed: %w", err))
	}
	after, err := p.status(ctx, port)
	if err != nil {
		return fmt.Errorf("sent to the printer, but %s", strings.TrimPrefix(err.Error(), "printer "))
	}
	if !after.Ready() {
		return fmt.Errorf("sent to the printer, but now %s: check the slip came out", after.Message("en"))
	}
	return nil
}
