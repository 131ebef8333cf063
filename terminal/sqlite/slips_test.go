package sqlite_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

// A failed print leaves the slip unprinted, a later print clears it, and
// neither touches the journal.
func TestSlipsUnprintedUntilPrinted(t *testing.T) {
	ctx := context.Background()
	camp := termtest.Campaign("c1")
	camp.Uses = 5
	st, _ := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 5)}})
	clock := &termtest.Clock{T: termtest.Now}
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	secret, _ := termtest.Secret(1)
	var seqs []uint64
	for range 3 {
		d := eng.Commit(ctx, terminal.Input{Text: secret})
		if !d.Accepted() {
			t.Fatalf("commit: %s %s", d.Reason, d.Detail)
		}
		seqs = append(seqs, d.Event.Seq)
	}
	day := termtest.Now.In(st.Identity().Location).Format(time.DateOnly)
	head := st.Head()
	if err := st.RecordPrint(ctx, seqs[0], clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordPrint(ctx, seqs[1], clock.Now(), errors.New("paper out")); err != nil {
		t.Fatal(err)
	}
	unprinted := func() []uint64 {
		t.Helper()
		evs, err := st.Unprinted(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		if n, err := st.UnprintedCount(ctx, day); err != nil || n != len(out) {
			t.Fatalf("UnprintedCount = %d, %v; Unprinted lists %d", n, err, len(out))
		}
		return out
	}
	if got := unprinted(); len(got) != 2 || got[0] != seqs[1] || got[1] != seqs[2] {
		t.Fatalf("unprinted %v, want %v", got, seqs[1:])
	}
	if err := st.RecordPrint(ctx, seqs[1], clock.Now(), nil); err != nil { // the reprint
		t.Fatal(err)
	}
	if err := st.RecordPrint(ctx, seqs[0], clock.Now(), nil); err != nil { // a copy
		t.Fatal(err)
	}
	if got := unprinted(); len(got) != 1 || got[0] != seqs[2] {
		t.Fatalf("unprinted after the reprint %v, want [%d]", got, seqs[2])
	}
	states, err := st.Slips(ctx, seqs[0], seqs[2])
	if err != nil {
		t.Fatal(err)
	}
	if s := states[seqs[1]]; s.Printed != 1 || s.Tries != 2 || s.Error != "" {
		t.Errorf("slip of seq %d: %+v, want printed once in 2 tries", seqs[1], s)
	}
	if s := states[seqs[0]]; s.Printed != 2 || s.Tries != 2 {
		t.Errorf("slip of seq %d: %+v, want printed twice", seqs[0], s)
	}
	if _, ok := states[seqs[2]]; ok {
		t.Errorf("slip of seq %d has a state, want none (never tried)", seqs[2])
	}
	if st.Head() != head {
		t.Errorf("the journal head moved from %+v to %+v", head, st.Head())
	}
}
