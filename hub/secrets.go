package hub

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"path/filepath"

	"github.com/hexiao/hexiao/internal/keyfile"
	"github.com/hexiao/hexiao/protocol"
)

// Files the hub keeps beside its database, each 0600.
const (
	PepperFile    = "pepper"     // card-secret pepper shared with terminals at enrollment
	MasterKeyFile = "master.key" // AES-256 key sealing issuing keys and dynamic-code seeds
)

// Secrets are the hub's own keys: the card-secret pepper and the master key
// that seals private material at rest. They live in files, not in the ledger,
// so a copy of the database alone reveals no secret.
type Secrets struct {
	Pepper []byte
	hasher *protocol.SecretHasher
	aead   cipher.AEAD
}

// OpenSecrets reads the key files in dir, creating them with fresh randomness
// on first start.
func OpenSecrets(dir string) (*Secrets, error) {
	pepper, err := readOrCreate(filepath.Join(dir, PepperFile), 32)
	if err != nil {
		return nil, err
	}
	master, err := readOrCreate(filepath.Join(dir, MasterKeyFile), 32)
	if err != nil {
		return nil, err
	}
	return NewSecrets(pepper, master)
}

// NewSecrets makes Secrets from a pepper and a 32-byte master key.
func NewSecrets(pepper, master []byte) (*Secrets, error) {
	h, err := protocol.NewSecretHasher(pepper)
	if err != nil {
		return nil, fmt.Errorf("pepper: %w", err)
	}
	if len(master) != 32 {
		return nil, fmt.Errorf("master key: %d bytes, want 32", len(master))
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &Secrets{Pepper: append([]byte(nil), pepper...), hasher: h, aead: aead}, nil
}

// Hasher is the card-secret hasher made with the pepper.
func (s *Secrets) Hasher() *protocol.SecretHasher { return s.hasher }

// Seal encrypts plain for the row named by label (a purpose and an id), so a
// sealed value copied to another row does not open.
func (s *Secrets) Seal(label string, plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(label))
}

// Open decrypts what Seal made for label.
func (s *Secrets) Open(label string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("sealed %s is truncated", label)
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
	if err != nil {
		return nil, fmt.Errorf("sealed %s does not open with %s: %w", label, MasterKeyFile, err)
	}
	return plain, nil
}

// readOrCreate reads the n-byte key file at path, making it from fresh
// randomness on first start.
func readOrCreate(path string, n int) ([]byte, error) {
	b, err := keyfile.ReadOrCreate(path, func() ([]byte, error) {
		b := make([]byte, n)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("%s: %d bytes, want %d", path, len(b), n)
	}
	return b, nil
}
