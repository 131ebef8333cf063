// Package testlog collects log output in tests: a buffer safe for the
// concurrent writers a broker, a link and a hub make, with the slog logger
// that writes to it. It is for tests only and must never be imported by a
// program.
package testlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// Buffer collects log output; it is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Count returns how many times s occurs in what was written.
func (b *Buffer) Count(s string) int { return strings.Count(b.String(), s) }

// Logger returns a text logger, debug level and up, writing to b.
func (b *Buffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
