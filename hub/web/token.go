package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hexiao/hexiao/internal/keyfile"
)

// AdminTokenFile is the file under the data directory that holds the
// first HQ admin's bearer token.
const AdminTokenFile = "admin.token"

// AdminToken returns the admin bearer token kept in dir/admin.token,
// creating it on first start: 32 random bytes as base64url text, mode
// 0600. Two processes starting at once never overwrite each other: the
// second one reads the first one's token (internal/keyfile).
func AdminToken(dir string) (string, error) {
	path := filepath.Join(dir, AdminTokenFile)
	b, err := keyfile.ReadOrCreate(path, func() ([]byte, error) {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		return []byte(base64.RawURLEncoding.EncodeToString(raw[:]) + "\n"), nil
	})
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("admin token: %s holds %d characters, want at least 16; delete it to make a new one", path, len(tok))
	}
	return tok, nil
}
