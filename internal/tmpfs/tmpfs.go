// Package tmpfs gives tests a real file system that fills up: a small
// tmpfs mounted in the test's temporary directory (it needs root, as make
// test has in CI; elsewhere the test is skipped) and a filler file that
// takes its space. For tests only; it holds no product logic and must never
// import terminal, hub or drivers.
package tmpfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (as mount's -o size=, such as "4m") on a
// new temporary directory, unmounted when the test ends, and returns the
// directory. Without root the test is skipped.
func Mount(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs; make test runs as root in CI")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// Fill writes a file in dir until the file system is full, then gives
// back leave bytes of it, and returns the file's path (remove it to free
// the space).
func Fill(t testing.TB, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	filler, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	if leave > 0 {
		if fi, err := filler.Stat(); err == nil {
			filler.Truncate(max(0, fi.Size()-leave))
		}
	}
	return path
}
