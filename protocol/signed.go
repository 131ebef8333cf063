package protocol

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"time"
)

// SignedPrefix starts every signed code.
const SignedPrefix = "HX1:"

// signedVersion is the first byte of a signed code's binary form.
const signedVersion = 1

// signedDomain separates signed-code signatures from any other use of an
// issuing key.
const signedDomain = "hexiao/signed-code/v1\x00"

// Limits on a signed code's payload, so that every valid code fits a QR code
// a phone screen and a cheap scanner handle.
const (
	MaxScopeEntries = 16 // stores plus regions named in one code
	maxKeyIDLen     = 16
)

// maxUnix bounds the times in a signed code (year 36812: beyond any voucher).
const maxUnix = 1 << 40

// codeB32 is RFC 4648 base32 without padding: A–Z and 2–7 only, all inside
// the QR alphanumeric set, so "HX1:" + payload encodes in alphanumeric mode.
var codeB32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// SignedCode is the content of an HX1: code. Times have second precision.
// Empty Stores and Regions mean the code is valid in every store.
type SignedCode struct {
	KeyID      string
	ID         string
	Campaign   string
	ValidFrom  time.Time
	ValidUntil time.Time
	Uses       int
	Stores     []string
	Regions    []string

	signed []byte // the bytes the signature covers, after the domain
	sig    []byte
}

// Validate checks the fields an issuer may put in a signed code.
func (c *SignedCode) Validate() error {
	if err := ValidID(c.KeyID); err != nil || len(c.KeyID) > maxKeyIDLen {
		return fmt.Errorf("key id %q: want 1-%d identifier characters", c.KeyID, maxKeyIDLen)
	}
	if err := ValidCodeID(c.ID); err != nil {
		return err
	}
	if err := ValidID(c.Campaign); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	if c.ValidFrom.Unix() < 0 || c.ValidUntil.Unix() <= c.ValidFrom.Unix() || c.ValidUntil.Unix() > maxUnix {
		return fmt.Errorf("validity %s to %s: want a window between 1970 and 36812 that ends after it starts",
			c.ValidFrom.UTC().Format(time.RFC3339), c.ValidUntil.UTC().Format(time.RFC3339))
	}
	if c.Uses < 1 || c.Uses > MaxUses {
		return fmt.Errorf("uses %d: want 1 to %d", c.Uses, MaxUses)
	}
	if len(c.Stores)+len(c.Regions) > MaxScopeEntries {
		return fmt.Errorf("scope names %d stores and regions, more than %d", len(c.Stores)+len(c.Regions), MaxScopeEntries)
	}
	if err := validIDs("stores", c.Stores); err != nil {
		return err
	}
	return validIDs("regions", c.Regions)
}

// InScope reports whether the code may be redeemed at store in region.
func (c *SignedCode) InScope(store, region string) bool {
	return InScope(c.Stores, c.Regions, store, region)
}

// InScope reports whether a scope of stores and regions admits store in
// region. An empty scope admits every store.
func InScope(stores, regions []string, store, region string) bool {
	if len(stores) == 0 && len(regions) == 0 {
		return true
	}
	for _, s := range stores {
		if s == store {
			return true
		}
	}
	for _, r := range regions {
		if r != "" && r == region {
			return true
		}
	}
	return false
}

// appendBody appends version‖key id‖payload, the bytes the signature covers.
func (c *SignedCode) appendBody(b []byte) []byte {
	b = append(b, signedVersion)
	b = appendStr(b, c.KeyID)
	b = appendStr(b, c.ID)
	b = appendStr(b, c.Campaign)
	b = binary.AppendUvarint(b, uint64(c.ValidFrom.Unix()))
	b = binary.AppendUvarint(b, uint64(c.ValidUntil.Unix()))
	b = binary.AppendUvarint(b, uint64(c.Uses))
	b = binary.AppendUvarint(b, uint64(len(c.Stores)))
	for _, s := range c.Stores {
		b = appendStr(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Regions)))
	for _, r := range c.Regions {
		b = appendStr(b, r)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ParseSigned decodes an HX1: code without verifying its signature. The
// prefix and the base32 text are accepted in either case. Errors are
// *CodeError with reason Malformed.
func ParseSigned(s string) (*SignedCode, error) {
	if len(s) > MaxCodeLen {
		return nil, malformed("%d bytes, longer than %d", len(s), MaxCodeLen)
	}
	if !hasPrefixFold(s, SignedPrefix) {
		return nil, malformed("signed code must start with %s", SignedPrefix)
	}
	text := s[len(SignedPrefix):]
	text = asciiUpper(text)
	raw, err := codeB32.DecodeString(text)
	if err != nil {
		return nil, malformed("not base32: %v", err)
	}
	// One code, one text: refuse the spellings the decoder tolerates (line
	// breaks, non-zero trailing bits).
	if codeB32.EncodedLen(len(raw)) != len(text) || codeB32.EncodeToString(raw) != text {
		return nil, malformed("not in canonical base32")
	}
	if len(raw) < 1+ed25519.SignatureSize {
		return nil, malformed("%d bytes, too short for a signed code", len(raw))
	}
	if raw[0] != signedVersion {
		return nil, malformed("signed code version %d, this build reads %d", raw[0], signedVersion)
	}
	body := raw[:len(raw)-ed25519.SignatureSize]
	r := byteReader{b: body[1:]}
	c := &SignedCode{
		KeyID:    r.str("key id", maxKeyIDLen),
		ID:       r.str("code id", MaxCodeIDLen),
		Campaign: r.str("campaign", MaxIDLen),
	}
	from := r.uvarint("valid from")
	until := r.uvarint("valid until")
	uses := r.uvarint("uses")
	c.Stores = r.strs("stores")
	c.Regions = r.strs("regions")
	if r.err != nil {
		return nil, malformed("%v", r.err)
	}
	if len(r.b) != 0 {
		return nil, malformed("%d unexpected bytes after the payload", len(r.b))
	}
	if from > maxUnix || until > maxUnix || uses > MaxUses {
		return nil, malformed("validity or uses out of range")
	}
	c.ValidFrom = time.Unix(int64(from), 0).UTC()
	c.ValidUntil = time.Unix(int64(until), 0).UTC()
	c.Uses = int(uses)
	if err := c.Validate(); err != nil {
		return nil, malformed("%v", err)
	}
	c.signed = body
	c.sig = raw[len(body):]
	return c, nil
}

// byteReader reads the length-prefixed fields of a signed code, keeping the
// first error.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%s: truncated or overlong number", what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *byteReader) str(what string, max int) string {
	n := r.uvarint(what)
	if r.err != nil {
		return ""
	}
	if n > uint64(max) || n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%s: length %d out of range", what, n)
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *byteReader) strs(what string) []string {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > MaxScopeEntries {
		r.err = fmt.Errorf("%s: %d entries, more than %d", what, n, MaxScopeEntries)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str(what, MaxIDLen)
	}
	return out
}

// SigningKey is an issuing key with its private half; only the hub holds
// one.
type SigningKey struct {
	IssuingKey
	Private ed25519.PrivateKey
}

// Sign returns the HX1: text of c signed with k at time now. It refuses a
// code that would outlive the key (ValidUntil after the key's NotAfter) or a
// key outside its validity window at now. c.KeyID is set to k.ID.
func (k SigningKey) Sign(c SignedCode, now time.Time) (string, error) {
	if len(k.Private) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sign: key %q has no private key", k.ID)
	}
	if err := k.usableAt(now); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	c.KeyID = k.ID
	c.ValidFrom = c.ValidFrom.Truncate(time.Second)
	c.ValidUntil = c.ValidUntil.Truncate(time.Second)
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if !k.NotAfter.IsZero() && c.ValidUntil.After(k.NotAfter) {
		return "", fmt.Errorf("sign: code valid until %s outlives key %q (retires %s)",
			c.ValidUntil.UTC().Format(time.RFC3339), k.ID, k.NotAfter.UTC().Format(time.RFC3339))
	}
	body := c.appendBody(make([]byte, 0, 128))
	msg := make([]byte, 0, len(signedDomain)+len(body))
	msg = append(append(msg, signedDomain...), body...)
	sig := ed25519.Sign(k.Private, msg)
	raw := append(body, sig...)
	out := SignedPrefix + codeB32.EncodeToString(raw)
	if len(out) > MaxCodeLen {
		return "", fmt.Errorf("sign: code would be %d characters, more than %d: use shorter ids or a narrower scope", len(out), MaxCodeLen)
	}
	return out, nil
}
