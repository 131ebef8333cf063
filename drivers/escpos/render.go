// Package escpos renders receipts for ESC/POS printers — the redemption
// slip, the X report and the numbered Z report, with English or Chinese
// labels, GB18030 text and a QR code — and prints them on a serial printer
// (status read by DLE EOT before and after) or on a write-only device or
// file. It also drives a CD5220 two-line customer display.
//
// Rendering is pure: values in, bytes out. Text given to it never reaches
// the printer as commands: control characters are removed first, so no
// document holds a real-time command (DLE EOT, DLE ENQ, DLE DC4). This
// package must never decide anything about a redemption, and never import
// the terminal or the hub.
//
// # Commands sent
//
// Every document starts with ESC @ (initialise). A document with any
// non-ASCII text — every zh-CN one, and an English one naming a Chinese
// store or campaign — then sends FS & (select Kanji/Chinese character
// mode), after which Chinese printers (Xprinter, Gprinter, Sunmi, Epson's
// China models) read GB18030/GBK two- and four-byte codes; an ASCII-only
// document sends FS . (cancel Chinese mode) instead, so a printer left in
// Chinese mode prints single-byte ASCII. FS & is chosen over ESC t (code
// page) because Chinese firmware keys its GB font on FS &, and over
// ESC R/FS C because those differ between vendors. Layout.ASCII is for a
// printer with no Chinese font: FS & is never sent and every non-ASCII
// character prints as '?'.
//
// In Chinese mode every non-ASCII character prints as one full-width
// glyph, two columns of the standard 12×24 font wide, which is how lines
// are measured and aligned; GB18030 encodes all of Unicode, and a
// character it could not encode would print as '?' (never silently
// dropped). Then: ESC a n (alignment), ESC E n (emphasis), GS ! n (double
// width and height for headings), GS ( k (QR: fn 65 model 2, fn 67 module
// size, fn 69 error correction M, fn 80 store, fn 81 print), ESC d 3 (feed)
// and GS V 66 0 (feed to the cutter, partial cut). No cash-drawer pulse.
package escpos

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ESC/POS command bytes.
var (
	cmdInit        = []byte{0x1b, '@'}        // ESC @: reset
	cmdChineseOn   = []byte{0x1c, '&'}        // FS &: two-byte (GB18030) character mode
	cmdChineseOff  = []byte{0x1c, '.'}        // FS .: single-byte characters
	cmdAlignLeft   = []byte{0x1b, 'a', 0}     // ESC a 0
	cmdAlignCenter = []byte{0x1b, 'a', 1}     // ESC a 1
	cmdBoldOn      = []byte{0x1b, 'E', 1}     // ESC E 1: emphasis
	cmdBoldOff     = []byte{0x1b, 'E', 0}     // ESC E 0
	cmdDouble      = []byte{0x1d, '!', 0x11}  // GS !: double width and height
	cmdNormal      = []byte{0x1d, '!', 0x00}  // GS !: normal size
	cmdFeed        = []byte{0x1b, 'd', 3}     // ESC d 3: feed three lines
	cmdCut         = []byte{0x1d, 'V', 66, 0} // GS V 66 0: feed to the cutter, partial cut
)

// Layout is the paper: its width in columns of the printer's standard
// font, and whether the printer can print Chinese at all.
type Layout struct {
	Columns int  // 48 (80 mm paper; 0 means 48) or 32 (58 mm)
	ASCII   bool // no Chinese font: never FS &, non-ASCII prints as '?' (use with "en")
}

// MinColumns is the narrowest layout rendered; narrower asks get it.
const MinColumns = 16

func (l Layout) cols() int {
	if l.Columns <= 0 {
		return 48
	}
	return max(l.Columns, MinColumns)
}

// doc builds one document. Text is prepared (printable runes only, ASCII
// for English) before it is measured, so what is measured is what prints.
type doc struct {
	b    bytes.Buffer
	zh   bool
	cols int
	enc  *encoding.Encoder
	tmp  [8]byte
}

// newDoc starts a document in lang whose fields are text: Chinese mode
// for zh-CN, or for any document with non-ASCII text, unless the printer
// has no Chinese font.
func newDoc(lang string, l Layout, text ...string) *doc {
	zh := !l.ASCII && (lang == "zh-CN" || anyNonASCII(text))
	d := &doc{zh: zh, cols: l.cols()}
	d.b.Grow(1024)
	d.b.Write(cmdInit)
	if d.zh {
		d.enc = simplifiedchinese.GB18030.NewEncoder()
		d.b.Write(cmdChineseOn)
	} else {
		d.b.Write(cmdChineseOff)
	}
	return d
}

func anyNonASCII(text []string) bool {
	for _, s := range text {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}

// prep is s as it will print: invalid UTF-8 and, outside Chinese mode,
// every non-ASCII character become '?'; control characters are dropped.
func prep(s string, zh bool) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isBad(s[i:]):
			b.WriteByte('?')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
		case !zh && r >= 0x80:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isBad(s string) bool { _, n := utf8.DecodeRuneInString(s); return n <= 1 }

// width is the columns prepared text takes: one for ASCII, two for any
// other character (a full-width glyph in Chinese mode).
func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	if r < 0x80 {
		return 1
	}
	return 2
}

// fit is the longest prefix of prepared text s that takes at most cols.
func fit(s string, cols int) string {
	n := 0
	for i, r := range s {
		if n+runeWidth(r) > cols {
			return s[:i]
		}
		n += runeWidth(r)
	}
	return s
}

// wrap splits prepared text into lines of at most cols columns (cols at
// least 2), breaking at a space where it can.
func wrap(s string, cols int) []string {
	cols = max(cols, 2)
	var out []string
	for {
		s = strings.TrimLeft(s, " ")
		if width(s) <= cols {
			if s != "" || out == nil {
				out = append(out, s)
			}
			return out
		}
		l := fit(s, cols)
		if sp := strings.LastIndexByte(l, ' '); sp > 0 && s[len(l)] != ' ' {
			l = l[:sp]
		}
		out = append(out, strings.TrimRight(l, " "))
		s = s[len(l):]
	}
}

// Wrap splits text into lines that take at most cols columns on the
// printer, as the documents do: in Chinese mode (chinese true) a
// non-ASCII character takes two columns; outside it, it prints as '?'.
func Wrap(text string, chinese bool, cols int) []string {
	return wrap(prep(text, chinese), max(cols, 2))
}

// write writes prepared text s encoded for the printer.
func (d *doc) write(s string) {
	if !d.zh {
		d.b.WriteString(s) // prep left ASCII only
		return
	}
	for _, r := range s {
		if r < 0x80 {
			d.b.WriteByte(byte(r))
			continue
		}
		var src [utf8.UTFMax]byte
		nSrc := utf8.EncodeRune(src[:], r)
		nDst, _, err := d.enc.Transform(d.tmp[:], src[:nSrc], true)
		if err != nil {
			d.enc.Reset()
			d.b.WriteByte('?') // GB18030 cannot say it
			continue
		}
		d.b.Write(d.tmp[:nDst])
	}
}

func (d *doc) cmd(c ...[]byte) {
	for _, b := range c {
		d.b.Write(b)
	}
}

// line prints text, wrapped to the width.
func (d *doc) line(s string) { d.lineIn(s, d.cols) }

func (d *doc) lineIn(s string, cols int) {
	for _, l := range wrap(prep(s, d.zh), cols) {
		d.write(l)
		d.b.WriteByte('\n')
	}
}

// pair prints a label on the left and a value on the right of a line; a
// value too long for that goes under the label, indented and wrapped.
func (d *doc) pair(label, value string) {
	l, v := prep(label, d.zh), prep(value, d.zh)
	lw, vw := width(l), width(v)
	if lw+1+vw <= d.cols {
		d.write(l)
		d.pad(d.cols - lw - vw)
		d.write(v)
		d.b.WriteByte('\n')
		return
	}
	for _, s := range wrap(l, d.cols) {
		d.write(s)
		d.b.WriteByte('\n')
	}
	for _, s := range wrap(v, d.cols-2) {
		d.pad(2)
		d.write(s)
		d.b.WriteByte('\n')
	}
}

func (d *doc) pad(n int) {
	for range n {
		d.b.WriteByte(' ')
	}
}

// row prints cells in columns of the given widths: the first cell left,
// the others right aligned, one space apart.
func (d *doc) row(widths []int, cells ...string) {
	for i, c := range cells {
		c = prep(c, d.zh)
		w := width(c)
		if i == 0 {
			d.write(c)
			d.pad(widths[0] - w)
			continue
		}
		d.pad(1 + widths[i] - w)
		d.write(c)
	}
	d.b.WriteByte('\n')
}

func (d *doc) rule(c byte) {
	for range d.cols {
		d.b.WriteByte(c)
	}
	d.b.WriteByte('\n')
}

func (d *doc) center(on bool) {
	if on {
		d.cmd(cmdAlignCenter)
	} else {
		d.cmd(cmdAlignLeft)
	}
}

// heading prints text in double size, centred, wrapped to half the width.
func (d *doc) heading(s string) {
	d.center(true)
	d.cmd(cmdDouble)
	d.lineIn(s, d.cols/2)
	d.cmd(cmdNormal)
	d.center(false)
}

// MaxQR is the longest QR content printed; longer is left out.
const MaxQR = 700

// qrCapacity is how many bytes a QR code of each version (1-40) holds in
// byte mode at error correction level M.
var qrCapacity = [...]int{14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
	711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911, 1989, 2099, 2213, 2331}

// qrModule is the module size in dots that fits n bytes, with its quiet
// zone, across cols columns of 12 dots (384 dots on 58 mm paper, 576 on
// 80 mm): 6 at most, 0 if even 3 does not fit (smaller scans badly).
func qrModule(n, cols int) byte {
	for v, c := range qrCapacity {
		if n <= c {
			modules := 17 + 4*(v+1) + 8 // the symbol and a 4-module quiet zone each side
			size := min(cols*12/modules, 6)
			if size < 3 {
				return 0
			}
			return byte(size)
		}
	}
	return 0
}

// qr prints data as a centred QR code: GS ( k — model 2, module size to
// fit the paper, error correction M, store the data, print it. Data too
// long for the paper is left out (what it says is printed as text too).
func (d *doc) qr(data string) {
	data = prep(data, true)
	size := qrModule(len(data), d.cols)
	if data == "" || len(data) > MaxQR || size == 0 {
		return
	}
	n := len(data) + 3
	d.center(true)
	d.cmd([]byte{0x1d, '(', 'k', 4, 0, '1', 'A', '2', 0}, // fn 65: model 2
		[]byte{0x1d, '(', 'k', 3, 0, '1', 'C', size},                 // fn 67: module size in dots
		[]byte{0x1d, '(', 'k', 3, 0, '1', 'E', '1'},                  // fn 69: error correction M
		[]byte{0x1d, '(', 'k', byte(n), byte(n >> 8), '1', 'P', '0'}) // fn 80: store
	d.b.WriteString(data)
	d.cmd([]byte{0x1d, '(', 'k', 3, 0, '1', 'Q', '0'}) // fn 81: print
	d.b.WriteByte('\n')
	d.center(false)
}

func (d *doc) end() []byte {
	d.cmd(cmdFeed, cmdCut)
	return d.b.Bytes()
}
