package sqlite

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// sealer encrypts dynamic-code seeds at rest with AES-256-GCM under the key
// in cache.key. The code id is the additional data, so a sealed seed moved
// to another code's row does not open.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CacheKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CacheKey, err)
	}
	return &sealer{aead: aead}, nil
}

// seal returns nonce ‖ ciphertext.
func (s *sealer) seal(codeID string, seed []byte) []byte {
	nonce := randomBytes(s.aead.NonceSize())
	return s.aead.Seal(nonce, nonce, seed, []byte(codeID))
}

func (s *sealer) open(codeID string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("sealed seed of code %s is truncated", codeID)
	}
	seed, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(codeID))
	if err != nil {
		return nil, fmt.Errorf("seed of code %s does not open with %s: %w", codeID, CacheKey, err)
	}
	return seed, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return b
}
