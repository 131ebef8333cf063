package escpos

import (
	"io"
	"strings"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// Display is a CD5220-compatible two-line, 20-column customer display
// (VFD). It shows ASCII: anything else becomes '?'.
type Display struct {
	w io.Writer
	c io.Closer
}

// DisplayColumns is a CD5220 line's width.
const DisplayColumns = 20

// NewDisplay drives a display on w.
func NewDisplay(w io.Writer) *Display { return &Display{w: w} }

// OpenDisplay opens a display on a serial port spec.
func OpenDisplay(spec string) (*Display, error) {
	c, err := serialport.ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	p, err := serialport.Open(c)
	if err != nil {
		return nil, err
	}
	return &Display{w: p, c: p}, nil
}

// Show clears the display and writes two lines: ESC @ (init), CLR (0x0C),
// then ESC Q A line CR and ESC Q B line CR.
func (d *Display) Show(line1, line2 string) error {
	var b strings.Builder
	b.WriteString("\x1b@\x0c")
	for i, l := range [...]string{line1, line2} {
		b.WriteString("\x1bQ")
		b.WriteByte("AB"[i])
		b.WriteString(displayText(l))
		b.WriteByte('\r')
	}
	_, err := io.WriteString(d.w, b.String())
	return err
}

func displayText(s string) string {
	s = prep(s, false) // ASCII: anything else is '?'
	if len(s) > DisplayColumns {
		s = s[:DisplayColumns]
	}
	return s
}

// Close closes the display's port, if Open opened one.
func (d *Display) Close() error {
	if d.c == nil {
		return nil
	}
	return d.c.Close()
}
