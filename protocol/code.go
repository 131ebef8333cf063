package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Format is one of the three code formats.
type Format string

// The code formats of DESIGN.md.
const (
	FormatSigned  Format = "signed"  // HX1: Ed25519-signed, verified with the issuing keys
	FormatSecret  Format = "secret"  // card secret, verified by its keyed hash
	FormatDynamic Format = "dynamic" // HXD: TOTP, verified with the code's seed
)

// Valid reports whether f is one of the three formats.
func (f Format) Valid() bool {
	return f == FormatSigned || f == FormatSecret || f == FormatDynamic
}

// MaxCodeLen bounds the length of any scanned code string. Longer input is
// malformed without further work.
const MaxCodeLen = 512

// Sentinel errors a *CodeError wraps; test with errors.Is.
var (
	ErrMalformed       = errors.New("malformed code")
	ErrUnknownKey      = errors.New("unknown issuing key")
	ErrBadSignature    = errors.New("bad signature")
	ErrKeyNotYetValid  = errors.New("issuing key not yet valid")
	ErrKeyRetired      = errors.New("issuing key retired")
	ErrStaleDynamic    = errors.New("dynamic code from an earlier time step")
	ErrDynamicMismatch = errors.New("dynamic code value does not match")
)

// CodeError is why a code failed to parse or verify. Reason is what the
// cashier and the logs see; Err is one of the sentinel errors above, and
// Detail says precisely what was wrong (never the secret itself).
type CodeError struct {
	Reason Reason
	Err    error
	Detail string
}

func (e *CodeError) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

func (e *CodeError) Unwrap() error { return e.Err }

func malformed(format string, args ...any) *CodeError {
	return &CodeError{Reason: Malformed, Err: ErrMalformed, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason an error from this package stands for:
// the CodeError's reason, or Malformed for any other non-nil error.
func ReasonOf(err error) Reason {
	if err == nil {
		return Accepted
	}
	var ce *CodeError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return Malformed
}

// Code is a scanned string after parsing, before verification. Exactly one
// of Signed, Secret and Dynamic is set, as Format says.
type Code struct {
	Format  Format
	Signed  *SignedCode
	Secret  string // normalised card secret; hash it, never store or log it
	Dynamic *DynamicCode
}

// ParseCode tells the format of a scanned string and parses it. It checks
// structure only: signed codes still need KeyRing.Verify, card secrets a
// look-up by SecretHasher.Hash, dynamic codes VerifyTOTP. Input must already be
// stripped of scanner prefixes and control characters (drivers/scanner);
// surrounding white space is ignored. Errors are *CodeError with reason
// Malformed.
func ParseCode(s string) (Code, error) {
	if len(s) > MaxCodeLen {
		return Code{}, malformed("%d bytes, longer than %d", len(s), MaxCodeLen)
	}
	s = strings.TrimSpace(s)
	switch {
	case hasPrefixFold(s, SignedPrefix):
		c, err := ParseSigned(s)
		if err != nil {
			return Code{}, err
		}
		return Code{Format: FormatSigned, Signed: c}, nil
	case hasPrefixFold(s, DynamicPrefix):
		d, err := ParseDynamic(s)
		if err != nil {
			return Code{}, err
		}
		return Code{Format: FormatDynamic, Dynamic: &d}, nil
	default:
		n, err := NormalizeSecret(s)
		if err != nil {
			return Code{}, err
		}
		return Code{Format: FormatSecret, Secret: n}, nil
	}
}

// asciiUpper upper-cases ASCII letters only, so no other character can turn
// into one that a code may contain (strings.ToUpper maps ſ to S).
func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
