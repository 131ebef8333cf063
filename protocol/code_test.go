package protocol

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGoldenSignedCode(t *testing.T) {
	s := fixSignedText(t)
	golden(t, "signed_code.txt", []byte(s+"\n"))
}

func TestSignedRoundTrip(t *testing.T) {
	s := fixSignedText(t)
	ring, err := NewKeyRing(fixKey.IssuingKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ring.ParseVerify(s, t0)
	if err != nil {
		t.Fatalf("ParseVerify: %v", err)
	}
	want := fixSignedCode()
	want.KeyID = "k1"
	want.ValidFrom, want.ValidUntil = want.ValidFrom.UTC(), want.ValidUntil.UTC()
	got.signed, got.sig = nil, nil
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("parsed %+v\nwant   %+v", *got, want)
	}
	if !got.InScope("sh-001", "north") || !got.InScope("sh-999", "east") || got.InScope("sh-999", "west") {
		t.Errorf("InScope does not follow stores %v and regions %v", got.Stores, got.Regions)
	}
}

// TestSignedQRAlphanumeric checks every character of a signed code is in
// the QR alphanumeric set, so QR encoders use the dense mode.
func TestSignedQRAlphanumeric(t *testing.T) {
	const qrAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	s := fixSignedText(t)
	for i, r := range s {
		if !strings.ContainsRune(qrAlnum, r) {
			t.Fatalf("character %q at %d of %s is outside the QR alphanumeric set", r, i, s)
		}
	}
	if len(s) > 200 {
		t.Errorf("fixture code is %d characters; want a code that fits a small QR (≤ 200)", len(s))
	}
}

func TestSignedCaseInsensitive(t *testing.T) {
	ring, _ := NewKeyRing(fixKey.IssuingKey)
	s := fixSignedText(t)
	for _, v := range []string{strings.ToLower(s), "hx1:" + s[4:], "  " + s + "\r\n"} {
		c, err := ParseCode(v)
		if err != nil {
			t.Fatalf("ParseCode(%.20q…): %v", v, err)
		}
		if err := ring.Verify(c.Signed, t0); err != nil {
			t.Errorf("Verify(%.20q…): %v", v, err)
		}
	}
}

func TestSignedVerifyFailures(t *testing.T) {
	s := fixSignedText(t)
	other := testSigningKey("k1", fixKey.NotBefore, fixKey.NotAfter)    // same id...
	other.Public = seedKey("someone else").Public().(ed25519.PublicKey) // ...another public key
	forged, err := SigningKey{IssuingKey: fixKey.IssuingKey, Private: seedKey("forger")}.Sign(fixSignedCode(), t0)
	if err != nil {
		t.Fatal(err)
	}
	// Flip one payload bit: the code id's last character changes.
	raw, _ := codeB32.DecodeString(s[4:])
	raw[len(raw)-ed25519SigLen-1] ^= 0x01
	tampered := SignedPrefix + codeB32.EncodeToString(raw)

	k2 := testSigningKey("k2", t0.Add(time.Hour), time.Time{})
	k3 := testSigningKey("k3", t0.AddDate(-2, 0, 0), t0.Add(-time.Hour))
	ring, _ := NewKeyRing(fixKey.IssuingKey, k2.IssuingKey, k3.IssuingKey)
	otherRing, _ := NewKeyRing(other.IssuingKey)
	emptyRing, _ := NewKeyRing()
	signWith := func(k SigningKey, now time.Time) string {
		c := fixSignedCode()
		c.ValidUntil = t0.AddDate(-1, 0, 0).Add(time.Hour)
		c.ValidFrom = c.ValidUntil.Add(-time.Minute)
		out, err := k.Sign(c, now)
		if err != nil {
			t.Fatalf("sign with %s: %v", k.ID, err)
		}
		return out
	}
	retiredCode := signWith(k3, t0.AddDate(-1, 0, 0))

	tests := []struct {
		name   string
		ring   *KeyRing
		code   string
		now    time.Time
		reason Reason
		is     error
	}{
		{"forged", ring, forged, t0, BadSignature, ErrBadSignature},
		{"tampered", ring, tampered, t0, BadSignature, ErrBadSignature},
		{"other key same id", otherRing, s, t0, BadSignature, ErrBadSignature},
		{"unknown key", emptyRing, s, t0, UnknownCode, ErrUnknownKey},
		{"key retired", ring, retiredCode, t0, Expired, ErrKeyRetired},
		{"key not yet valid", ring, s, fixKey.NotBefore.Add(-time.Second), NotYetValid, ErrKeyNotYetValid},
		{"key retired exactly at not_after", ring, s, fixKey.NotAfter, Expired, ErrKeyRetired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ring.ParseVerify(tt.code, tt.now)
			if !errors.Is(err, tt.is) || ReasonOf(err) != tt.reason {
				t.Errorf("ParseVerify error %v (reason %s), want %v (reason %s)", err, ReasonOf(err), tt.is, tt.reason)
			}
		})
	}
}

const ed25519SigLen = 64

func TestParseSignedMalformed(t *testing.T) {
	s := fixSignedText(t)
	raw, _ := codeB32.DecodeString(s[4:])
	enc := func(b []byte) string { return SignedPrefix + codeB32.EncodeToString(b) }
	withVersion := append([]byte{9}, raw[1:]...)
	trailing := append(append(append([]byte{}, raw[:len(raw)-ed25519SigLen]...), 0), raw[len(raw)-ed25519SigLen:]...)
	tests := []struct {
		name, code, want string
	}{
		{"empty payload", "HX1:", "too short"},
		{"not base32", "HX1:ABC1DEF", "not base32"},
		{"padding", s + "=", "not base32"},
		{"truncated", s[:60], "too short"},
		{"cut payload", enc(raw[:20]), "too short"},
		{"version", enc(withVersion), "version 9"},
		{"trailing byte", enc(trailing), "unexpected bytes"},
		{"huge", "HX1:" + strings.Repeat("A", MaxCodeLen), "longer than"},
		{"wrong prefix", "HX2:" + s[4:], "unreadable"},
		{"trailing bits", s[:len(s)-1] + nextB32(s[len(s)-1]), "canonical"},
		{"line break", s[:40] + "\n" + s[40:], "canonical"},
		{"long s", "HX1:" + strings.Replace(s[4:], "S", "ſ", 1), "not base32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCode(tt.code)
			if !errors.Is(err, ErrMalformed) || ReasonOf(err) != Malformed {
				t.Fatalf("ParseCode error %v, want ErrMalformed", err)
			}
			if tt.want != "unreadable" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	c := fixSignedCode()
	tests := []struct {
		name string
		key  SigningKey
		mod  func(*SignedCode)
		now  time.Time
		want string
	}{
		{"outlives key", fixKey, func(c *SignedCode) { c.ValidUntil = fixKey.NotAfter.Add(time.Second) }, t0, "outlives key"},
		{"key retired", fixKey, nil, fixKey.NotAfter, "retired"},
		{"lower-case id", fixKey, func(c *SignedCode) { c.ID = "c1" }, t0, "code id"},
		{"no uses", fixKey, func(c *SignedCode) { c.Uses = 0 }, t0, "uses 0"},
		{"empty window", fixKey, func(c *SignedCode) { c.ValidUntil = c.ValidFrom }, t0, "ends after it starts"},
		{"wide scope", fixKey, func(c *SignedCode) { c.Stores = make([]string, 17) }, t0, "more than 16"},
		{"duplicate store", fixKey, func(c *SignedCode) { c.Stores = []string{"a", "a"} }, t0, "listed twice"},
		{"no private key", SigningKey{IssuingKey: fixKey.IssuingKey}, nil, t0, "no private key"},
		{"too long for MaxCodeLen", fixKey, func(c *SignedCode) {
			c.Stores = nil
			for i := range 15 {
				c.Stores = append(c.Stores, fmt.Sprintf("shanghai-pudong-lujiazui-%02d", i))
			}
		}, t0, "more than 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := c
			if tt.mod != nil {
				tt.mod(&cc)
			}
			_, err := tt.key.Sign(cc, tt.now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Sign error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestKeyRing(t *testing.T) {
	k2 := testSigningKey("k2", t0, time.Time{})
	if _, err := NewKeyRing(fixKey.IssuingKey, fixKey.IssuingKey); err == nil {
		t.Error("NewKeyRing accepted one id twice")
	}
	bad := fixKey.IssuingKey
	bad.NotAfter = bad.NotBefore
	if _, err := NewKeyRing(bad); err == nil {
		t.Error("NewKeyRing accepted an empty window")
	}
	r, err := NewKeyRing(k2.IssuingKey, fixKey.IssuingKey)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range r.Keys() {
		ids = append(ids, k.ID)
	}
	if strings.Join(ids, ",") != "k1,k2" {
		t.Errorf("Keys() ids %v, want [k1 k2]", ids)
	}
	// Rotation: a code from k1 and one from k2 both verify while both are valid.
	c2, err := k2.Sign(fixSignedCode(), t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fixSignedText(t), c2} {
		if _, err := r.ParseVerify(s, t0.Add(time.Hour)); err != nil {
			t.Errorf("rotation: %v", err)
		}
	}
	if _, err := (&KeyRing{}).ParseVerify(c2, t0); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("empty ring: %v, want ErrUnknownKey", err)
	}
	if err := r.Verify(&SignedCode{KeyID: "k1"}, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify of an unparsed code: %v, want ErrBadSignature", err)
	}
}

func TestNormalizeSecret(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"ABCD1234", "ABCD1234", ""},
		{"abcd-1234 efgh", "ABCD1234EFGH", ""},
		{"ＡＢＣＤ－１２３４　５６７８", "ABCD12345678", ""},
		{"1234567", "", "7 characters"},
		{strings.Repeat("9", 33), "", "33 characters"},
		{"ABCD_1234", "", "character 5"},
		{"ABCD1234\x00", "", "character 9"},
		{"券码12345678", "", "character 1"},
	}
	for _, tt := range tests {
		got, err := NormalizeSecret(tt.in)
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("NormalizeSecret(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || ReasonOf(err) != Malformed) {
			t.Errorf("NormalizeSecret(%q) error %v, want one containing %q", tt.in, err, tt.err)
		}
	}
}

func TestSecretHash(t *testing.T) {
	h, err := NewSecretHasher(fixPepper)
	if err != nil {
		t.Fatal(err)
	}
	// An independent computation of the documented construction.
	m := hmac.New(sha256.New, fixPepper)
	m.Write([]byte("hexiao/card-secret/v1\x00ABCD1234EFGH5678"))
	want := m.Sum(nil)
	got := h.Hash("ABCD1234EFGH5678")
	if !hmac.Equal(got[:], want) {
		t.Errorf("Hash = %x, want %x", got, want)
	}
	golden(t, "secret_hash.txt", []byte(got.String()+"\n"))
	other, _ := NewSecretHasher([]byte("another-pepper-of-32-bytes-long!"))
	if other.Hash("ABCD1234EFGH5678") == got {
		t.Error("two peppers gave the same hash")
	}
	if _, err := NewSecretHasher([]byte("short")); err == nil {
		t.Error("NewSecretHasher accepted a 5-byte pepper")
	}
	var back SecretHash
	if err := back.UnmarshalText([]byte(got.String())); err != nil || back != got {
		t.Errorf("UnmarshalText round trip: %v", err)
	}
}

// TestTOTPVectors checks RFC 6238 Appendix B's SHA-256 test values.
func TestTOTPVectors(t *testing.T) {
	vectors := []struct {
		unix int64
		want string
	}{
		{59, "46119246"},
		{1111111109, "68084774"},
		{1111111111, "67062674"},
		{1234567890, "91819424"},
		{2000000000, "90698825"},
		{20000000000, "77737706"},
	}
	for _, v := range vectors {
		if got := TOTPValue(fixSeed, TOTPStepAt(time.Unix(v.unix, 0))); got != v.want {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.want)
		}
	}
}

func TestVerifyTOTP(t *testing.T) {
	step := TOTPStepAt(t0)
	tests := []struct {
		name     string
		valueAt  int64 // step offset the value was made at
		wantStep int64
		is       error
		reason   Reason
	}{
		{"current", 0, step, nil, Accepted},
		{"previous step", -1, step - 1, nil, Accepted},
		{"next step", 1, step + 1, nil, Accepted},
		{"two steps old", -2, 0, ErrStaleDynamic, Expired},
		{"ten minutes old", -20, 0, ErrStaleDynamic, Expired},
		{"from the future", 2, 0, ErrDynamicMismatch, BadSignature},
		{"an hour old", -120, 0, ErrDynamicMismatch, BadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := TOTPValue(fixSeed, step+tt.valueAt)
			got, err := VerifyTOTP(fixSeed, v, t0)
			if !errors.Is(err, tt.is) && !(tt.is == nil && err == nil) || ReasonOf(err) != tt.reason || got != tt.wantStep {
				t.Errorf("VerifyTOTP = %d, %v (reason %s); want %d, %v (reason %s)", got, err, ReasonOf(err), tt.wantStep, tt.is, tt.reason)
			}
		})
	}
	if _, err := VerifyTOTP([]byte("short"), "12345678", t0); err == nil {
		t.Error("VerifyTOTP accepted a 5-byte seed")
	}
	if _, err := VerifyTOTP(fixSeed, "1234", t0); ReasonOf(err) != Malformed {
		t.Errorf("VerifyTOTP of 4 digits: %v, want malformed", err)
	}
}

func TestParseCodeDispatch(t *testing.T) {
	dyn := DynamicAt("D00000000042", fixSeed, t0)
	tests := []struct {
		in     string
		format Format
		err    bool
	}{
		{fixSignedText(t), FormatSigned, false},
		{dyn, FormatDynamic, false},
		{strings.ToLower(dyn), FormatDynamic, false},
		{"ABCD-1234-EFGH", FormatSecret, false},
		{"HXD:12345678", "", true},         // no code id
		{"HXD:D1-1234567X", "", true},      // value not digits
		{"HXD:d_1" + "12345678", "", true}, // bad id
		{"", "", true},
		{"hello", "", true},
	}
	for _, tt := range tests {
		c, err := ParseCode(tt.in)
		if (err != nil) != tt.err || c.Format != tt.format {
			t.Errorf("ParseCode(%q) = %s, %v; want %q, error %v", tt.in, c.Format, err, tt.format, tt.err)
		}
	}
	c, _ := ParseCode(dyn)
	if c.Dynamic.ID != "D00000000042" || c.Dynamic.String() != dyn {
		t.Errorf("dynamic parsed as %+v, want id D00000000042 and text %s", c.Dynamic, dyn)
	}
}

// nextB32 returns the base32 letter after c, so the last character of a
// code changes only in bits the decoder would ignore.
func nextB32(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[(i+1)%len(alphabet)])
}

func TestNilKeyRing(t *testing.T) {
	var r *KeyRing
	if _, err := r.ParseVerify(fixSignedText(t), t0); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("nil ring: %v, want ErrUnknownKey", err)
	}
	if r.Keys() != nil {
		t.Error("nil ring has keys")
	}
}

func TestDynamicASCIIOnly(t *testing.T) {
	// strings.ToUpper would turn ſ (long s) into S and accept another code id.
	if _, err := ParseDynamic("HXD:ſ1" + "12345678"); err == nil {
		t.Error("ParseDynamic accepted a non-ASCII letter that upper-cases to S")
	}
}
