package sqlite_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// TestEveryReasonReachable drives a real store and engine into each reason
// of the closed list, and fails if a reason has no case.
func TestEveryReasonReachable(t *testing.T) {
	secret1, _ := termtest.Secret(1)
	secret2, _ := termtest.Secret(2)
	with := func(mod func(*protocol.Campaign)) []protocol.Campaign {
		c := termtest.Campaign("c1")
		if mod != nil {
			mod(&c)
		}
		return []protocol.Campaign{c}
	}
	code := func(mod func(*protocol.CodeState)) []protocol.CodeState {
		c := termtest.SecretCode(1, "c1", 1)
		if mod != nil {
			mod(&c)
		}
		return []protocol.CodeState{c, termtest.SecretCode(2, "c1", 1)}
	}
	forger := func() protocol.SigningKey {
		s := sha256.Sum256([]byte("forger"))
		k := termtest.Key
		k.Private = ed25519.NewKeyFromSeed(s[:])
		return k
	}()
	type step struct {
		in      string
		advance time.Duration
	}
	tests := []struct {
		reason protocol.Reason
		snap   termtest.Snapshot
		cfg    terminal.Config
		before []step // scans before the one that must give reason
		in     string
		prep   func(t *testing.T, st *sqlite.Store)
	}{
		{reason: protocol.Accepted, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(nil)}, in: secret1},
		{reason: protocol.UnknownCode, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(nil)}, in: "CARD99999999"},
		{reason: protocol.BadSignature, snap: termtest.Snapshot{Campaigns: with(nil)}, in: func() string {
			s, err := forger.Sign(protocol.SignedCode{ID: "CFORGED1", Campaign: "c1", ValidFrom: termtest.Now.Add(-time.Hour),
				ValidUntil: termtest.Now.Add(time.Hour), Uses: 1}, termtest.Now)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
		{reason: protocol.Revoked, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(func(c *protocol.CodeState) { c.Status = protocol.StatusRevoked })}, in: secret1},
		{reason: protocol.Blocked, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(func(c *protocol.CodeState) { c.Status = protocol.StatusBlocked })}, in: secret1},
		{reason: protocol.Expired, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.ValidUntil = termtest.Now.Add(-time.Minute) }), Codes: code(nil)}, in: secret1},
		{reason: protocol.NotYetValid, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.ValidFrom = termtest.Now.Add(time.Minute) }), Codes: code(nil)}, in: secret1},
		{reason: protocol.OutsideHours, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.Hours = []string{"17:00-21:00"} }), Codes: code(nil)}, in: secret1},
		{reason: protocol.WrongStore, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.Stores = []string{"bj-001"} }), Codes: code(nil)}, in: secret1},
		{reason: protocol.UsedUp, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(func(c *protocol.CodeState) { c.UsesLeft = 0 })}, in: secret1},
		{reason: protocol.TooSoon, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.Uses, c.MinInterval = 5, protocol.Duration(time.Hour) }),
			Codes: code(func(c *protocol.CodeState) { c.Uses, c.UsesLeft = 5, 5 })}, before: []step{{secret1, 10 * time.Minute}}, in: secret1},
		{reason: protocol.OfflineNotAllowed, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.Offline = protocol.OfflinePolicy{} }), Codes: code(nil)}, in: secret1},
		{reason: protocol.OfflineLimit, snap: termtest.Snapshot{Campaigns: with(func(c *protocol.Campaign) { c.Offline.MaxCount = 1 }), Codes: code(nil)},
			before: []step{{secret1, time.Second}}, in: secret2},
		{reason: protocol.RateLimited, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(nil)}, cfg: terminal.Config{FailureLimit: 3},
			before: []step{{"CARD90000001", time.Second}, {"CARD90000002", time.Second}, {"CARD90000003", time.Second}}, in: secret1},
		{reason: protocol.Malformed, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(nil)}, in: "!!?? not a code"},
		{reason: protocol.CannotRecord, snap: termtest.Snapshot{Campaigns: with(nil), Codes: code(nil)}, in: secret1,
			prep: func(t *testing.T, st *sqlite.Store) {
				if err := st.SetReadOnly(context.Background(), true); err != nil {
					t.Fatal(err)
				}
			}},
	}
	covered := map[protocol.Reason]bool{}
	for _, tt := range tests {
		covered[tt.reason] = true
		t.Run(string(tt.reason), func(t *testing.T) {
			ctx := context.Background()
			st, _ := termtest.Open(t, tt.snap)
			clock := &termtest.Clock{T: termtest.Now}
			eng := terminal.New(st, nil, clock.Now, tt.cfg, nil)
			for _, s := range tt.before {
				eng.Commit(ctx, terminal.Input{Text: s.in, Entry: protocol.EntryScanned})
				clock.Add(s.advance)
			}
			headBefore := st.Head()
			if tt.prep != nil {
				tt.prep(t, st)
			}
			d := eng.Commit(ctx, terminal.Input{Text: tt.in, Entry: protocol.EntryScanned, Cashier: "c-01"})
			if d.Reason != tt.reason {
				t.Fatalf("Commit(%.24q) = %s (%s), want %s", tt.in, d.Reason, d.Detail, tt.reason)
			}
			if tt.reason == protocol.CannotRecord {
				if d.Err == nil || d.Event != (protocol.EventRef{}) {
					t.Errorf("cannot_record decision has err %v and event %v; want an error and no event", d.Err, d.Event)
				}
				if st.Head() != headBefore {
					t.Errorf("journal head moved from %d to %d on a failed write", headBefore.Seq, st.Head().Seq)
				}
				_, id := termtest.Secret(1)
				c, err := st.CodeByID(ctx, id)
				if err != nil || c.UsesLeft != 1 {
					t.Errorf("code after a failed write: uses_left %d, %v; want 1 (nothing half-written)", c.UsesLeft, err)
				}
				return
			}
			if d.Event.Seq != st.Head().Seq || d.Err != nil {
				t.Errorf("decision event %v, err %v; want the journal head %d", d.Event, d.Err, st.Head().Seq)
			}
		})
	}
	for _, r := range protocol.Reasons() {
		if !covered[r] {
			t.Errorf("reason %s has no reachability case", r)
		}
	}
}

// TestReadOnlyThenRecovers checks that after a failed write the store
// keeps working once writes are possible again, and the journal verifies.
func TestReadOnlyThenRecovers(t *testing.T) {
	ctx := context.Background()
	st, dir := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1")},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 1)}})
	eng := terminal.New(st, nil, func() time.Time { return termtest.Now }, terminal.Config{}, nil)
	if err := st.SetReadOnly(ctx, true); err != nil {
		t.Fatal(err)
	}
	secret, _ := termtest.Secret(1)
	if d := eng.Commit(ctx, terminal.Input{Text: secret}); d.Reason != protocol.CannotRecord {
		t.Fatalf("read-only: %s, want cannot_record", d.Reason)
	}
	if err := st.SetReadOnly(ctx, false); err != nil {
		t.Fatal(err)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret}); d.Reason != protocol.Accepted {
		t.Fatalf("writable again: %s (%s), want accepted", d.Reason, d.Detail)
	}
	st.Close()
	st2, err := reopen(t, dir)
	if err != nil {
		t.Fatalf("reopen after a failed write: %v", err)
	}
	if st2.Head().Seq != 1 {
		t.Errorf("head %d, want 1", st2.Head().Seq)
	}
}
