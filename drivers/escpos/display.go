package escpos

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// Display is a CD5220-compatible two-line, 20-column customer display
// (VFD), the kind Chinese POS shops sell as 客显. It is sent, per Show:
//
//	ESC @          0x1B 0x40        initialise (clears, cursor home)
//	CLR            0x0C             clear the screen
//	ESC Q A … CR   0x1B 0x51 0x41   set the upper line
//	ESC Q B … CR   0x1B 0x51 0x42   set the lower line
//
// It shows ASCII only — anything else becomes '?' — because these VFDs
// carry a single-byte character ROM: the GB2312 ones speak other command
// sets, so no GB18030 is sent. Safe for concurrent use.
type Display struct {
	spec    *serialport.Config // nil: NewDisplay's writer, never opened again
	timeout time.Duration

	mu     sync.Mutex // guards w, c and closed
	w      io.Writer  // nil: to be opened
	c      io.Closer
	closed bool
}

// DisplayColumns is a CD5220 line's width.
const DisplayColumns = 20

// displayTimeout bounds one Show on a display Open opened.
const displayTimeout = time.Second

// NewDisplay drives a display on w; Show writes to w directly.
func NewDisplay(w io.Writer) *Display { return &Display{w: w} }

// OpenDisplay opens a display on a serial port spec, PATH[:BAUD[:FRAME]]
// (CD5220s default to 9600 8N1). A Show that fails closes the port, and
// the next Show opens it again, so a display unplugged and plugged back
// comes back by itself; no Show waits more than about a second.
func OpenDisplay(spec string) (*Display, error) {
	c, err := serialport.ParseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("display: %w", err)
	}
	d := &Display{spec: &c, timeout: displayTimeout}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

// open opens the port. Called with mu held or before d is shared.
func (d *Display) open() error {
	p, err := serialport.Open(*d.spec)
	if err != nil {
		return fmt.Errorf("display: %w", err)
	}
	d.w, d.c = p, p
	return nil
}

var errDisplayStalled = errors.New("display: the port took nothing within the timeout")

// ShowVerdict shows a redemption's verdict to the customer, in ASCII:
// "ACCEPTED" and the uses and amount (fen) when reason is "accepted",
// else "NOT ACCEPTED" and the reason code.
func (d *Display) ShowVerdict(reason string, uses int, amount int64) error {
	if reason == "accepted" {
		return d.Show("ACCEPTED", fmt.Sprintf("%d use(s) %d.%02d", uses, amount/100, amount%100))
	}
	return d.Show("NOT ACCEPTED", reason)
}

// Show clears the display and writes two lines, each cut to 20 columns:
// ESC @, CLR, ESC Q A line1 CR, ESC Q B line2 CR.
func (d *Display) Show(line1, line2 string) error {
	b := make([]byte, 0, 2+2*(3+DisplayColumns+1))
	b = append(b, 0x1b, '@', 0x0c)
	for i, l := range [...]string{line1, line2} {
		b = append(b, 0x1b, 'Q', "AB"[i])
		b = append(b, displayText(l)...)
		b = append(b, '\r')
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.spec == nil {
		_, err := d.w.Write(b)
		return err
	}
	if d.closed {
		return errors.New("display: closed")
	}
	if d.w == nil {
		if err := d.open(); err != nil {
			return err
		}
	}
	w, c := d.w, d.c
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(b)
		done <- err
	}()
	t := time.NewTimer(d.timeout)
	defer t.Stop()
	var err error
	select {
	case err = <-done:
		if err == nil {
			return nil
		}
		c.Close()
	case <-t.C:
		err = errDisplayStalled
		c.Close() // ends the stuck write
	}
	d.w, d.c = nil, nil
	return fmt.Errorf("display: %w", err)
}

func displayText(s string) string {
	s = prep(s, false) // ASCII: anything else is '?'
	if len(s) > DisplayColumns {
		s = s[:DisplayColumns]
	}
	return s
}

// Close closes the display's port, if OpenDisplay opened one.
func (d *Display) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.c == nil {
		return nil
	}
	err := d.c.Close()
	d.w, d.c = nil, nil
	return err
}
