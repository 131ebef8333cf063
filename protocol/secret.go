package protocol

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
)

// Card secrets are 8 to 32 characters of 0–9 and A–Z after normalisation.
const (
	MinSecretLen = 8
	MaxSecretLen = 32
	// MinPepperLen is the shortest pepper NewSecretHasher accepts.
	MinPepperLen = 16
)

// secretDomain separates card-secret hashes from any other use of the pepper.
const secretDomain = "hexiao/card-secret/v1\x00"

// NormalizeSecret turns a typed or scanned card secret into its canonical
// form: full-width characters (what a Chinese input method types) become
// ASCII, spaces and hyphens are dropped, letters become upper case. The
// result must be MinSecretLen to MaxSecretLen characters of 0–9 and A–Z.
// Errors are *CodeError with reason Malformed and never repeat the secret.
func NormalizeSecret(s string) (string, error) {
	if len(s) > MaxCodeLen {
		return "", malformed("%d bytes, longer than %d", len(s), MaxCodeLen)
	}
	out := make([]byte, 0, len(s))
	pos := 0
	for _, r := range s {
		pos++
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII block
			r -= 0xFF01 - 0x21
		} else if r == 0x3000 { // ideographic space
			r = ' '
		}
		switch {
		case r == ' ' || r == '-':
			continue
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		default:
			return "", malformed("character %d is not a digit or a letter", pos)
		}
		out = append(out, byte(r))
	}
	if len(out) < MinSecretLen || len(out) > MaxSecretLen {
		return "", malformed("card secret has %d characters, want %d to %d", len(out), MinSecretLen, MaxSecretLen)
	}
	return string(out), nil
}

// SecretHash is the keyed hash under which a card secret is stored and
// looked up; the secret itself is never stored.
type SecretHash [sha256.Size]byte

// String returns the hash in lower-case hex.
func (h SecretHash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes the hash as lower-case hex.
func (h SecretHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 64 hex digits.
func (h *SecretHash) UnmarshalText(b []byte) error {
	return decodeHex32("secret hash", b, (*[32]byte)(h))
}

func decodeHex32(what string, b []byte, out *[32]byte) error {
	if len(b) != 2*len(out) {
		return fmt.Errorf("%s: %d hex digits, want %d", what, len(b), 2*len(out))
	}
	if _, err := hex.Decode(out[:], b); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// SecretHasher computes HMAC-SHA256 keyed hashes of normalised card secrets
// with the hub's pepper. It is safe for concurrent use.
type SecretHasher struct {
	pool sync.Pool // of hash.Hash keyed with the pepper
}

// NewSecretHasher makes a hasher for pepper, which must be at least
// MinPepperLen bytes of secret randomness shared by the hub and its
// terminals.
func NewSecretHasher(pepper []byte) (*SecretHasher, error) {
	if len(pepper) < MinPepperLen {
		return nil, fmt.Errorf("pepper is %d bytes, want at least %d", len(pepper), MinPepperLen)
	}
	p := append([]byte(nil), pepper...)
	h := &SecretHasher{}
	h.pool.New = func() any { return hmac.New(sha256.New, p) }
	return h, nil
}

// Hash returns the keyed hash of a secret already passed through
// NormalizeSecret.
func (h *SecretHasher) Hash(normalized string) SecretHash {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(secretDomain))
	m.Write([]byte(normalized))
	var out SecretHash
	m.Sum(out[:0])
	h.pool.Put(m)
	return out
}
