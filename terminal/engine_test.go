package terminal_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

var ctx = context.Background()

func fixture(t *testing.T, mods ...func(*termtest.Snapshot)) (*sqlite.Store, *termtest.Clock) {
	t.Helper()
	camp := termtest.Campaign("c1")
	multi := termtest.Campaign("meal-10x")
	multi.Uses, multi.FaceValue = 10, 3500
	snap := termtest.Snapshot{
		Campaigns: []protocol.Campaign{camp, multi},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 1), termtest.SecretCode(2, "meal-10x", 10),
			termtest.DynamicCode("D1", "meal-10x", 10)},
	}
	for _, m := range mods {
		m(&snap)
	}
	st, _ := termtest.Open(t, snap)
	return st, &termtest.Clock{T: termtest.Now}
}

func secret(n int) string { s, _ := termtest.Secret(n); return s }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func TestOnlineClaim(t *testing.T) {
	tests := []struct {
		name     string
		link     *termtest.Link
		reason   protocol.Reason
		mode     protocol.Mode
		usesLeft int
		online   bool // engine online after the scan
	}{
		{"hub says yes", &termtest.Link{Reply: protocol.ClaimReply{Reason: protocol.Accepted, UsesLeft: 0}}, protocol.Accepted, protocol.ModeOnline, 0, true},
		{"hub says used up", &termtest.Link{Reply: protocol.ClaimReply{Reason: protocol.UsedUp, UsesLeft: 0,
			LastUse: &protocol.Use{Store: "sh-002", Terminal: "T-SH002-1", At: termtest.Now.Add(-time.Hour)}}}, protocol.UsedUp, protocol.ModeOnline, 0, true},
		{"hub says revoked", &termtest.Link{Reply: protocol.ClaimReply{Reason: protocol.Revoked, UsesLeft: 1}}, protocol.Revoked, protocol.ModeOnline, 1, true},
		{"hub times out", &termtest.Link{Hang: true}, protocol.Accepted, protocol.ModeOffline, 0, false},
		{"link fails", &termtest.Link{Err: errors.New("connection refused")}, protocol.Accepted, protocol.ModeOffline, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, clock := fixture(t)
			eng := terminal.New(st, tt.link, clock.Now, terminal.Config{ClaimTimeout: 20 * time.Millisecond}, nil)
			d := eng.Commit(ctx, terminal.Input{Text: secret(1), Entry: protocol.EntryScanned})
			if d.Reason != tt.reason || d.Mode != tt.mode || d.UsesLeft != tt.usesLeft {
				t.Fatalf("decision %s/%s uses left %d (%s), want %s/%s uses left %d", d.Reason, d.Mode, d.UsesLeft, d.Detail, tt.reason, tt.mode, tt.usesLeft)
			}
			if len(tt.link.Claims) != 1 || tt.link.Claims[0].Seq != d.Event.Seq || tt.link.Claims[0].Kind != protocol.KindRedemption {
				t.Fatalf("claims %+v, want one for seq %d", tt.link.Claims, d.Event.Seq)
			}
			if eng.Online() != tt.online {
				t.Errorf("Online() = %v, want %v", eng.Online(), tt.online)
			}
			ev, _, err := st.Redemption(ctx, d.Event.Seq)
			if err != nil {
				t.Fatal(err)
			}
			wantKind := protocol.KindRedemption
			if tt.reason != protocol.Accepted {
				wantKind = protocol.KindAttempt
			}
			if ev.Kind != wantKind || ev.Reason != tt.reason || ev.Mode != tt.mode {
				t.Errorf("journaled %s/%s/%s, want %s/%s/%s", ev.Kind, ev.Reason, ev.Mode, wantKind, tt.reason, tt.mode)
			}
			if p, _ := st.Pending(ctx); len(p) != 0 {
				t.Errorf("%d pending decisions left", len(p))
			}
			// What the hub said sticks in the cache.
			_, id := termtest.Secret(1)
			c, _ := st.CodeByID(ctx, id)
			if tt.reason == protocol.Revoked && c.Status != protocol.StatusRevoked {
				t.Errorf("code status %s after the hub said revoked", c.Status)
			}
		})
	}
}

// TestOfflineAfterTimeoutNoStall: after one unanswered claim the next scan
// decides offline at once instead of waiting for the hub again.
func TestOfflineAfterTimeoutNoStall(t *testing.T) {
	st, clock := fixture(t)
	link := &termtest.Link{Hang: true}
	eng := terminal.New(st, link, clock.Now, terminal.Config{ClaimTimeout: 20 * time.Millisecond}, nil)
	eng.Commit(ctx, terminal.Input{Text: secret(1)})
	d := eng.Commit(ctx, terminal.Input{Text: secret(2)})
	if d.Reason != protocol.Accepted || d.Mode != protocol.ModeOffline || len(link.Claims) != 1 {
		t.Fatalf("second scan %s/%s after %d claims; want accepted offline without a second claim", d.Reason, d.Mode, len(link.Claims))
	}
	link.Hang = false
	link.Reply = protocol.ClaimReply{Reason: protocol.Accepted, UsesLeft: 8}
	eng.SetReachable(true)
	d = eng.Commit(ctx, terminal.Input{Text: secret(2)})
	if d.Mode != protocol.ModeOnline || len(link.Claims) != 2 {
		t.Errorf("after the hub is back: mode %s, %d claims", d.Mode, len(link.Claims))
	}
	if err := eng.ForceOffline(ctx, "bad manager!", true, ""); err == nil {
		t.Error("force offline by an invalid manager id")
	}
	if err := eng.ForceOffline(ctx, "m-1", true, "router being replaced"); err != nil {
		t.Fatal(err)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2)}); d.Mode != protocol.ModeOffline || len(link.Claims) != 2 {
		t.Errorf("forced offline: mode %s, %d claims", d.Mode, len(link.Claims))
	}
	// The switch survives a restart (a new engine on the same store) and is
	// logged with who and why.
	eng2 := terminal.New(st, link, clock.Now, terminal.Config{}, nil)
	eng2.SetReachable(true)
	if eng2.Online() || !eng2.ForcedOffline() {
		t.Error("forced offline forgotten by a new engine")
	}
	if err := eng2.ForceOffline(ctx, "m-2", false, ""); err != nil {
		t.Fatal(err)
	}
	if !eng2.Online() {
		t.Error("not online after the manager switched back")
	}
	ml, err := st.ModeLog(ctx)
	if err != nil || len(ml) != 2 || ml[0].Manager != "m-1" || !ml[0].Offline || ml[0].Note != "router being replaced" || ml[1].Offline {
		t.Errorf("mode log %+v, %v", ml, err)
	}
}

func TestOfflineCaps(t *testing.T) {
	st, clock := fixture(t, func(s *termtest.Snapshot) {
		s.Campaigns[1].Offline = protocol.OfflinePolicy{Allow: true, MaxValue: 3500 * 3, MaxAge: protocol.Duration(24 * time.Hour)}
	})
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	// Never in contact with a hub: the age cap refuses.
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2)}); d.Reason != protocol.OfflineLimit {
		t.Fatalf("never-contacted terminal: %s, want offline_limit", d.Reason)
	}
	if err := st.SetLastContact(ctx, clock.T.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2), Uses: 3}); d.Reason != protocol.Accepted {
		t.Fatalf("within caps: %s (%s)", d.Reason, d.Detail)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2)}); d.Reason != protocol.OfflineLimit {
		t.Fatalf("over the value cap: %s (%s)", d.Reason, d.Detail)
	}
	if n, v := st.OfflineExposure("meal-10x"); n != 1 || v != 3500*3 {
		t.Errorf("exposure %d, %d; want 1, %d", n, v, 3500*3)
	}
	clock.Add(24 * time.Hour)
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1)}); d.Reason != protocol.Accepted {
		t.Errorf("campaign without caps: %s", d.Reason)
	}
}

func TestMultiUseAndDynamic(t *testing.T) {
	st, clock := fixture(t)
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	p, err := eng.Prepare(ctx, terminal.Input{Text: secret(2), Uses: 4})
	if err != nil || p.Reason != protocol.Accepted || p.Amount != 4*3500 || p.Code.UsesLeft != 10 {
		t.Fatalf("Prepare: %+v, %v", p, err)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2), Uses: 4}); d.UsesLeft != 6 {
		t.Fatalf("after 4 uses: %d left (%s)", d.UsesLeft, d.Reason)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2), Uses: 7}); d.Reason != protocol.UsedUp {
		t.Errorf("7 of 6 uses: %s", d.Reason)
	}
	if p, _ := eng.Prepare(ctx, terminal.Input{Text: secret(2)}); p.Code.UsesLeft != 6 {
		t.Errorf("Prepare changed state: %d left", p.Code.UsesLeft)
	}
	dyn := protocol.DynamicAt("D1", termtest.Seed, clock.T)
	if d := eng.Commit(ctx, terminal.Input{Text: dyn}); d.Reason != protocol.Accepted || d.Step != protocol.TOTPStepAt(clock.T) {
		t.Fatalf("dynamic: %s step %d", d.Reason, d.Step)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: dyn}); d.Reason != protocol.TooSoon {
		t.Errorf("same dynamic value again: %s, want too_soon", d.Reason)
	}
	clock.Add(5 * time.Minute)
	if d := eng.Commit(ctx, terminal.Input{Text: dyn}); d.Reason != protocol.Expired {
		t.Errorf("a 5-minute-old screenshot: %s, want expired", d.Reason)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: protocol.DynamicAt("D1", termtest.Seed, clock.T)}); d.Reason != protocol.Accepted {
		t.Errorf("fresh value: %s", d.Reason)
	}
	signed := termtest.Signed(t, "CSIGNED1", "meal-10x", 2)
	for i, want := range []protocol.Reason{protocol.Accepted, protocol.Accepted, protocol.UsedUp} {
		if d := eng.Commit(ctx, terminal.Input{Text: signed}); d.Reason != want {
			t.Errorf("signed scan %d: %s, want %s", i+1, d.Reason, want)
		}
	}
}

func TestVoid(t *testing.T) {
	st, clock := fixture(t, func(s *termtest.Snapshot) {
		s.Locks = []protocol.SettlementLock{{Store: termtest.Store, Day: "2026-11-20", At: termtest.Now}}
	})
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	d := eng.Commit(ctx, terminal.Input{Text: secret(2), Uses: 3})
	clock.Add(time.Minute)
	v, err := eng.Void(ctx, terminal.VoidRequest{Seq: d.Event.Seq, Uses: 2, Manager: "m-1", Note: "wrong item"})
	if err != nil || v.UsesLeft != 9 || v.Amount != 7000 {
		t.Fatalf("void 2 of 3: %+v, %v", v, err)
	}
	ev, _, _ := st.Redemption(ctx, v.Event.Seq)
	if ev.Kind != protocol.KindVoid || ev.Voids.Seq != d.Event.Seq {
		t.Errorf("void event %+v", ev)
	}
	if _, voided, _ := st.Redemption(ctx, d.Event.Seq); voided != 2 {
		t.Errorf("redemption %d has %d uses voided, want 2", d.Event.Seq, voided)
	}
	check := func(r terminal.VoidRequest, code string) {
		t.Helper()
		_, err := eng.Void(ctx, r)
		var ve *terminal.VoidError
		if !errors.As(err, &ve) || ve.Code != code {
			t.Errorf("Void(%+v) = %v, want %s", r, err, code)
		}
	}
	check(terminal.VoidRequest{Seq: d.Event.Seq, Uses: 2}, "bad_uses")
	check(terminal.VoidRequest{Seq: 99}, "not_found")
	check(terminal.VoidRequest{Seq: v.Event.Seq}, "not_redemption")
	if _, err := eng.Void(ctx, terminal.VoidRequest{Seq: d.Event.Seq}); err != nil {
		t.Errorf("void the last use: %v", err)
	}
	check(terminal.VoidRequest{Seq: d.Event.Seq}, "already_voided")
	d2 := eng.Commit(ctx, terminal.Input{Text: secret(2)})
	clock.Add(16 * time.Minute)
	check(terminal.VoidRequest{Seq: d2.Event.Seq}, "window_passed")

	// A redemption on a settled day cannot be voided.
	clock.T = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	d3 := eng.Commit(ctx, terminal.Input{Text: secret(2)})
	check(terminal.VoidRequest{Seq: d3.Event.Seq}, "settled")
}

// TestResolveInterrupted: a crash between the pending record and the
// outcome leaves a pending decision; the next engine resolves it as not
// served before any new scan.
func TestResolveInterrupted(t *testing.T) {
	st, clock := fixture(t)
	ev := protocol.Event{V: 1, Terminal: termtest.Terminal, Kind: protocol.KindRedemption, At: clock.T, Store: termtest.Store,
		Mode: protocol.ModeOnline, Reason: protocol.Accepted, Code: "S00000000001", Format: protocol.FormatSecret, Campaign: "c1", Uses: 1, Amount: 2500}
	seq, err := st.Pend(ctx, terminal.Pending{Claim: ev})
	if err != nil {
		t.Fatal(err)
	}
	eng := terminal.New(st, &termtest.Link{Reply: protocol.ClaimReply{Reason: protocol.Accepted}}, clock.Now, terminal.Config{}, nil)
	got, err := eng.Resolve(ctx)
	if err != nil || len(got) != 1 || got[0].Seq != seq || got[0].Reason != protocol.CannotRecord || got[0].Kind != protocol.KindAttempt {
		t.Fatalf("Resolve = %+v, %v", got, err)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1)}); d.Reason != protocol.Accepted || d.Event.Seq != seq+1 {
		t.Errorf("next scan: %s at %d", d.Reason, d.Event.Seq)
	}
}

func TestRateLimitPauses(t *testing.T) {
	st, clock := fixture(t)
	eng := terminal.New(st, nil, clock.Now, terminal.Config{FailureLimit: 3, FailureWindow: time.Minute, RateLimitPause: 2 * time.Minute}, nil)
	for i := 0; i < 2; i++ {
		eng.Commit(ctx, terminal.Input{Text: "CARD55555555"})
		clock.Add(40 * time.Second) // the first failure leaves the window
	}
	if d := eng.Commit(ctx, terminal.Input{Text: "CARD55555556"}); d.Reason != protocol.UnknownCode {
		t.Fatalf("third failure over 80 s: %s", d.Reason)
	}
	eng.Commit(ctx, terminal.Input{Text: "CARD55555557"})
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1)}); d.Reason != protocol.RateLimited {
		t.Fatalf("after 3 failures in a minute: %s", d.Reason)
	}
	clock.Add(2 * time.Minute)
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1)}); d.Reason != protocol.Accepted {
		t.Errorf("after the pause: %s", d.Reason)
	}
}

// TestBadFieldsNeverPend: a field the journal would refuse is refused
// before anything is pending or claimed, and the terminal keeps working.
func TestBadFieldsNeverPend(t *testing.T) {
	st, clock := fixture(t)
	link := &termtest.Link{Reply: protocol.ClaimReply{Reason: protocol.Accepted}}
	eng := terminal.New(st, link, clock.Now, terminal.Config{}, nil)
	for _, in := range []terminal.Input{
		{Text: secret(1), Cashier: "bad cashier!"},
		{Text: secret(1), OrderRef: string(make([]byte, 300))},
		{Text: secret(1), IdemKey: "\xff\xfe"},
	} {
		if d := eng.Commit(ctx, in); d.Reason != protocol.Malformed || d.Err != nil {
			t.Errorf("Commit(%+v) = %s, %v; want malformed, journaled", in, d.Reason, d.Err)
		}
		if p, _ := eng.Prepare(ctx, in); p.Reason != protocol.Malformed {
			t.Errorf("Prepare(%+v) = %s, want malformed", in, p.Reason)
		}
	}
	if len(link.Claims) != 0 {
		t.Errorf("%d claims sent for refused input", len(link.Claims))
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1), Cashier: "c-01"}); d.Reason != protocol.Accepted {
		t.Errorf("next good scan: %s (%s)", d.Reason, d.Detail)
	}
	if _, err := eng.Void(ctx, terminal.VoidRequest{Seq: 4, Manager: "bad manager!"}); err == nil {
		t.Error("void with a bad manager id accepted")
	}
}

// TestResolveDropsBadFields: a pending record holding a field the journal
// refuses (written by an older build, say) still resolves.
func TestResolveDropsBadFields(t *testing.T) {
	st, clock := fixture(t)
	ev := protocol.Event{V: 1, Terminal: termtest.Terminal, Kind: protocol.KindRedemption, At: clock.T, Store: termtest.Store,
		Cashier: "bad cashier!", Mode: protocol.ModeOnline, Reason: protocol.Accepted, Code: "S00000000001",
		Format: protocol.FormatSecret, Campaign: "c1", Uses: 1, Amount: 2500}
	if _, err := st.Pend(ctx, terminal.Pending{Claim: ev}); err != nil {
		t.Fatal(err)
	}
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	if got, err := eng.Resolve(ctx); err != nil || len(got) != 1 {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
}

// TestClaimDoesNotOverwriteConcurrentUpdate: an import that lands while a
// claim is under way is not overwritten by the decision's own view.
func TestClaimDoesNotOverwriteConcurrentUpdate(t *testing.T) {
	st, clock := fixture(t)
	link := &termtest.Link{Hang: true}
	link.During = func() {
		multi := termtest.Campaign("meal-10x")
		multi.Uses, multi.FaceValue = 10, 3500
		code := termtest.SecretCode(2, "meal-10x", 10)
		code.UsesLeft = 2
		snap := termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1"), multi}, Codes: []protocol.CodeState{code}, AsOf: 5}
		if _, err := st.Import(ctx, bytesReader(snap.File(t, 0))); err != nil {
			t.Errorf("import during the claim: %v", err)
		}
	}
	eng := terminal.New(st, link, clock.Now, terminal.Config{ClaimTimeout: 10 * time.Millisecond}, nil)
	if d := eng.Commit(ctx, terminal.Input{Text: secret(2)}); d.Reason != protocol.Accepted || d.Mode != protocol.ModeOffline {
		t.Fatalf("decision %s/%s", d.Reason, d.Mode)
	}
	_, id := termtest.Secret(2)
	c, _ := st.CodeByID(ctx, id)
	if c.UsesLeft != 1 {
		t.Errorf("uses left %d, want 1 (the import's 2, less this use)", c.UsesLeft)
	}
}

func TestLateReplyIsNoAnswer(t *testing.T) {
	st, clock := fixture(t)
	link := &termtest.Link{Reply: protocol.ClaimReply{Reason: protocol.UsedUp}, WrongSeq: true}
	eng := terminal.New(st, link, clock.Now, terminal.Config{}, nil)
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1)}); d.Reason != protocol.Accepted || d.Mode != protocol.ModeOffline {
		t.Errorf("a reply for another seq was taken as the answer: %s/%s", d.Reason, d.Mode)
	}
}

func TestVoidAmountIsWhatWasRedeemed(t *testing.T) {
	st, clock := fixture(t)
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	d := eng.Commit(ctx, terminal.Input{Text: secret(2), Uses: 2})
	multi := termtest.Campaign("meal-10x")
	multi.Uses, multi.FaceValue = 10, 9900 // the price changed since
	if _, err := st.Import(ctx, bytesReader(termtest.Snapshot{Campaigns: []protocol.Campaign{termtest.Campaign("c1"), multi},
		Codes: []protocol.CodeState{termtest.SecretCode(2, "meal-10x", 10)}}.File(t, 0))); err != nil {
		t.Fatal(err)
	}
	v, err := eng.Void(ctx, terminal.VoidRequest{Seq: d.Event.Seq, Uses: 1})
	if err != nil || v.Amount != 3500 {
		t.Errorf("void of 1 of 2 uses redeemed for 7000: amount %d, %v; want 3500", v.Amount, err)
	}
}

func TestPrepareIsRateLimited(t *testing.T) {
	st, clock := fixture(t)
	eng := terminal.New(st, nil, clock.Now, terminal.Config{FailureLimit: 3}, nil)
	for i := 0; i < 3; i++ {
		eng.Prepare(ctx, terminal.Input{Text: "CARD4444444" + string(rune('0'+i))})
	}
	if p, _ := eng.Prepare(ctx, terminal.Input{Text: secret(1)}); p.Reason != protocol.RateLimited {
		t.Errorf("Prepare after 3 guesses: %s", p.Reason)
	}
	if d := eng.Commit(ctx, terminal.Input{Text: secret(1)}); d.Reason != protocol.RateLimited {
		t.Errorf("Commit after 3 guessed previews: %s", d.Reason)
	}
}

// TestIdempotencyKey: a register retrying COMMIT with the same key gets
// the first decision back; nothing is redeemed twice.
func TestIdempotencyKey(t *testing.T) {
	st, clock := fixture(t)
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	in := terminal.Input{Text: secret(2), Uses: 2, IdemKey: "POS-77-1", OrderRef: "POS-77"}
	first := eng.Commit(ctx, in)
	again := eng.Commit(ctx, in)
	if first.Reason != protocol.Accepted || again.Reason != protocol.Accepted || again.Event != first.Event || again.Uses != 2 ||
		first.Replayed || !again.Replayed {
		t.Fatalf("first %s %v replayed %v, retry %s %v replayed %v", first.Reason, first.Event, first.Replayed, again.Reason, again.Event, again.Replayed)
	}
	_, id := termtest.Secret(2)
	if c, _ := st.CodeByID(ctx, id); c.UsesLeft != 8 || st.Head().Seq != 1 {
		t.Errorf("after a retried commit: %d uses left, %d events; want 8 and 1", c.UsesLeft, st.Head().Seq)
	}
	in.IdemKey = "POS-77-2"
	if d := eng.Commit(ctx, in); d.Event == first.Event || d.UsesLeft != 6 {
		t.Errorf("a new key decided again: %v, %d left", d.Event, d.UsesLeft)
	}
}
