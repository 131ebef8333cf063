package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

func codeChange(seq uint64, kind protocol.ChangeKind, c protocol.CodeState) protocol.Change {
	return protocol.Change{Seq: seq, Kind: kind, At: termtest.Now, Code: &c}
}

func TestApplyFeed(t *testing.T) {
	ctx := context.Background()
	st, dir := redeemSome(t) // secret 1: 10 uses, 3 taken and 1 voided here, none acked
	_, id1 := termtest.Secret(1)
	_, id2 := termtest.Secret(2)
	hub1 := termtest.SecretCode(1, "c1", 10)
	hub1.UsesLeft = 9 // another store took one; the hub has not seen ours
	revoked := termtest.SecretCode(2, "c1", 10)
	revoked.Status = protocol.StatusRevoked
	camp := termtest.Campaign("c2")
	lock := protocol.SettlementLock{Store: termtest.Store, Day: "2026-11-01", At: termtest.Now}
	changes := []protocol.Change{
		codeChange(3, protocol.ChangeCodeRedeemed, hub1),
		{Seq: 5, Kind: protocol.ChangeCampaign, At: termtest.Now, Campaign: &camp},
		codeChange(8, protocol.ChangeCodeRevoked, revoked),
		{Seq: 9, Kind: protocol.ChangeLock, At: termtest.Now, Lock: &lock},
		{Seq: 10, Kind: protocol.ChangeStore, At: termtest.Now, Store: &protocol.Store{ID: termtest.Store, Name: "x", Region: "north", Timezone: "Asia/Urumqi"}},
	}
	n, err := st.ApplyFeed(ctx, 0, 12, changes)
	if err != nil || n != 5 {
		t.Fatalf("apply: %d, %v", n, err)
	}
	if c, _ := st.FeedCursor(ctx); c != 12 {
		t.Errorf("cursor %d, want the page's next 12", c)
	}
	c1, _ := st.CodeByID(ctx, id1)
	if c1.UsesLeft != 7 {
		t.Errorf("secret 1 uses left %d, want the hub's 9 less the 2 net uses not yet acked = 7", c1.UsesLeft)
	}
	if c1.LastUsed.IsZero() {
		t.Error("the local last use was forgotten")
	}
	if c2, _ := st.CodeByID(ctx, id2); c2.Status != protocol.StatusRevoked {
		t.Errorf("secret 2 status %s, want revoked", c2.Status)
	}
	if _, err := st.Campaign(ctx, "c2"); err != nil {
		t.Errorf("campaign c2 not cached: %v", err)
	}
	if ok, _ := st.Settled(ctx, termtest.Store, "2026-11-01"); !ok {
		t.Error("lock not applied")
	}
	if id := st.Identity(); id.Region != "north" || id.Location.String() != "Asia/Urumqi" {
		t.Errorf("own store change not applied to the identity: %+v", id)
	}

	// Again: nothing new. A push that skips a change the cache lacks is a gap
	// and applies nothing.
	if n, err := st.ApplyFeed(ctx, 0, 0, changes); err != nil || n != 0 {
		t.Errorf("re-apply: %d, %v", n, err)
	}
	hub1.UsesLeft = 1
	if _, err := st.ApplyFeed(ctx, 13, 0, []protocol.Change{codeChange(14, protocol.ChangeCodeRedeemed, hub1)}); !errors.Is(err, sqlite.ErrFeedGap) {
		t.Errorf("gap: %v", err)
	}
	if c, _ := st.CodeByID(ctx, id1); c.UsesLeft != 7 {
		t.Errorf("a refused push changed the code: %d", c.UsesLeft)
	}
	// An invalid change anywhere in the list applies none of it.
	bad := codeChange(20, protocol.ChangeCodeRedeemed, hub1)
	bad.Code.UsesLeft = 99
	if _, err := st.ApplyFeed(ctx, 12, 0, []protocol.Change{codeChange(15, protocol.ChangeCodeRedeemed, hub1), bad}); err == nil {
		t.Error("invalid change applied")
	}
	if c, _ := st.FeedCursor(ctx); c != 12 {
		t.Errorf("cursor moved to %d by a refused list", c)
	}
	// Once the hub acks our events, its count stands alone.
	head := st.Head()
	if err := st.Acknowledge(ctx, head.Seq, head.Hash); err != nil {
		t.Fatal(err)
	}
	hub1.UsesLeft = 6
	if _, err := st.ApplyFeed(ctx, 12, 0, []protocol.Change{codeChange(16, protocol.ChangeCodeRedeemed, hub1)}); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.CodeByID(ctx, id1); c.UsesLeft != 6 {
		t.Errorf("after the ack: uses left %d, want the hub's 6", c.UsesLeft)
	}
	// The cursor survives a restart.
	st.Close()
	st2, err := reopen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if c, _ := st2.FeedCursor(ctx); c != 16 {
		t.Errorf("cursor after restart %d, want 16", c)
	}
}

func TestSnapshotStagedAndResumed(t *testing.T) {
	ctx := context.Background()
	st, dir := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1")}})
	var codes []protocol.CodeState
	for i := 1; i <= 25; i++ {
		codes = append(codes, termtest.SecretCode(i, "c1", 1))
	}
	file := termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1")}, Codes: codes, AsOf: 40}.File(t, 10)
	var pages []protocol.SnapshotPage
	for _, line := range bytes.Split(bytes.TrimSpace(file), []byte("\n")) {
		var p protocol.SnapshotPage
		if err := protocol.Decode(line, &p); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if len(pages) != 3 {
		t.Fatalf("%d pages", len(pages))
	}
	if err := st.StageSnapshot(ctx, &pages[1]); err == nil {
		t.Error("page 1 staged without page 0")
	}
	for _, p := range pages[:2] {
		if err := st.StageSnapshot(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	// The pull is cut off here; after a restart it resumes at page 2.
	st.Close()
	st, err := reopen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pr, err := st.SnapshotProgress(ctx)
	if err != nil || pr.Pages != 2 || pr.Resume != pages[1].Resume || pr.Snapshot != "termtest" {
		t.Fatalf("progress %+v, %v", pr, err)
	}
	other := pages[2]
	other.Snapshot = "other"
	if err := st.StageSnapshot(ctx, &other); err == nil {
		t.Error("a page of another snapshot was staged")
	}
	if err := st.StageSnapshot(ctx, &pages[2]); err != nil {
		t.Fatal(err)
	}
	stats, err := st.FinishSnapshot(ctx)
	if err != nil || stats.Codes != 25 || stats.Pages != 3 || stats.AsOf != 40 {
		t.Fatalf("finish: %+v, %v", stats, err)
	}
	if c, _ := st.FeedCursor(ctx); c != 40 {
		t.Errorf("cursor %d after the snapshot, want 40", c)
	}
	if pr, _ := st.SnapshotProgress(ctx); pr.Pages != 0 {
		t.Errorf("stage not cleared: %+v", pr)
	}
	_, id := termtest.Secret(25)
	if _, err := st.CodeByID(ctx, id); err != nil {
		t.Errorf("code of the last page: %v", err)
	}
}

func TestWipeOnRevoke(t *testing.T) {
	ctx := context.Background()
	st, dir := redeemSome(t)
	if err := st.Wipe(ctx, "revoked by HQ at 2026-11-22 10:00"); err != nil {
		t.Fatal(err)
	}
	_, id1 := termtest.Secret(1)
	if _, err := st.CodeByID(ctx, id1); !errors.Is(err, terminal.ErrNotFound) {
		t.Errorf("code still cached: %v", err)
	}
	if _, err := st.ApplyFeed(ctx, 0, 0, []protocol.Change{codeChange(1, protocol.ChangeCodeIssued, termtest.SecretCode(1, "c1", 1))}); !errors.Is(err, sqlite.ErrRevoked) {
		t.Errorf("feed applied after the wipe: %v", err)
	}
	st.Close()
	st, err := reopen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Revoked() == "" {
		t.Error("revocation forgotten across a restart")
	}
	if st.Head().Seq != 5 {
		t.Errorf("journal head %d after the wipe, want 5 (the journal stays)", st.Head().Seq)
	}
	// No dynamic seed or secret hash is left in the file.
	h := termtest.SecretCode(1, "c1", 1).SecretHash
	for _, f := range []string{sqlite.DBFile, sqlite.DBFile + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, h[:]) {
			t.Errorf("a card-secret hash survived the wipe in %s", f)
		}
	}
	eng := terminal.New(st, nil, time.Now, terminal.Config{}, nil)
	s1, _ := termtest.Secret(1)
	if d := eng.Commit(ctx, terminal.Input{Text: s1}); d.Reason != protocol.CannotRecord || !strings.Contains(d.Detail, "revoked") {
		t.Errorf("a revoked terminal decided %s (%s), want cannot_record: revoked", d.Reason, d.Detail)
	}
}
