package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// AdminTokenFile is the file under the data directory that holds the
// first HQ admin's bearer token.
const AdminTokenFile = "admin.token"

// AdminToken returns the admin bearer token kept in dir/admin.token,
// creating it on first start: 32 random bytes as base64url text, mode
// 0600. The file is written in full to a temporary name, synced, then
// hard-linked into place, so two processes starting at once never
// overwrite each other: the second one reads the first one's token.
func AdminToken(dir string) (string, error) {
	path := filepath.Join(dir, AdminTokenFile)
	if tok, err := readToken(path); !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	tmp, err := os.CreateTemp(dir, "."+AdminTokenFile+"-*")
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, tok+"\n"); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readToken(path) // another process won the race
	} else if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable
		d.Close()
	}
	return tok, nil
}

func writeSynced(f *os.File, s string) error {
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readToken reads an existing token file, refusing one that others may
// read or that holds no token.
func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("admin token: %s has mode %04o, readable by others; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("admin token: %s holds %d characters, want at least 16; delete it to make a new one", path, len(tok))
	}
	return tok, nil
}
