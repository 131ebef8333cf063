package protocol

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"time"
)

// DynamicPrefix starts every dynamic code.
const DynamicPrefix = "HXD:"

// Dynamic codes are RFC 6238 TOTP with HMAC-SHA256, 8 digits and 30-second
// steps; a terminal accepts the current step and one step either side.
const (
	TOTPStep    = 30 * time.Second
	TOTPDigits  = 8
	TOTPSkew    = 1  // steps accepted either side of now
	MinSeedLen  = 16 // bytes of a dynamic code's seed
	staleWindow = 20 // steps looked back to tell a stale screenshot from a wrong value
)

// DynamicCode is a parsed HXD: code: the code id and the 8-digit value.
type DynamicCode struct {
	ID    string
	Value string
}

// String returns the code's text, HXD: + id + value.
func (d DynamicCode) String() string { return DynamicPrefix + d.ID + d.Value }

// ParseDynamic decodes an HXD: code: the prefix, a code id and the last 8
// characters, all digits. Case is ignored. Errors are *CodeError with reason
// Malformed.
func ParseDynamic(s string) (DynamicCode, error) {
	if len(s) > MaxCodeLen {
		return DynamicCode{}, malformed("%d bytes, longer than %d", len(s), MaxCodeLen)
	}
	if !hasPrefixFold(s, DynamicPrefix) {
		return DynamicCode{}, malformed("dynamic code must start with %s", DynamicPrefix)
	}
	rest := asciiUpper(s[len(DynamicPrefix):])
	if len(rest) <= TOTPDigits {
		return DynamicCode{}, malformed("dynamic code needs a code id and %d digits", TOTPDigits)
	}
	id, value := rest[:len(rest)-TOTPDigits], rest[len(rest)-TOTPDigits:]
	for i := 0; i < len(value); i++ {
		if value[i] < '0' || value[i] > '9' {
			return DynamicCode{}, malformed("dynamic code must end with %d digits", TOTPDigits)
		}
	}
	if err := ValidCodeID(id); err != nil {
		return DynamicCode{}, malformed("%v", err)
	}
	return DynamicCode{ID: id, Value: value}, nil
}

// TOTPStepAt returns the time step containing t.
func TOTPStepAt(t time.Time) int64 { return t.Unix() / int64(TOTPStep/time.Second) }

// TOTPValue returns the 8-digit value of seed at step (RFC 4226 dynamic
// truncation over HMAC-SHA256 of the big-endian step).
func TOTPValue(seed []byte, step int64) string {
	var buf [TOTPDigits]byte
	return string(appendTOTP(buf[:0], hmac.New(sha256.New, seed), step))
}

func appendTOTP(dst []byte, mac hash.Hash, step int64) []byte {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac.Reset()
	mac.Write(msg[:])
	var sum [sha256.Size]byte
	h := mac.Sum(sum[:0])
	off := h[len(h)-1] & 0x0f
	bin := binary.BigEndian.Uint32(h[off:off+4]) & 0x7fffffff
	v := bin % 100000000
	var digits [TOTPDigits]byte
	for i := TOTPDigits - 1; i >= 0; i-- {
		digits[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, digits[:]...)
}

// DynamicAt returns the HXD: text a wallet shows for code id with seed at t.
func DynamicAt(id string, seed []byte, t time.Time) string {
	return DynamicPrefix + id + TOTPValue(seed, TOTPStepAt(t))
}

// VerifyTOTP checks value against seed at now and returns the matched time
// step. Callers must refuse a step at or before the last step they accepted
// for the same code, so a value is used once. A value from an earlier step
// (a screenshot) fails with ErrStaleDynamic and reason expired; any other
// wrong value with ErrDynamicMismatch and reason bad_signature.
func VerifyTOTP(seed []byte, value string, now time.Time) (int64, error) {
	if len(seed) < MinSeedLen {
		return 0, fmt.Errorf("dynamic code seed is %d bytes, want at least %d", len(seed), MinSeedLen)
	}
	if len(value) != TOTPDigits {
		return 0, malformed("dynamic value has %d digits, want %d", len(value), TOTPDigits)
	}
	mac := hmac.New(sha256.New, seed)
	var buf [TOTPDigits]byte
	cur := TOTPStepAt(now)
	match := func(step int64) bool {
		return step >= 0 && subtle.ConstantTimeCompare(appendTOTP(buf[:0], mac, step), []byte(value)) == 1
	}
	for d := int64(0); d <= TOTPSkew; d++ {
		if match(cur - d) {
			return cur - d, nil
		}
		if d > 0 && match(cur+d) {
			return cur + d, nil
		}
	}
	for step := cur - TOTPSkew - 1; step >= cur-staleWindow; step-- {
		if match(step) {
			return 0, &CodeError{Reason: Expired, Err: ErrStaleDynamic,
				Detail: fmt.Sprintf("value of %s, now %s", time.Unix(step*int64(TOTPStep/time.Second), 0).UTC().Format(time.TimeOnly), now.UTC().Format(time.TimeOnly))}
		}
	}
	return 0, &CodeError{Reason: BadSignature, Err: ErrDynamicMismatch}
}
