package protocol

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"sort"
	"time"
)

// IssuingKey is the public half of a hub issuing key with its validity
// window. A terminal accepts a signed code only while its key is valid:
// NotBefore ≤ now < NotAfter (a zero NotAfter means no end). Rotation adds a
// new key and sets the old one's NotAfter to the end of the last code it
// signed; retiring a leaked key sets NotAfter to now.
type IssuingKey struct {
	ID        string            `json:"id"`
	Public    ed25519.PublicKey `json:"public"`
	NotBefore time.Time         `json:"not_before"`
	NotAfter  time.Time         `json:"not_after,omitzero"`
}

// Validate checks the key's id, length and window.
func (k IssuingKey) Validate() error {
	if err := ValidID(k.ID); err != nil || len(k.ID) > maxKeyIDLen {
		return fmt.Errorf("key id %q: want 1-%d identifier characters", k.ID, maxKeyIDLen)
	}
	if len(k.Public) != ed25519.PublicKeySize {
		return fmt.Errorf("key %q: public key is %d bytes, want %d", k.ID, len(k.Public), ed25519.PublicKeySize)
	}
	if !k.NotAfter.IsZero() && !k.NotAfter.After(k.NotBefore) {
		return fmt.Errorf("key %q: not_after %s is not after not_before %s", k.ID,
			k.NotAfter.UTC().Format(time.RFC3339), k.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

func (k IssuingKey) usableAt(now time.Time) error {
	if now.Before(k.NotBefore) {
		return &CodeError{Reason: NotYetValid, Err: ErrKeyNotYetValid,
			Detail: fmt.Sprintf("key %q valid from %s", k.ID, k.NotBefore.UTC().Format(time.RFC3339))}
	}
	if !k.NotAfter.IsZero() && !now.Before(k.NotAfter) {
		return &CodeError{Reason: Expired, Err: ErrKeyRetired,
			Detail: fmt.Sprintf("key %q retired at %s", k.ID, k.NotAfter.UTC().Format(time.RFC3339))}
	}
	return nil
}

// GenerateSigningKey makes a new issuing key from the entropy in rand
// (crypto/rand.Reader in production).
func GenerateSigningKey(id string, rand io.Reader, notBefore, notAfter time.Time) (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate key %q: %w", id, err)
	}
	k := SigningKey{IssuingKey: IssuingKey{ID: id, Public: pub, NotBefore: notBefore, NotAfter: notAfter}, Private: priv}
	if err := k.IssuingKey.Validate(); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}

// KeyRing holds the issuing public keys a terminal trusts; a nil ring holds
// none (every signed code is then unknown_code). It is immutable once made, so any number of goroutines may verify with it; to change the
// keys, make a new ring and swap the pointer.
type KeyRing struct {
	keys map[string]IssuingKey
}

// NewKeyRing makes a ring of keys. Two keys with one id are an error.
func NewKeyRing(keys ...IssuingKey) (*KeyRing, error) {
	r := &KeyRing{keys: make(map[string]IssuingKey, len(keys))}
	for _, k := range keys {
		if err := k.Validate(); err != nil {
			return nil, err
		}
		if _, dup := r.keys[k.ID]; dup {
			return nil, fmt.Errorf("key id %q appears twice", k.ID)
		}
		r.keys[k.ID] = k
	}
	return r, nil
}

// Keys returns the ring's keys ordered by id. A nil ring has none.
func (r *KeyRing) Keys() []IssuingKey {
	if r == nil {
		return nil
	}
	out := make([]IssuingKey, 0, len(r.keys))
	for _, k := range r.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Verify checks a parsed signed code against the ring at time now: the key
// must be known (ErrUnknownKey, reason unknown_code: a genuine code from a
// key this terminal has not yet received), valid at now (ErrKeyNotYetValid,
// ErrKeyRetired) and the signature must hold (ErrBadSignature). The code's
// own validity window, scope and uses are rules for the caller.
func (r *KeyRing) Verify(c *SignedCode, now time.Time) error {
	var k IssuingKey
	ok := false
	if r != nil {
		k, ok = r.keys[c.KeyID]
	}
	if !ok {
		return &CodeError{Reason: UnknownCode, Err: ErrUnknownKey, Detail: fmt.Sprintf("key %q", c.KeyID)}
	}
	if err := k.usableAt(now); err != nil {
		return err
	}
	if c.signed == nil {
		return &CodeError{Reason: BadSignature, Err: ErrBadSignature, Detail: "code was not parsed from text"}
	}
	var buf [256]byte
	msg := append(append(buf[:0], signedDomain...), c.signed...)
	if !ed25519.Verify(k.Public, msg, c.sig) {
		return &CodeError{Reason: BadSignature, Err: ErrBadSignature, Detail: fmt.Sprintf("code %s, key %q", c.ID, c.KeyID)}
	}
	return nil
}

// ParseVerify parses an HX1: string and verifies it with Verify.
func (r *KeyRing) ParseVerify(s string, now time.Time) (*SignedCode, error) {
	c, err := ParseSigned(s)
	if err != nil {
		return nil, err
	}
	if err := r.Verify(c, now); err != nil {
		return nil, err
	}
	return c, nil
}
