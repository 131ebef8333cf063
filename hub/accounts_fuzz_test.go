package hub

import (
	"strings"
	"testing"
)

// FuzzParsePHC: a stored password hash never panics the parser, and one
// it accepts has bounded parameters and writes back to the same text.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA")
	f.Add("$argon2id$v=16$m=64,t=01,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if !h.kdf.valid() {
			t.Fatalf("accepted %q with parameters %s out of bounds", s, h.kdf)
		}
		if back := encodePHC(h); back != s {
			t.Fatalf("accepted %q, writes back %q", s, back)
		}
	})
}

// FuzzTokens: the session and API token checks never panic, and accept
// only 43 base64url characters (after hxt_ for an API token).
func FuzzTokens(f *testing.F) {
	f.Add("Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5")
	f.Add("hxt_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5")
	f.Add("hxt_")
	f.Add(strings.Repeat("_", 43))
	f.Fuzz(func(t *testing.T, s string) {
		if ValidToken(s) && (len(s) != tokenText || strings.ContainsAny(s, "+/=. ")) {
			t.Fatalf("ValidToken accepted %q", s)
		}
		if ParseAPIToken(s) && (!strings.HasPrefix(s, APITokenPrefix) || !ValidToken(s[len(APITokenPrefix):])) {
			t.Fatalf("ParseAPIToken accepted %q", s)
		}
	})
}
