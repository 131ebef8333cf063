package scanner

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen bounds one code's text, in bytes, before and after Normalize.
const MaxLen = 512

// GS is the ASCII group separator, the FNC1 field separator of GS1 codes:
// Normalize keeps it wherever it is.
const GS = '\x1d'

// The errors Normalize returns, wrapped with detail.
var (
	ErrEmpty   = errors.New("no code: the input is empty once control characters are removed")
	ErrTooLong = errors.New("code too long")
	ErrNotUTF8 = errors.New("code is not valid UTF-8 text")
)

// Normalize cleans one scanned or typed code. It removes, in this order
// and again until nothing changes (so Normalize(Normalize(s)) ==
// Normalize(s)):
//
//  1. control characters (C0 0x00–0x1F, DEL 0x7F, C1 0x80–0x9F) except GS
//     (0x1D), and Unicode format characters (category Cf: zero-width
//     spaces and joiners, direction marks, the byte-order mark, soft
//     hyphens);
//  2. white space at either end (strings.TrimSpace); space inside is kept;
//  3. one AIM symbology identifier at the start: ']', an ASCII letter and
//     a digit, as in ]Q1, ]E0, ]C1, ]d2;
//  4. every ECI escape: a backslash followed by six ASCII digits, as in
//     \000026.
//
// Nothing else changes: case, inner spaces, dashes, GS and non-ASCII
// letters are kept for the code parser to judge. It refuses input over
// MaxLen bytes (ErrTooLong, checked before anything is removed), invalid
// UTF-8 (ErrNotUTF8) and input with nothing left (ErrEmpty).
func Normalize(s string) (string, error) {
	if len(s) > MaxLen {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(s), MaxLen)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: set the scanner to send UTF-8 or plain ASCII", ErrNotUTF8)
	}
	for {
		before := s
		s = strings.TrimSpace(stripInvisible(s))
		if len(s) >= 3 && s[0] == ']' && isLetter(s[1]) && isDigit(s[2]) {
			s = s[3:]
		}
		s = stripECI(s)
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
func isDigit(b byte) bool  { return b >= '0' && b <= '9' }

// invisible reports whether Normalize removes r wherever it is.
func invisible(r rune) bool {
	if r < utf8.RuneSelf {
		return (r < 0x20 && r != GS) || r == 0x7f
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

func stripInvisible(s string) string {
	for i, r := range s {
		if invisible(r) {
			var b strings.Builder
			b.Grow(len(s))
			b.WriteString(s[:i])
			for _, r := range s[i:] {
				if !invisible(r) {
					b.WriteRune(r)
				}
			}
			return b.String()
		}
	}
	return s
}

func stripECI(s string) string {
	first := -1
	for i := strings.IndexByte(s, '\\'); i >= 0 && i < len(s); i++ {
		if isECI(s, i) {
			first = i
			break
		}
	}
	if first < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:first])
	for i := first; i < len(s); i++ {
		if isECI(s, i) {
			i += 6
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isECI reports whether an ECI escape (a backslash and six digits) starts
// at s[i].
func isECI(s string, i int) bool {
	return s[i] == '\\' && i+7 <= len(s) && allDigits(s[i+1:i+7])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
