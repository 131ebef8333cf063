package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestReadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "key")
	n := 0
	make := func(v string) func() ([]byte, error) {
		return func() ([]byte, error) { n++; return []byte(v), nil }
	}
	b, err := ReadOrCreate(path, make("first"))
	if err != nil || string(b) != "first" {
		t.Fatalf("first start: %q %v, want \"first\"", b, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	b, err = ReadOrCreate(path, make("second"))
	if err != nil || string(b) != "first" || n != 1 {
		t.Fatalf("second start: %q %v (create called %d times), want \"first\" made once", b, err, n)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadOrCreate(path, make("x")); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a file others may read: %v, want refused with the chmod to run", err)
	}
}

// Processes starting at once all end up with the one value stored.
func TestReadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	got := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			b, err := ReadOrCreate(path, func() ([]byte, error) { return []byte{byte(i)}, nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	stored, _ := os.ReadFile(path)
	for i, b := range got {
		if !bytes.Equal(b, stored) {
			t.Fatalf("caller %d got %v, the file holds %v", i, b, stored)
		}
	}
}
