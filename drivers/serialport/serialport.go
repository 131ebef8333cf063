// Package serialport opens and configures serial ports (RS-232 and USB-CDC
// devices, and ptys in tests) and lists the ports a machine offers. It is
// the only importer of go.bug.st/serial: every other driver takes the
// io.ReadWriter this package returns, so the drivers stay testable without
// hardware.
//
// A port is named by a spec, PATH[:BAUD[:FRAME]], for example
// /dev/ttyUSB0, /dev/ttyS0:115200 or COM3:9600:7E1. This package must never
// interpret the bytes that cross a port.
package serialport

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// ErrTimeout is returned by Read when no byte arrived within the read
// timeout.
var ErrTimeout = errors.New("serial read timed out")

// ErrClosed is returned by Read and Write once the port is closed or the
// device has gone (unplugged, the other end of a pty closed).
var ErrClosed = errors.New("serial port closed or device gone")

// Config says which port to open and how.
type Config struct {
	Path     string
	Baud     int    // default 9600
	DataBits int    // 5..8, default 8
	Parity   string // "N" (default), "E" or "O"
	StopBits int    // 1 (default) or 2
}

// String is the config as a spec ParseSpec reads back.
func (c Config) String() string {
	c = c.withDefaults()
	return fmt.Sprintf("%s:%d:%d%s%d", c.Path, c.Baud, c.DataBits, c.Parity, c.StopBits)
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == "" {
		c.Parity = "N"
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	return c
}

// MaxBaud bounds the baud rate a spec may ask for.
const MaxBaud = 4_000_000

// ParseSpec reads PATH[:BAUD[:FRAME]], where FRAME is data bits, parity
// (N, E or O) and stop bits, as in 8N1. The path itself may not be empty;
// everything after it is optional and defaults to 9600 8N1.
func ParseSpec(spec string) (Config, error) {
	parts := strings.Split(spec, ":")
	// A path may contain ':' only before what parses as a baud rate.
	var c Config
	switch {
	case len(parts) >= 3 && isDigits(parts[len(parts)-2]):
		c.Path = strings.Join(parts[:len(parts)-2], ":")
		if err := c.parseBaud(parts[len(parts)-2]); err != nil {
			return Config{}, err
		}
		if err := c.parseFrame(parts[len(parts)-1]); err != nil {
			return Config{}, err
		}
	case len(parts) >= 2 && isDigits(parts[len(parts)-1]):
		c.Path = strings.Join(parts[:len(parts)-1], ":")
		if err := c.parseBaud(parts[len(parts)-1]); err != nil {
			return Config{}, err
		}
	default:
		c.Path = spec
	}
	if c.Path == "" {
		return Config{}, fmt.Errorf("serial port %q: missing the device path (e.g. /dev/ttyUSB0 or COM3)", spec)
	}
	return c.withDefaults(), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (c *Config) parseBaud(s string) error {
	b, err := strconv.Atoi(s)
	if err != nil || b < 50 || b > MaxBaud {
		return fmt.Errorf("serial baud rate %q: want a number from 50 to %d", s, MaxBaud)
	}
	c.Baud = b
	return nil
}

func (c *Config) parseFrame(s string) error {
	bad := fmt.Errorf("serial frame %q: want data bits 5-8, parity N, E or O, stop bits 1 or 2, as in 8N1", s)
	if len(s) != 3 || s[0] < '5' || s[0] > '8' || (s[2] != '1' && s[2] != '2') {
		return bad
	}
	p := strings.ToUpper(s[1:2])
	if p != "N" && p != "E" && p != "O" {
		return bad
	}
	c.DataBits, c.Parity, c.StopBits = int(s[0]-'0'), p, int(s[2]-'0')
	return nil
}

// Port is an open serial port. Read and Write may be called from different
// goroutines; Close unblocks a pending Read.
type Port struct {
	cfg  Config
	port serial.Port
}

// Open opens and configures the port. Modem-control lines are left as the
// device has them (a pty has none).
func Open(c Config) (*Port, error) {
	c = c.withDefaults()
	mode := &serial.Mode{BaudRate: c.Baud, DataBits: c.DataBits, StopBits: serial.OneStopBit}
	if c.StopBits == 2 {
		mode.StopBits = serial.TwoStopBits
	}
	switch c.Parity {
	case "E":
		mode.Parity = serial.EvenParity
	case "O":
		mode.Parity = serial.OddParity
	default:
		mode.Parity = serial.NoParity
	}
	p, err := serial.Open(c.Path, mode)
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", c.Path, err)
	}
	return &Port{cfg: c, port: p}, nil
}

// Config is what the port was opened with.
func (p *Port) Config() Config { return p.cfg }

// SetReadTimeout makes Read return ErrTimeout after d with no byte; zero
// waits for ever.
func (p *Port) SetReadTimeout(d time.Duration) error {
	if d <= 0 {
		d = serial.NoTimeout
	}
	return p.port.SetReadTimeout(d)
}

// Read reads what has arrived, waiting up to the read timeout for the
// first byte.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.port.Read(b)
	if err != nil {
		return n, portErr(err)
	}
	if n == 0 {
		return 0, ErrTimeout
	}
	return n, nil
}

// Write writes b, all of it or an error.
func (p *Port) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := p.port.Write(b[done:])
		done += n
		if err != nil {
			return done, portErr(err)
		}
		if n == 0 {
			return done, ErrClosed
		}
	}
	return done, nil
}

// Close closes the port.
func (p *Port) Close() error { return p.port.Close() }

// portErr maps the library's "port closed" and the kernel's EIO (what a
// pty or a USB device that has gone returns) to ErrClosed.
func portErr(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return ErrClosed
	}
	if strings.Contains(err.Error(), "input/output error") || strings.Contains(err.Error(), "bad file descriptor") {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// Info describes a port the operating system lists.
type Info struct {
	Path    string `json:"path"`
	USB     bool   `json:"usb"`
	VID     string `json:"vid,omitempty"`
	PID     string `json:"pid,omitempty"`
	Serial  string `json:"serial,omitempty"`
	Product string `json:"product,omitempty"`
}

// List returns the serial ports the operating system reports. Where it
// reports none (no enumerator on this OS, or ptys, which are never listed),
// a port can still be opened by path.
func List() ([]Info, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	out := make([]Info, 0, len(ports))
	for _, p := range ports {
		out = append(out, Info{Path: p.Name, USB: p.IsUSB, VID: p.VID, PID: p.PID, Serial: p.SerialNumber, Product: p.Product})
	}
	return out, nil
}
