// Package keyfile keeps small secret files (keys, peppers, tokens) that a
// program makes once on first start: written in full under a temporary
// name with mode 0600, synced, then hard-linked into place, so a crash never
// leaves half a key and two processes starting at once never overwrite each
// other (the second reads the first one's). It holds no product logic and
// must never import terminal, hub or drivers.
package keyfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadOrCreate returns the contents of path, or, when it does not exist,
// makes them with create and stores them there. An existing file that
// others may read is refused with the command that fixes it.
func ReadOrCreate(path string, create func() ([]byte, error)) ([]byte, error) {
	if b, err := read(path); !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b, err := create()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, b); err != nil {
		return nil, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return read(path) // another process won the race
	} else if err != nil {
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable
		d.Close()
	}
	return b, nil
}

func writeSynced(f *os.File, b []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func read(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o, readable by others; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}
