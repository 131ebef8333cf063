// Package ptypair gives tests a real serial link: a pair of ptys joined by
// socat, each end reachable by a stable path in the test's temp dir, that
// can be unplugged (socat stopped, both devices gone) and plugged back in.
// It is for tests only and must never be imported by a program.
package ptypair

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Pair is a pty pair: bytes written to A come out of B and back.
type Pair struct {
	A, B string // stable paths (symlinks to the current /dev/pts devices)

	t   testing.TB
	mu  sync.Mutex // guards cmd
	cmd *exec.Cmd
}

// New starts socat and returns the pair; the test's cleanup stops it. It
// fails the test if socat is missing (make deps installs it).
func New(t testing.TB) *Pair {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		t.Fatalf("socat not found (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	p := &Pair{A: filepath.Join(dir, "a"), B: filepath.Join(dir, "b"), t: t}
	p.Plug()
	t.Cleanup(p.Unplug)
	return p
}

// Plug starts socat (again), making both paths live devices.
func (p *Pair) Plug() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	cmd := exec.Command("socat", "-d", "-d",
		"pty,raw,echo=0,link="+p.A, "pty,raw,echo=0,link="+p.B)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatalf("socat: %v", err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start socat: %v", err)
	}
	// socat logs "starting data transfer loop" once both ptys exist.
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var log strings.Builder
		signalled := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), "starting data transfer loop") {
				ready <- nil
				signalled = true
			}
		}
		if !signalled {
			ready <- fmt.Errorf("socat exited before the ptys were ready:\n%s", log.String())
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Wait()
			p.t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		p.t.Fatal("socat did not make the ptys within 10 s")
	}
	for _, l := range []string{p.A, p.B} {
		if _, err := os.Stat(l); err != nil {
			p.t.Fatalf("pty link %s: %v", l, err)
		}
	}
	p.cmd = cmd
}

// Unplug stops socat: both devices disappear, like a USB cable pulled.
func (p *Pair) Unplug() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
	// socat removes its links on a clean exit only.
	_ = os.Remove(p.A)
	_ = os.Remove(p.B)
}
