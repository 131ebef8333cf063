package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// byChange is a code_redeemed (or, for a void, code_voided) change of
// secret n naming event terminal:seq of store, made at terminal time at.
func byChange(seq uint64, n int, terminal, store string, evSeq uint64, kind protocol.EventKind, uses int, at time.Time) protocol.Change {
	code := termtest.SecretCode(n, "c1", 10)
	ck := protocol.ChangeCodeRedeemed
	if kind == protocol.KindVoid {
		ck = protocol.ChangeCodeVoided
	}
	return protocol.Change{Seq: seq, Kind: ck, At: at.Add(time.Second), Code: &code,
		By: &protocol.ChangeOrigin{Terminal: terminal, Store: store, Seq: evSeq, Kind: kind, Uses: uses,
			Amount: 2500 * int64(uses), Mode: protocol.ModeOnline, Cashier: "c-7", At: at}}
}

func openNeighbours(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	camp := termtest.Campaign("c1")
	camp.Name, camp.Uses = "午餐次卡", 10
	return termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 10), termtest.SecretCode(2, "c1", 10)}})
}

func neighbours(t *testing.T, st *sqlite.Store, day string) []sqlite.Neighbour {
	t.Helper()
	got, err := st.Neighbours(context.Background(), day)
	if err != nil {
		t.Fatalf("neighbours of %s: %v", day, err)
	}
	return got
}

func refs(ns []sqlite.Neighbour) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(protocol.EventRef{Terminal: n.Terminal, Seq: n.Seq}.String() + " ")
	}
	return strings.TrimSpace(b.String())
}

// Only this store's other terminals are listed, by the store's business
// day, newest first, with the campaign's name and the code id.
func TestNeighbours(t *testing.T) {
	ctx := context.Background()
	st, dir := openNeighbours(t)
	_, id1 := termtest.Secret(1)
	sh := func(h, m int) time.Time { // Shanghai wall time on 2026-11-22
		return time.Date(2026, 11, 22, h, m, 0, 0, time.FixedZone("CST", 8*3600))
	}
	plain := termtest.SecretCode(2, "c1", 10)
	changes := []protocol.Change{
		byChange(3, 1, "T-SH001-2", termtest.Store, 40, protocol.KindRedemption, 2, sh(11, 0)),
		byChange(4, 1, termtest.Terminal, termtest.Store, 9, protocol.KindRedemption, 1, sh(11, 5)), // our own
		byChange(5, 1, "T-SH002-1", "sh-002", 3, protocol.KindRedemption, 1, sh(11, 10)),            // another store
		codeChange(6, protocol.ChangeCodeRedeemed, plain),                                           // no by
		byChange(7, 1, "T-SH001-3", termtest.Store, 12, protocol.KindRedemption, 1, sh(0, 10)),      // just after midnight
		byChange(8, 1, "T-SH001-3", termtest.Store, 11, protocol.KindRedemption, 1, sh(-1, 50)),     // the day before
		byChange(9, 1, "T-SH001-2", termtest.Store, 41, protocol.KindVoid, 1, sh(11, 30)),
	}
	if n, err := st.ApplyFeed(ctx, 0, 0, changes); err != nil || n != len(changes) {
		t.Fatalf("apply: %d, %v", n, err)
	}
	got := neighbours(t, st, "2026-11-22")
	if want := "T-SH001-2:41 T-SH001-2:40 T-SH001-3:12"; refs(got) != want {
		t.Fatalf("neighbours of the 22nd: %s, want %s", refs(got), want)
	}
	want := sqlite.Neighbour{Terminal: "T-SH001-2", Seq: 40, Kind: protocol.KindRedemption, Code: id1, Campaign: "c1",
		CampaignName: "午餐次卡", Cashier: "c-7", Uses: 2, Amount: 5000, Mode: protocol.ModeOnline, At: sh(11, 0)}
	if g := got[1]; !g.At.Equal(want.At) || g.At.Location().String() != "Asia/Shanghai" {
		t.Errorf("at %s, want %s in Asia/Shanghai", g.At, want.At)
	} else {
		g.At = want.At
		if g != want {
			t.Errorf("row\n got %+v\nwant %+v", g, want)
		}
	}
	if got[0].Kind != protocol.KindVoid || got[0].Uses != 1 {
		t.Errorf("newest %+v, want the void of 1 use", got[0])
	}
	if got := neighbours(t, st, "2026-11-21"); refs(got) != "T-SH001-3:11" {
		t.Errorf("neighbours of the 21st: %s, want T-SH001-3:11", refs(got))
	}
	if got := neighbours(t, st, "2026-11-23"); got == nil || len(got) != 0 {
		t.Errorf("neighbours of the 23rd: %v, want an empty list", got)
	}
	if _, err := st.Neighbours(ctx, "22/11/2026"); err == nil || !strings.Contains(err.Error(), "want YYYY-MM-DD") {
		t.Errorf("a bad day: %v, want a YYYY-MM-DD error", err)
	}

	// A later change about the same event replaces its row; an undone claim
	// removes it.
	again := byChange(10, 1, "T-SH001-2", termtest.Store, 40, protocol.KindRedemption, 1, sh(11, 0))
	again.By.Mode = protocol.ModeOffline
	undone := byChange(11, 1, "T-SH001-3", termtest.Store, 12, protocol.KindRedemption, 1, sh(0, 10))
	undone.Kind, undone.By.Undone = protocol.ChangeCodeVoided, true
	if _, err := st.ApplyFeed(ctx, 9, 0, []protocol.Change{again, undone}); err != nil {
		t.Fatal(err)
	}
	got = neighbours(t, st, "2026-11-22")
	if refs(got) != "T-SH001-2:41 T-SH001-2:40" || got[1].Uses != 1 || got[1].Mode != protocol.ModeOffline {
		t.Errorf("after a replacement and an undo: %s %+v, want T-SH001-2:41 T-SH001-2:40 with 1 use offline", refs(got), got)
	}

	// The rows survive a restart.
	st.Close()
	st2, err := reopen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if got := neighbours(t, st2, "2026-11-22"); refs(got) != "T-SH001-2:41 T-SH001-2:40" {
		t.Errorf("after a restart: %s", refs(got))
	}
}

// A list of changes that fails anywhere records no neighbour and moves no
// cursor; a revoked terminal shows none.
func TestNeighboursAtomicAndRevoked(t *testing.T) {
	ctx := context.Background()
	st, _ := openNeighbours(t)
	good := byChange(3, 1, "T-SH001-2", termtest.Store, 40, protocol.KindRedemption, 2, termtest.Now)
	bad := byChange(4, 1, "T-SH001-2", termtest.Store, 41, protocol.KindRedemption, 1, termtest.Now)
	bad.Kind = protocol.ChangeCodeIssued // by on a kind that may not carry it
	if _, err := st.ApplyFeed(ctx, 0, 0, []protocol.Change{good, bad}); err == nil || !strings.Contains(err.Error(), "by is set only") {
		t.Fatalf("apply of an invalid list: %v, want the by error", err)
	}
	if got := neighbours(t, st, "2026-11-22"); len(got) != 0 {
		t.Errorf("a refused list recorded %s", refs(got))
	}
	if c, _ := st.FeedCursor(ctx); c != 0 {
		t.Errorf("cursor %d after a refused list, want 0", c)
	}
	if _, err := st.ApplyFeed(ctx, 0, 0, []protocol.Change{good}); err != nil {
		t.Fatal(err)
	}
	if got := neighbours(t, st, "2026-11-22"); len(got) != 1 {
		t.Fatalf("neighbours %s, want T-SH001-2:40", refs(got))
	}
	if err := st.Wipe(ctx, "revoked by HQ"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Neighbours(ctx, "2026-11-22"); !errors.Is(err, sqlite.ErrRevoked) {
		t.Errorf("neighbours of a revoked terminal: %v, want ErrRevoked", err)
	}
}

// Rows older than NeighbourKeep before the newest change are pruned as
// changes are applied.
func TestNeighboursPruned(t *testing.T) {
	ctx := context.Background()
	st, _ := openNeighbours(t)
	old := byChange(3, 1, "T-SH001-2", termtest.Store, 40, protocol.KindRedemption, 1, termtest.Now)
	kept := byChange(4, 1, "T-SH001-2", termtest.Store, 41, protocol.KindRedemption, 1, termtest.Now.Add(2*time.Hour))
	if _, err := st.ApplyFeed(ctx, 0, 0, []protocol.Change{old, kept}); err != nil {
		t.Fatal(err)
	}
	later := termtest.Now.Add(sqlite.NeighbourKeep + time.Hour)
	next := byChange(5, 2, "T-SH001-2", termtest.Store, 900, protocol.KindRedemption, 1, later)
	if _, err := st.ApplyFeed(ctx, 4, 0, []protocol.Change{next}); err != nil {
		t.Fatal(err)
	}
	if got := neighbours(t, st, "2026-11-22"); refs(got) != "T-SH001-2:41" {
		t.Errorf("the 22nd after a change a week later: %s, want only T-SH001-2:41", refs(got))
	}
	if got := neighbours(t, st, later.Format(time.DateOnly)); refs(got) != "T-SH001-2:900" {
		t.Errorf("the later day: %s", refs(got))
	}
}

// BenchmarkNeighbours: a busy day's list (5000 rows of other terminals,
// a week of them kept) read back newest first.
func BenchmarkNeighbours(b *testing.B) {
	ctx := context.Background()
	camp := termtest.Campaign("c1")
	camp.Uses = 10
	st, _ := termtest.Open(b, termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 10)}})
	const perDay, days = 5000, 7
	seq := uint64(0)
	start := termtest.Now.Add(-days * 24 * time.Hour)
	for d := range days {
		page := make([]protocol.Change, 0, perDay)
		for i := range perDay {
			seq++
			at := start.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*10*time.Second)
			page = append(page, byChange(seq, 1, fmt.Sprintf("T-SH001-%d", 2+i%4), termtest.Store, seq, protocol.KindRedemption, 1, at))
		}
		if _, err := st.ApplyFeed(ctx, seq-perDay, 0, page); err != nil {
			b.Fatal(err)
		}
	}
	day := start.Add(3 * 24 * time.Hour).In(st.Identity().Location).Format(time.DateOnly)
	b.ResetTimer()
	for b.Loop() {
		ns, err := st.Neighbours(ctx, day)
		if err != nil || len(ns) == 0 {
			b.Fatalf("%d rows, %v", len(ns), err)
		}
	}
}

// BenchmarkApplyFeedNeighbours: a feed page of 100 code changes, each
// naming another terminal's redemption, applied with its neighbour rows.
func BenchmarkApplyFeedNeighbours(b *testing.B) {
	ctx := context.Background()
	camp := termtest.Campaign("c1")
	camp.Uses = 10
	st, _ := termtest.Open(b, termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 10)}})
	seq := uint64(0)
	for b.Loop() {
		page := make([]protocol.Change, 100)
		for i := range page {
			seq++
			page[i] = byChange(seq, 1, "T-SH001-2", termtest.Store, seq, protocol.KindRedemption, 1, termtest.Now.Add(time.Duration(seq)*time.Second))
		}
		if _, err := st.ApplyFeed(ctx, seq-100, 0, page); err != nil {
			b.Fatal(err)
		}
	}
}
