package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hexiao/hexiao/internal/tmpfs"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// TestDiskFull runs a terminal on a real, small tmpfs and fills it: every
// redemption reported accepted is in the journal, every one that could not
// be written is cannot_record, nothing is half-written, and once space is
// freed the terminal redeems again and its journal verifies. It needs root
// (to mount), as make test runs in CI.
func TestDiskFull(t *testing.T) {
	dir := tmpfs.Mount(t, "4m")
	ctx := context.Background()
	data := filepath.Join(dir, "data")
	if err := sqlite.Init(ctx, data, sqlite.Setup{Terminal: termtest.Terminal, Store: termtest.Store, Pepper: termtest.Pepper}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	camp := termtest.Campaign("c1")
	camp.Uses = protocol.MaxUses
	code := termtest.SecretCode(1, "c1", protocol.MaxUses)
	if _, err := st.Import(ctx, bytesReader(termtest.Snapshot{Campaigns: []protocol.Campaign{camp}, Codes: []protocol.CodeState{code}}.File(t, 0))); err != nil {
		t.Fatal(err)
	}
	// Fill the file system, giving back a little so some redemptions fit
	// before the disk is full.
	filler := tmpfs.Fill(t, dir, 256<<10)

	clock := &termtest.Clock{T: termtest.Now}
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	secret, _ := termtest.Secret(1)
	accepted, full := 0, 0
	for i := 0; i < 2000 && full < 3; i++ {
		clock.Add(time.Second)
		d := eng.Commit(ctx, terminal.Input{Text: secret})
		switch d.Reason {
		case protocol.Accepted:
			if full > 0 {
				t.Fatalf("accepted after the disk filled, with no space freed")
			}
			accepted++
		case protocol.CannotRecord:
			full++
		default:
			t.Fatalf("scan %d: %s (%s)", i, d.Reason, d.Detail)
		}
	}
	if full == 0 {
		t.Fatalf("the disk never filled after %d redemptions", accepted)
	}
	if got := st.Head().Seq; got != uint64(accepted) {
		t.Fatalf("journal head %d, want %d accepted redemptions and nothing else", got, accepted)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if d := eng.Commit(ctx, terminal.Input{Text: secret}); d.Reason != protocol.Accepted {
		t.Fatalf("after freeing space: %s (%s)", d.Reason, d.Detail)
	}
	st.Close()
	st2, err := sqlite.Open(ctx, data, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st2.Close()
	c, _ := st2.CodeByID(ctx, code.ID)
	if st2.Head().Seq != uint64(accepted+1) || c.UsesLeft != protocol.MaxUses-accepted-1 {
		t.Errorf("after reopen: head %d, uses_left %d; want %d and %d", st2.Head().Seq, c.UsesLeft, accepted+1, protocol.MaxUses-accepted-1)
	}
	t.Logf("%d redemptions fitted, then %d cannot_record", accepted, full)
}
