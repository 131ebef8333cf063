package hub_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func feed(t *testing.T, h *hub.Hub, terminal string, after uint64, limit int) protocol.FeedPage {
	t.Helper()
	p, err := h.Feed(ctx, terminal, &protocol.FeedRequest{Terminal: terminal, After: after, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("feed page does not validate: %v", err)
	}
	return p
}

// readFeed follows a terminal's feed from after to the end.
func readFeed(t *testing.T, h *hub.Hub, terminal string, after uint64, limit int) ([]protocol.Change, uint64) {
	t.Helper()
	var all []protocol.Change
	for {
		p := feed(t, h, terminal, after, limit)
		if p.Problem != nil {
			t.Fatalf("problem: %+v", p.Problem)
		}
		for _, c := range p.Changes {
			if c.Seq <= after {
				t.Fatalf("change %d at or below the cursor %d", c.Seq, after)
			}
			after = c.Seq
		}
		all = append(all, p.Changes...)
		if p.Next < after {
			t.Fatalf("next %d below the last change %d", p.Next, after)
		}
		after = p.Next
		if !p.More {
			return all, after
		}
	}
}

// Each store's feed holds what that store may redeem, in seq order, and
// nothing else; pushes carry the same changes live.
func TestFeedScope(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.f.Store("bj-001", "north")
	tn := c.f.Terminal("T-N", "bj-001")
	notices, stop := c.f.Hub.Subscribe(100)
	defer stop()
	c.f.Campaign("east-only", 1, func(cp *protocol.Campaign) { cp.Regions = []string{"east"} })
	east := c.f.Import("east-only", 3)
	all := c.f.Import("single", 1)
	if _, err := c.f.Hub.Lock(ctx, "sh-001", "2026-11-21"); err != nil {
		t.Fatal(err)
	}

	has := func(ch []protocol.Change, pred func(protocol.Change) bool) bool { return slices.ContainsFunc(ch, pred) }
	isCode := func(id string) func(protocol.Change) bool {
		return func(c protocol.Change) bool { return c.Code != nil && c.Code.ID == id }
	}
	isLock := func(c protocol.Change) bool { return c.Kind == protocol.ChangeLock }

	for _, limit := range []int{1, 3, 0} {
		a, _ := readFeed(t, c.f.Hub, "T-A", 0, limit)
		n, _ := readFeed(t, c.f.Hub, "T-N", 0, limit)
		if !has(a, isCode(east[0])) || has(n, isCode(east[0])) {
			t.Fatalf("limit %d: an east-only code in the east feed %v, in the north feed %v; want true, false", limit, has(a, isCode(east[0])), has(n, isCode(east[0])))
		}
		if !has(a, isCode(all[0])) || !has(n, isCode(all[0])) {
			t.Fatalf("limit %d: a chain-wide code missing from a feed", limit)
		}
		if !has(a, isLock) || has(n, isLock) {
			t.Fatalf("limit %d: sh-001's lock in its own feed %v, in bj-001's %v", limit, has(a, isLock), has(n, isLock))
		}
		b, _ := readFeed(t, c.f.Hub, "T-B", 0, limit)
		if has(b, isLock) {
			t.Fatal("sh-001's lock reached sh-002")
		}
	}

	// A redemption at A reaches B's feed and B's push, not the north store.
	_, cursor := readFeed(t, c.f.Hub, "T-B", 0, 0)
	_, ncursor := readFeed(t, c.f.Hub, "T-N", 0, 0)
	for len(notices) > 0 {
		<-notices
	}
	if r := decide(t, c, c.a, east[1], "east-only", 1); r.Reason != protocol.Accepted {
		t.Fatalf("claim: %s", r.Reason)
	}
	got, _ := readFeed(t, c.f.Hub, "T-B", cursor, 0)
	if len(got) != 1 || got[0].Kind != protocol.ChangeCodeRedeemed || got[0].Code.UsesLeft != 0 || got[0].Code.LastUsed.IsZero() {
		t.Fatalf("B's feed after A redeemed: %+v, want one code_redeemed with 0 uses left", got)
	}
	if got, _ := readFeed(t, c.f.Hub, "T-N", ncursor, 0); len(got) != 0 {
		t.Fatalf("north feed got %+v", got)
	}
	var pushed []protocol.FeedPush
	for len(notices) > 0 {
		n := <-notices
		pushed = append(pushed, n.Pushes...)
	}
	stores := []string{}
	for _, p := range pushed {
		if err := p.Validate(); err != nil {
			t.Fatalf("push does not validate: %v", err)
		}
		stores = append(stores, p.Store)
		if p.Store == "sh-002" && (p.After > cursor || p.Changes[0].Seq != got[0].Seq) {
			t.Fatalf("push to sh-002 after %d with change %d; B's cursor was %d and the change %d", p.After, p.Changes[0].Seq, cursor, got[0].Seq)
		}
	}
	slices.Sort(stores)
	if !slices.Equal(stores, []string{"sh-001", "sh-002"}) {
		t.Fatalf("pushed to %v, want sh-001 and sh-002", stores)
	}
	_ = tn
}

func TestFeedProblems(t *testing.T) {
	c := newChain(t, hub.Config{})
	if p := feed(t, c.f.Hub, "T-A", 1<<40, 0); p.Problem == nil || p.Problem.Code != protocol.ProblemCursorExpired {
		t.Fatalf("cursor ahead of the feed: %+v, want cursor_expired", p.Problem)
	}
	if p := feed(t, c.f.Hub, "T-NOBODY", 0, 0); p.Problem == nil || p.Problem.Code != protocol.ProblemUnknown {
		t.Fatalf("unknown terminal: %+v", p.Problem)
	}
	if _, err := c.f.Hub.RevokeTerminal(ctx, "T-B"); err != nil {
		t.Fatal(err)
	}
	if p := feed(t, c.f.Hub, "T-B", 0, 0); p.Problem == nil || p.Problem.Code != protocol.ProblemRevoked {
		t.Fatalf("revoked terminal: %+v", p.Problem)
	}
	if _, err := c.f.Hub.Feed(ctx, "T-A", &protocol.FeedRequest{Terminal: "T-B"}); err == nil {
		t.Fatal("a feed request naming T-B was served to T-A")
	}
}

// A snapshot comes in pages that resume, holds every code the store may
// redeem (not unused signed codes, which carry themselves), and refuses a
// resume token that is not the hub's or too old.
func TestSnapshot(t *testing.T) {
	c := newChain(t, hub.Config{ResumeTTL: time.Hour})
	var issued int
	if err := c.f.Hub.Issue(ctx, "single", hub.IssueRequest{Count: 5, Format: protocol.FormatSigned}, func(hub.IssuedCode) error {
		issued++
		return nil
	}); err != nil || issued != 5 {
		t.Fatalf("issue: %d %v", issued, err)
	}
	if err := c.f.Hub.Issue(ctx, "single", hub.IssueRequest{Count: 3, Format: protocol.FormatDynamic}, func(hub.IssuedCode) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c.a.Ingest(c.a.Redemption(c.codes[0], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
	req := &protocol.SnapshotRequest{Terminal: "T-A", Limit: 7}
	var codes []protocol.CodeState
	var first protocol.SnapshotPage
	for page := 0; ; page++ {
		p, err := c.f.Hub.Snapshot(ctx, "T-A", req)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("page %d does not validate: %v", page, err)
		}
		if p.Problem != nil || p.Page != page {
			t.Fatalf("page %d: problem %+v, page %d", page, p.Problem, p.Page)
		}
		if page == 0 {
			first = p
		}
		codes = append(codes, p.Codes...)
		if p.Last {
			break
		}
		req.Resume = p.Resume
	}
	if len(first.Stores) != 1 || len(first.Campaigns) != 2 || len(first.Keys) != 1 || first.Acked != 1 {
		t.Fatalf("first page: stores %d campaigns %d keys %d acked %d; want 1 2 1 1", len(first.Stores), len(first.Campaigns), len(first.Keys), first.Acked)
	}
	if want := 40 + 40 + 3; len(codes) != want {
		t.Fatalf("%d codes, want %d (imported and dynamic, not unused signed)", len(codes), want)
	}
	for _, cs := range codes {
		if cs.Format == protocol.FormatDynamic && len(cs.Seed) < protocol.MinSeedLen {
			t.Fatalf("dynamic code %s without its seed", cs.ID)
		}
		if cs.ID == c.codes[0] && cs.UsesLeft != 99 {
			t.Fatalf("redeemed code %s has %d uses left, want 99", cs.ID, cs.UsesLeft)
		}
	}
	for _, bad := range []string{"garbage", first.Resume[:len(first.Resume)-2] + "AA"} {
		p, err := c.f.Hub.Snapshot(ctx, "T-A", &protocol.SnapshotRequest{Terminal: "T-A", Resume: bad})
		if err != nil || p.Problem == nil || p.Problem.Code != protocol.ProblemResumeExpired {
			t.Fatalf("resume %q: %+v %v, want resume_expired", bad, p.Problem, err)
		}
	}
	p, _ := c.f.Hub.Snapshot(ctx, "T-B", &protocol.SnapshotRequest{Terminal: "T-B", Resume: first.Resume})
	if p.Problem == nil {
		t.Fatal("T-A's resume token served T-B")
	}
	c.f.Clock.Add(2 * time.Hour)
	p, _ = c.f.Hub.Snapshot(ctx, "T-A", &protocol.SnapshotRequest{Terminal: "T-A", Resume: first.Resume})
	if p.Problem == nil || p.Problem.Code != protocol.ProblemResumeExpired {
		t.Fatalf("a resume token 2 hours old: %+v", p.Problem)
	}
}
