package terminal_test

import (
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// X reports total the events since the last Z report and change nothing;
// each Z report is journaled with the next number and the totals it
// closed, and the numbering survives a restart.
func TestXAndZReports(t *testing.T) {
	camp := termtest.Campaign("c1")
	multi := termtest.Campaign("meal-10x")
	multi.Uses, multi.FaceValue = 10, 3500
	st, dir := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{camp, multi},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 1), termtest.SecretCode(2, "meal-10x", 10)}})
	clock := &termtest.Clock{T: termtest.Now}
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)

	d := eng.Commit(ctx, terminal.Input{Text: secret(2), Uses: 3})
	eng.Commit(ctx, terminal.Input{Text: secret(1)})
	eng.Commit(ctx, terminal.Input{Text: secret(1)}) // used up: refused
	clock.Add(time.Minute)
	if _, err := eng.Void(ctx, terminal.VoidRequest{Seq: d.Event.Seq, Uses: 1, Manager: "m-1", Note: "one too many"}); err != nil {
		t.Fatal(err)
	}
	want := protocol.ZReport{Number: 1, From: 1, To: 4, Redemptions: 2, Uses: 4, Value: 3*3500 + camp.FaceValue,
		Voids: 1, VoidedUses: 1, VoidedValue: 3500, Offline: 2, Refused: 1}

	for range 2 { // an X report closes nothing
		x, err := eng.XReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := x.Sum(); x.Z || x.Number != 0 || got != (protocol.ZReport{From: 1, To: 4, Redemptions: 2, Uses: 4,
			Value: want.Value, Voids: 1, VoidedUses: 1, VoidedValue: 3500, Offline: 2, Refused: 1}) {
			t.Fatalf("X report %+v sums to %+v", x, got)
		}
		if len(x.Lines) != 2 || x.Lines[0].Campaign != "c1" || x.Lines[1].Campaign != "meal-10x" {
			t.Fatalf("X lines %+v, want c1 then meal-10x", x.Lines)
		}
	}
	z, err := eng.CloseDay(ctx, "m-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := z.Sum(); !z.Z || got != want || z.Event.Seq != 5 {
		t.Fatalf("Z report %+v sums to %+v at seq %d, want %+v at seq 5", z, got, z.Event.Seq, want)
	}
	ev, err := st.LastZ(ctx)
	if err != nil || ev.Kind != protocol.KindZReport || ev.Seq != 5 || ev.Cashier != "m-1" || *ev.Z != want {
		t.Fatalf("journaled Z %+v (%+v), %v; want seq 5 by m-1 with %+v", ev, ev.Z, err, want)
	}

	x, err := eng.XReport(ctx)
	if err != nil || x.Number != 1 || x.From != 6 || x.To != 5 || len(x.Lines) != 0 || !x.Since.Equal(ev.At) {
		t.Fatalf("X after Z1: %+v, %v; want nothing since seq 5", x, err)
	}
	if _, err := eng.CloseDay(ctx, "bad id!"); err == nil {
		t.Error("CloseDay with a bad manager id succeeded")
	}
	z2, err := eng.CloseDay(ctx, "m-1") // an empty day still closes
	if err != nil || z2.Number != 2 || z2.From != 6 || z2.To != 5 || z2.Event.Seq != 6 {
		t.Fatalf("Z2 %+v, %v; want number 2 over nothing at seq 6", z2, err)
	}
	st.Close()
	st2, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	eng2 := terminal.New(st2, nil, clock.Now, terminal.Config{}, nil)
	eng2.Commit(ctx, terminal.Input{Text: secret(2)})
	z3, err := eng2.CloseDay(ctx, "m-2")
	if err != nil || z3.Number != 3 || z3.From != 7 || z3.To != 7 || z3.Sum().Redemptions != 1 {
		t.Fatalf("Z3 after a restart: %+v, %v; want number 3 over seq 7", z3, err)
	}
}
