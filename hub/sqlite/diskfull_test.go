package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/internal/tmpfs"
	"github.com/hexiao/hexiao/protocol"
)

// TestDiskFull runs the ledger on a real, small tmpfs and fills it: the
// Update that no longer fits fails with the disk-full error, none of it is
// kept, no false "rollback failed" is logged, Ping stays true, and once
// space is freed the same write commits. It needs root (to mount), as make
// test runs in CI.
func TestDiskFull(t *testing.T) {
	dir := tmpfs.Mount(t, "4m")
	var logs bytes.Buffer
	s, err := Open(filepath.Join(dir, "hub.db"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	filler := tmpfs.Fill(t, dir, 0)
	codes := func(batch int) []hub.Code {
		var cs []hub.Code
		for i := range 500 {
			cs = append(cs, hub.Code{ID: fmt.Sprintf("B%03d-%05d", batch, i), Campaign: "C", Format: protocol.FormatSigned,
				Uses: 1, Status: protocol.StatusActive, OrderRef: strings.Repeat("x", 200)})
		}
		return cs
	}
	var full error
	var batch int
	for batch = 0; batch < 1000 && full == nil; batch++ {
		full = s.Update(ctx, func(tx hub.Tx) error { return tx.InsertCodes(codes(batch)) })
	}
	batch--
	if full == nil || !strings.Contains(full.Error(), "full") {
		t.Fatalf("after %d batches on a full disk: %v, want the disk-full error", batch, full)
	}
	err = s.View(ctx, func(r hub.Reader) error {
		n, err := r.CountCodes("")
		if err == nil && n != batch*500 {
			t.Errorf("%d codes after %d committed batches and one that failed: part of it was kept", n, batch)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "rollback failed") {
		t.Errorf("a false rollback failure was logged:\n%s", logs.String())
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping after a full disk: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx hub.Tx) error { return tx.InsertCodes(codes(batch)) }); err != nil {
		t.Fatalf("the same write once space is freed: %v", err)
	}
}
