package sqlite

import "testing"

// CheapPINKDF makes PIN hashes cheap (8 KiB, one pass) until the test
// ends, for tests that check many PINs; the stored parameters say so.
func CheapPINKDF(t testing.TB) {
	old := pinKDF
	pinKDF = kdfParams{time: 1, memory: 8, threads: 1}
	t.Cleanup(func() { pinKDF = old })
}

// PINKDF is the parameters new PIN hashes get, as stored.
func PINKDF() string { return pinKDF.String() }

// ParseKDF exposes the stored parameters' parser to the fuzz test.
func ParseKDF(s string) (string, error) {
	p, err := parseKDF(s)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}
