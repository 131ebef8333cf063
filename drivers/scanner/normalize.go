// Package scanner turns what barcode scanners send into normalised code
// text: a keyboard-wedge burst detector (pure: key events with timestamps
// in, codes out, so the window and the tests feed it the same way), a
// serial (USB-CDC) scanner reader that survives the device being unplugged,
// and Normalize, which every input path (wedge, serial, cash register,
// image, typed) applies.
//
// It must never decide anything about a code: it only delivers text.
package scanner

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds one code's text, in bytes.
const MaxLen = 512

// GS is the ASCII group separator, the FNC1 field separator of GS1 codes:
// Normalize keeps it.
const GS = '\x1d'

// ErrEmpty is returned by Normalize for input with nothing left to decode.
var ErrEmpty = errors.New("no code: the input is empty once control characters are removed")

// Normalize cleans one scanned or typed code:
//
//   - an AIM symbology identifier at the start (']' + a letter + a digit,
//     as in ]Q1, ]E0, ]C1, ]d2) is removed;
//   - ECI escapes (a backslash and six digits, as in \000026) are removed;
//   - control characters (C0, DEL, C1) are removed, except GS (0x1D), which
//     separates GS1 fields; a GS at the start (FNC1 in first position, which
//     the symbology already says) is removed;
//   - spaces at either end are trimmed.
//
// It refuses invalid UTF-8, input over MaxLen bytes and input with nothing
// left. Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) (string, error) {
	if len(s) > MaxLen {
		return "", fmt.Errorf("code too long: %d bytes, at most %d", len(s), MaxLen)
	}
	if !utf8.ValidString(s) {
		return "", errors.New("code is not valid UTF-8 text: check the scanner's character set")
	}
	for {
		before := s
		s = strings.TrimSpace(stripControls(s))
		if len(s) >= 3 && s[0] == ']' && isLetter(s[1]) && s[2] >= '0' && s[2] <= '9' {
			s = s[3:]
		}
		s = strings.TrimLeft(stripECI(s), "\x1d")
		if s == before {
			break
		}
	}
	if s == "" {
		return "", ErrEmpty
	}
	return s, nil
}

func isLetter(b byte) bool { return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' }

func stripControls(s string) string {
	clean := true
	for _, r := range s {
		if r != GS && unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r != GS && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func stripECI(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+7 <= len(s) && allDigits(s[i+1:i+7]) {
			i += 6
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
