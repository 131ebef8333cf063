package scanner

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"plain", "HX1ABCDEF", "HX1ABCDEF", nil},
		{"spaces and line end", "  HX1ABC \r\n", "HX1ABC", nil},
		{"inner space kept", "ABCD 1234", "ABCD 1234", nil},
		{"AIM QR", "]Q1HX1ABC", "HX1ABC", nil},
		{"AIM EAN", "]E04006381333931", "4006381333931", nil},
		{"AIM only at the start", "AB]Q1CD", "AB]Q1CD", nil},
		{"AIM needs letter and digit", "]QXHX1", "]QXHX1", nil},
		{"GS1 DataMatrix keeps GS", "]d2\x1d0104012345012345\x1d10ABC", "\x1d0104012345012345\x1d10ABC", nil},
		{"ECI", `\000026HX1ABC`, "HX1ABC", nil},
		{"ECI inside", `AB\000003CD`, "ABCD", nil},
		{"short escape kept", `AB\00003CD`, `AB\00003CD`, nil},
		{"AIM then ECI", "]Q1\\000026中文码", "中文码", nil},
		{"AIM behind spaces", "  ]C1ABCD", "ABCD", nil},
		{"C0 DEL C1", "a\x00b\x07c\x7fd\u0085e", "abcde", nil},
		{"format characters", "\ufeffAB\u200bCD\u200e", "ABCD", nil},
		{"nested prefixes fixed point", "]Q1 ]Q1 ABCD", "ABCD", nil},
		{"escape formed by removal", `\\000001000002X`, "X", nil},
		{"only controls", "\r\n\t", "", ErrEmpty},
		{"empty", "", "", ErrEmpty},
		{"only an AIM id", "]Q1", "", ErrEmpty},
		{"invalid UTF-8", "bad \xff", "", ErrNotUTF8},
		{"at the cap", strings.Repeat("x", MaxLen), strings.Repeat("x", MaxLen), nil},
		{"over the cap", strings.Repeat("x", MaxLen+1), "", ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// checkNormalized fails unless s is what Normalize promises: valid UTF-8,
// not empty, within MaxLen, no control or format character but GS, no
// space at either end, and a fixed point.
func checkNormalized(t *testing.T, in, s string) {
	t.Helper()
	if s == "" || len(s) > MaxLen || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		t.Fatalf("Normalize(%q) = %q: empty, too long, invalid or untrimmed", in, s)
	}
	for _, r := range s {
		if r != GS && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Fatalf("Normalize(%q) = %q keeps %U", in, s, r)
		}
	}
	if again, err := Normalize(s); err != nil || again != s {
		t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, s, again, err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"]Q1HX1", `\000026x`, "a\x1db", "]]Q1Q1", `\\000001000002`, "  x  ", "\ufeff]Q1x", "]Q1 ]E0 x", "\x85\u00a0y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			if got != "" {
				t.Fatalf("Normalize(%q) = %q with error %v", s, got, err)
			}
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrNotUTF8) {
				t.Fatalf("Normalize(%q): unexpected error %v", s, err)
			}
			return
		}
		checkNormalized(t, s, got)
		if len(got) > len(s) {
			t.Fatalf("Normalize(%q) = %q grew", s, got)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"clean", "HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567"},
		{"AIM", "]Q1HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567"},
		{"controls", "]Q1\\000026HX1ABCDEFGHJKLMNPQRSTUVWXYZ234567\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
