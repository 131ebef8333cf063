package hublink_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/hublink"
)

// TestFirstSyncThenPushes: a new terminal pulls its snapshot (card secrets
// and dynamic codes in its store's scope; neither unused signed codes,
// which carry themselves, nor another store's codes), its feed cursor is
// the snapshot's as_of, and it then follows the hub's live pushes.
func TestFirstSyncThenPushes(t *testing.T) {
	h := newHub(t, hubOptions{})
	secrets := h.importCodes(campID, 50)
	dynamic := h.issue(campID, protocol.FormatDynamic, 3)
	signed := h.issue(campID, protocol.FormatSigned, 2)
	h.put("bj-001", "north")
	h.campaign("c-bj", 1, func(c *protocol.Campaign) { c.Stores = []string{"bj-001"} })
	elsewhere := h.importCodes("c-bj", 5)

	tm := h.newTerm(termID, storeID, nil)
	tm.start()
	tm.waitSynced()

	for _, id := range secrets {
		c, err := tm.codeState(id)
		if err != nil || c.Format != protocol.FormatSecret || c.Status != protocol.StatusActive || c.UsesLeft != 1 || c.SecretHash == nil {
			t.Fatalf("card secret %s in the cache: %+v, %v; want active with 1 use and its hash", id, c, err)
		}
	}
	for _, id := range dynamic {
		c, err := tm.codeState(id)
		if err != nil || c.Format != protocol.FormatDynamic || len(c.Seed) == 0 {
			t.Fatalf("dynamic code %s in the cache: %+v, %v; want it with its seed", id, c, err)
		}
	}
	for _, id := range append(signed, elsewhere...) {
		if c, err := tm.codeState(id); !errors.Is(err, terminal.ErrNotFound) {
			t.Errorf("code %s (unused signed, or another store's) in the cache: %+v, %v; want ErrNotFound", id, c, err)
		}
	}
	if _, err := tm.st.Campaign(ctx, "c-bj"); !errors.Is(err, terminal.ErrNotFound) {
		t.Errorf("another store's campaign in the cache: %v", err)
	}
	asOf := h.ledger.asOf.Load()
	if cursor, err := tm.st.FeedCursor(ctx); err != nil || cursor != asOf || asOf == 0 {
		t.Fatalf("feed cursor %d (%v), want the snapshot's as_of %d", cursor, err, asOf)
	}

	// Live: HQ revokes one code, blocks another and imports new ones.
	if _, err := h.Hub.Revoke(ctx, secrets[7], "leaked"); err != nil {
		t.Fatal(err)
	}
	tm.waitStatus(secrets[7], protocol.StatusRevoked)
	if _, err := h.Hub.Block(ctx, secrets[8], "suspected"); err != nil {
		t.Fatal(err)
	}
	tm.waitStatus(secrets[8], protocol.StatusBlocked)
	fresh := h.importCodes(campID, 2)
	for _, id := range fresh {
		tm.waitStatus(id, protocol.StatusActive)
	}
	if cursor, _ := tm.st.FeedCursor(ctx); cursor <= asOf {
		t.Errorf("feed cursor %d after three pushes, want past the snapshot's %d", cursor, asOf)
	}
	// The engine decides by the pushed state, without asking the hub.
	claims := h.Hub.Stats().ClaimsAccepted.Load() + h.Hub.Stats().ClaimsRefused.Load()
	if d := tm.redeem(h.secret(secrets[7])); d.Reason != protocol.Revoked {
		t.Errorf("redeeming the revoked code: %s (%s), want revoked", d.Reason, d.Detail)
	}
	if d := tm.redeem(h.secret(fresh[0])); !d.Accepted() || d.Mode != protocol.ModeOnline {
		t.Errorf("redeeming a pushed code: %s (%s) mode %s, want accepted online", d.Reason, d.Detail, d.Mode)
	}
	if got := h.Hub.Stats().ClaimsAccepted.Load() + h.Hub.Stats().ClaimsRefused.Load(); got != claims+1 {
		t.Errorf("the hub answered %d claims, want 1 (the revoked code is refused from the cache)", got-claims)
	}
}

// TestSnapshotResumes: a pull cut after its first page continues from the
// staged page when the terminal starts again; the hub never serves page 0
// twice.
func TestSnapshotResumes(t *testing.T) {
	h := newHub(t, hubOptions{})
	// Three pages at the hub's page size (hublink asks for its default).
	ids := h.importCodes(campID, 2*protocol.MaxSnapshotCodes+500)
	h.ledger.holdResume.Store(true) // page 1 is never answered: the pull stops after page 0

	tm := h.newTerm(termID, storeID, nil)
	tm.start()
	eventually(t, "page 0 staged", func() (bool, string) {
		pr, err := tm.st.SnapshotProgress(ctx)
		s := tm.link.Status()
		return err == nil && pr.Pages == 1 && s.Snapshot && s.SnapshotAt == 1, fmt.Sprintf("%+v, %v; %s", pr, err, s.Describe())
	})
	if err := tm.stop(); err != nil {
		t.Fatal(err)
	}
	if cursor, _ := tm.st.FeedCursor(ctx); cursor != 0 {
		t.Fatalf("feed cursor %d after an unfinished pull, want 0", cursor)
	}
	if _, err := tm.codeState(ids[0]); !errors.Is(err, terminal.ErrNotFound) {
		t.Fatalf("a code of a staged page is in the cache before the last page: %v", err)
	}
	served := h.Hub.Stats().SnapshotPages.Load()
	if served != 1 {
		t.Fatalf("the hub served %d pages before the cut, want 1", served)
	}

	h.ledger.holdResume.Store(false)
	tm.start()
	tm.waitSynced()
	if n := h.ledger.snapStarts.Load(); n != 1 {
		t.Errorf("%d snapshot requests started a new pull, want 1 (the restart resumes)", n)
	}
	if n := h.Hub.Stats().SnapshotPages.Load(); n != 3 {
		t.Errorf("the hub served %d snapshot pages in all, want 3 (pages 0, 1, 2 once each)", n)
	}
	for _, id := range ids {
		if _, err := tm.codeState(id); err != nil {
			t.Fatalf("code %s after the resumed pull: %v", id, err)
		}
	}
	if pr, _ := tm.st.SnapshotProgress(ctx); pr.Pages != 0 {
		t.Errorf("%d pages still staged after the import, want none", pr.Pages)
	}
}

// TestOutboxEmptiesOnlyOnAck: events decided while the link is not running
// go out when it connects, and leave the outbox only when the hub's ack
// covers them; the hub then holds each one once.
func TestOutboxEmptiesOnlyOnAck(t *testing.T) {
	h := newHub(t, hubOptions{})
	ids := h.importCodes(campID, 20)
	tm := h.newTerm(termID, storeID, nil)
	tm.backlog(h, ids)
	if depth, _ := tm.st.OutboxDepth(ctx); depth != 20 || tm.st.Head().Seq != 20 {
		t.Fatalf("outbox %d, head %d after 20 offline redemptions, want 20 and 20", depth, tm.st.Head().Seq)
	}

	release := h.ledger.holdIngest() // the hub takes the batch but does not answer yet
	defer release()
	before := h.ledger.batches.Load()
	tm.start()
	eventually(t, "the batch reaches the hub", func() (bool, string) {
		n := h.ledger.batches.Load() - before
		return n > 0, fmt.Sprintf("%d batches", n)
	})
	if depth, _ := tm.st.OutboxDepth(ctx); depth != 20 {
		t.Fatalf("outbox %d while the hub has not acknowledged, want 20", depth)
	}
	if s := tm.link.Status(); s.Acked != 0 {
		t.Fatalf("watermark %d before any ack, want 0", s.Acked)
	}
	release()
	tm.waitAcked()
	if s := tm.link.Status(); s.Acked != s.Head || s.Head != 20 {
		t.Errorf("status: acked %d, head %d; want 20 and 20", s.Acked, s.Head)
	}
	if i := h.terminalInfo(termID); i.Acked != 20 {
		t.Errorf("the hub's watermark for %s is %d, want 20", termID, i.Acked)
	}
	h.checkLedger(termID, 20)
}

// TestResendFromWatermark: whatever is lost between the terminal and the
// hub's commit — a batch, an ack, every message while the hub's link is
// down — the terminal sends again from the watermark when it stalls, and
// the ledger ends complete with each event once.
func TestResendFromWatermark(t *testing.T) {
	for _, c := range []struct {
		name   string
		events int
		setup  func(t *testing.T, h *hubEnv, tm *term) (restore func())
		check  func(t *testing.T, h *hubEnv)
	}{
		{
			name: "batch lost before the hub", events: 20,
			setup: func(t *testing.T, h *hubEnv, tm *term) func() {
				h.ledger.dropBatches.Store(1) // the first of four batches of 5
				return func() {}
			},
			check: func(t *testing.T, h *hubEnv) {
				if n := h.ledger.dropped.Load(); n != 1 {
					t.Errorf("%d batches lost, want 1", n)
				}
			},
		},
		{
			name: "ack lost after the hub committed", events: 5,
			setup: func(t *testing.T, h *hubEnv, tm *term) func() {
				h.ledger.loseAcks.Store(1) // the one batch's ack
				return func() {}
			},
			check: func(t *testing.T, h *hubEnv) {
				if n := h.Hub.Stats().Duplicates.Load(); n < 5 {
					t.Errorf("the hub saw %d duplicate events, want the 5 re-sent", n)
				}
			},
		},
		{
			name: "hub link down", events: 10,
			setup: func(t *testing.T, h *hubEnv, tm *term) func() {
				h.stop() // the broker acknowledges what the terminal sends, and nobody takes it
				sp := h.spy(protocol.TerminalTopic(termID, protocol.TopicEvents))
				return func() {
					eventually(t, "events published while the hub's link is down", func() (bool, string) {
						return sp.len() > 0, fmt.Sprintf("%d batches", sp.len())
					})
					h.start()
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHub(t, hubOptions{})
			ids := h.importCodes(campID, c.events)
			tm := h.newTerm(termID, storeID, func(o *hublink.Options, _ *terminal.Config) { o.BatchEvents = 5 })
			tm.backlog(h, ids)
			restore := c.setup(t, h, tm)
			tm.start()
			restore()
			tm.waitAcked()
			if n := tm.logs.Count("re-sending from the watermark"); n == 0 {
				t.Error("the terminal never re-sent from the watermark")
			}
			if c.check != nil {
				c.check(t, h)
			}
			h.checkLedger(termID, uint64(c.events))
		})
	}
}

// TestClaims: online claims are the hub's decision; a link that is down
// fails a claim at once; a claim timeout sends the engine offline and the
// probe brings it back when the hub answers.
func TestClaims(t *testing.T) {
	t.Run("online", func(t *testing.T) {
		h := newHub(t, hubOptions{})
		ids := h.importCodes(campID, 1)
		tm := h.newTerm(termID, storeID, nil)
		tm.start()
		tm.waitSynced()
		d := tm.redeem(h.secret(ids[0]))
		if !d.Accepted() || d.Mode != protocol.ModeOnline || d.UsesLeft != 0 {
			t.Fatalf("claim: %s (%s) mode %s, %d uses left; want accepted online with 0 left", d.Reason, d.Detail, d.Mode, d.UsesLeft)
		}
		if n := h.Hub.Stats().ClaimsAccepted.Load(); n != 1 {
			t.Errorf("the hub accepted %d claims, want 1", n)
		}
		if info, err := h.Hub.LookupCode(ctx, ids[0]); err != nil || info.UsesLeft != 0 {
			t.Errorf("the hub's code: %d uses left (%v), want 0", info.UsesLeft, err)
		}
		// Once the code is used up at the hub, the next claim is refused
		// with the hub's reason.
		if d := tm.redeem(h.secret(ids[0])); d.Reason != protocol.UsedUp {
			t.Errorf("second redemption: %s (%s), want used_up", d.Reason, d.Detail)
		}
		tm.waitAcked()
		h.checkLedger(termID, 2)
	})

	t.Run("link down fails at once", func(t *testing.T) {
		h := newHub(t, hubOptions{})
		ids := h.importCodes(campID, 2)
		const timeout = 5 * time.Second // a claim that waited for it would be plain to see
		tm := h.newTerm(termID, storeID, func(_ *hublink.Options, e *terminal.Config) { e.ClaimTimeout = timeout })
		tm.start()
		tm.waitSynced()
		h.dir.refuse.Store(true) // the terminal cannot get back in
		h.br.Disconnect(termID)
		eventually(t, "the link notices it is down and tells the engine", func() (bool, string) {
			s := tm.link.Status()
			return !s.Connected && !tm.eng.Online(), s.Describe()
		})
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		_, err := tm.link.Claim(cctx, tm.claimRequest(ids[0], tm.st.Head().Seq+1))
		if took := time.Since(start); !errors.Is(err, hublink.ErrNotConnected) || took >= timeout {
			t.Fatalf("Claim on a link that is down: %v after %s, want ErrNotConnected at once (timeout %s)", err, took, timeout)
		}
		// The engine, even if it still believes the hub reachable, decides
		// offline without waiting out its claim timeout.
		tm.eng.SetReachable(true)
		start = time.Now()
		d := tm.redeem(h.secret(ids[1]))
		if took := time.Since(start); !d.Accepted() || d.Mode != protocol.ModeOffline || took >= timeout {
			t.Fatalf("redeem while down: %s mode %s after %s, want accepted offline before the %s claim timeout", d.Reason, d.Mode, took, timeout)
		}
		h.dir.refuse.Store(false)
		tm.waitAcked()
		h.checkLedger(termID, 1)
	})

	t.Run("timeout then probe", func(t *testing.T) {
		h := newHub(t, hubOptions{})
		ids := h.importCodes(campID, 2)
		tm := h.newTerm(termID, storeID, func(_ *hublink.Options, e *terminal.Config) { e.ClaimTimeout = 300 * time.Millisecond })
		tm.start()
		tm.waitSynced()
		h.ledger.holdClaims.Store(true) // the hub does not answer claims
		// Counted before the claim: the probe may leave as soon as the
		// claim times out, before this goroutine runs again.
		feeds := h.Hub.Stats().FeedPages.Load()
		d := tm.redeem(h.secret(ids[0]))
		if !d.Accepted() || d.Mode != protocol.ModeOffline {
			t.Fatalf("unanswered claim: %s (%s) mode %s, want accepted offline", d.Reason, d.Detail, d.Mode)
		}
		if tm.eng.Online() {
			t.Fatal("the engine is still online after a claim timeout")
		}
		h.ledger.holdClaims.Store(false)
		eventually(t, "the probe brings the engine back online", func() (bool, string) {
			return tm.eng.Online(), tm.link.Status().Describe()
		})
		if n := h.Hub.Stats().FeedPages.Load() - feeds; n == 0 {
			t.Error("the engine came back online without a probe (no feed request reached the hub)")
		}
		if d := tm.redeem(h.secret(ids[1])); !d.Accepted() || d.Mode != protocol.ModeOnline {
			t.Errorf("after the probe: %s (%s) mode %s, want accepted online", d.Reason, d.Detail, d.Mode)
		}
		tm.waitAcked()
		h.checkLedger(termID, 2)
	})
}

// TestVersionGate: an incompatible hub announcement stops sync (no claims,
// no events pushed) and says why; a compatible one resumes it.
func TestVersionGate(t *testing.T) {
	h := newHub(t, hubOptions{})
	ids := h.importCodes(campID, 4)
	tm := h.newTerm(termID, storeID, nil)
	tm.start()
	tm.waitSynced()
	// The first announcement is compatible: OnIncompatible(nil) at most.
	select {
	case err := <-tm.incompatible:
		if err != nil {
			t.Fatalf("OnIncompatible(%v) for the hub's own version", err)
		}
	default:
	}
	events := h.spy(protocol.TerminalTopic(termID, protocol.TopicEvents))

	h.announce("2.0.0")
	select {
	case err := <-tm.incompatible:
		if err == nil || !strings.Contains(err.Error(), "upgrade the terminal") {
			t.Fatalf("OnIncompatible(%v), want the reason to upgrade the terminal", err)
		}
	case <-time.After(wait):
		t.Fatal("OnIncompatible not called for protocol 2.0.0")
	}
	if s := tm.link.Status(); s.HubVersion != "2.0.0" || !strings.Contains(s.Problem, "2.0.0") || s.Reachable {
		t.Errorf("status: hub %q, problem %q, reachable %v; want 2.0.0, the problem, unreachable", s.HubVersion, s.Problem, s.Reachable)
	}
	if _, err := tm.link.Claim(ctx, tm.claimRequest(ids[0], tm.st.Head().Seq+1)); !errors.Is(err, hublink.ErrIncompatible) {
		t.Errorf("Claim: %v, want ErrIncompatible", err)
	}
	if tm.eng.Online() {
		t.Error("the engine is online with an incompatible hub")
	}
	for _, id := range ids[:3] {
		if d := tm.redeem(h.secret(id)); !d.Accepted() || d.Mode != protocol.ModeOffline {
			t.Fatalf("redeem: %s mode %s, want accepted offline", d.Reason, d.Mode)
		}
	}
	tm.link.Kick()
	// Nothing to wait for but time: 1 s is over three ack stalls and a
	// hundred ticks, in which a compatible link pushes (as below).
	time.Sleep(time.Second)
	if n := events.len(); n != 0 {
		t.Fatalf("%d event batches published to an incompatible hub, want none", n)
	}

	h.announce(protocol.Version)
	select {
	case err := <-tm.incompatible:
		if err != nil {
			t.Fatalf("OnIncompatible(%v) for a compatible version, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("OnIncompatible(nil) not called when the hub became compatible again")
	}
	tm.waitAcked()
	h.checkLedger(termID, 3)
	eventually(t, "online again", func() (bool, string) { return tm.eng.Online(), tm.link.Status().Describe() })
	if s := tm.link.Status(); s.Problem != "" || s.HubVersion != protocol.Version {
		t.Errorf("status: hub %q, problem %q; want %s and none", s.HubVersion, s.Problem, protocol.Version)
	}
	if d := tm.redeem(h.secret(ids[3])); !d.Accepted() || d.Mode != protocol.ModeOnline {
		t.Errorf("redeem after the gate opened: %s mode %s, want accepted online", d.Reason, d.Mode)
	}
}

// checkWiped fails unless the terminal heard it is revoked, stopped, wiped
// its cache, kept its journal and redeems nothing.
func checkWiped(t *testing.T, h *hubEnv, tm *term, runErr error, code string, head uint64) {
	t.Helper()
	select {
	case why := <-tm.revoked:
		if why == "" {
			t.Error("OnRevoked with no reason")
		}
	default:
		t.Error("OnRevoked not called")
	}
	if !errors.Is(runErr, hublink.ErrRevoked) {
		t.Errorf("Run: %v, want ErrRevoked", runErr)
	}
	if why := tm.st.Revoked(); why == "" {
		t.Error("the store is not marked revoked")
	}
	if c, err := tm.codeState(code); !errors.Is(err, terminal.ErrNotFound) {
		t.Errorf("code %s still cached after the wipe: %+v, %v", code, c, err)
	}
	if _, err := tm.st.Campaign(ctx, campID); !errors.Is(err, terminal.ErrNotFound) {
		t.Errorf("campaign still cached after the wipe: %v", err)
	}
	if got := tm.st.Head().Seq; got != head {
		t.Errorf("journal head %d after the wipe, want %d kept", got, head)
	}
	if d := tm.redeem(h.secret(code)); d.Accepted() || d.Reason != protocol.CannotRecord || !strings.Contains(d.Detail, "revoked") {
		t.Errorf("redeem on a revoked terminal: %s (%s), want refused as revoked", d.Reason, d.Detail)
	}
	// Restarted, it stays stopped.
	if _, err := tm.link.Claim(ctx, tm.claimRequest(code, head+1)); err == nil {
		t.Error("Claim on a revoked terminal's new link succeeded")
	}
	tm.start()
	if err := tm.waitRun(); !errors.Is(err, hublink.ErrRevoked) {
		t.Errorf("Run after the wipe: %v, want ErrRevoked at once", err)
	}
}

// TestRevoked: a terminal HQ revoked wipes its cache on its next contact
// with the hub and redeems nothing more; a mere refused login (a wrong
// password) wipes nothing.
func TestRevoked(t *testing.T) {
	// As hexiao-hub serve runs: the broker kicks the revoked terminal,
	// refuses its login, and the hub's POST /api/v1/terminal/status says
	// why. (The broker answers a revoked terminal's CONNACK with "bad user
	// name or password" or, once it tells them apart, "not authorized": the
	// link treats both alike and asks the hub, so this test holds for
	// either.)
	t.Run("broker refuses the login", func(t *testing.T) {
		h := newHub(t, hubOptions{DisconnectRevoked: true})
		ids := h.importCodes(campID, 2)
		tm := h.newTerm(termID, storeID, nil)
		tm.start()
		tm.waitSynced()
		if d := tm.redeem(h.secret(ids[0])); !d.Accepted() {
			t.Fatalf("redeem: %s", d.Reason)
		}
		tm.waitAcked()
		if _, err := h.Hub.RevokeTerminal(ctx, termID); err != nil {
			t.Fatal(err)
		}
		err := tm.waitRun()
		checkWiped(t, h, tm, err, ids[1], 1)
		if tm.logs.Count("the hub says this terminal is revoked") == 0 {
			t.Error("the wipe did not come from the hub's answer to the refused login")
		}
	})

	// Revoked while connected, with no kick (mqttlink without OnRevoked):
	// the hub does not answer its claim, the engine goes offline, and the
	// probe's feed request brings the hub's terminal_revoked.
	t.Run("feed says revoked", func(t *testing.T) {
		h := newHub(t, hubOptions{})
		ids := h.importCodes(campID, 2)
		tm := h.newTerm(termID, storeID, func(_ *hublink.Options, e *terminal.Config) { e.ClaimTimeout = 300 * time.Millisecond })
		tm.start()
		tm.waitSynced()
		if _, err := h.Hub.RevokeTerminal(ctx, termID); err != nil {
			t.Fatal(err)
		}
		// Decided offline: the terminal does not know yet.
		if d := tm.redeem(h.secret(ids[0])); !d.Accepted() || d.Mode != protocol.ModeOffline {
			t.Fatalf("redeem right after the revocation: %s mode %s, want accepted offline", d.Reason, d.Mode)
		}
		err := tm.waitRun()
		checkWiped(t, h, tm, err, ids[1], 1)
		if tm.logs.Count("the hub says this terminal is revoked") != 0 {
			t.Error("the wipe came from a refused login; this test is about the feed")
		}
	})

	t.Run("wrong password wipes nothing", func(t *testing.T) {
		h := newHub(t, hubOptions{DisconnectRevoked: true})
		ids := h.importCodes(campID, 2)
		tm := h.newTerm(termID, storeID, nil)
		tm.start()
		tm.waitSynced()
		if err := tm.stop(); err != nil {
			t.Fatal(err)
		}
		tm.cfg.Password = "not-the-password-0123456789"
		tm.relink()
		tm.start()
		eventually(t, "two refused logins", func() (bool, string) {
			n := tm.logs.Count("the broker refuses this terminal's login")
			return n >= 2, fmt.Sprintf("%d refusals", n)
		})
		if err := tm.stop(); err != nil {
			t.Fatalf("Run: %v, want it retrying until stopped", err)
		}
		if why := tm.st.Revoked(); why != "" {
			t.Fatalf("wiped as revoked (%s) on a wrong password", why)
		}
		for _, id := range ids {
			if _, err := tm.codeState(id); err != nil {
				t.Errorf("code %s after refused logins: %v, want it kept", id, err)
			}
		}
		select {
		case why := <-tm.revoked:
			t.Errorf("OnRevoked(%q) on a wrong password", why)
		default:
		}
	})
}

// TestPresence: on connect the terminal publishes a retained birth with its
// protocol, store and outbox depth; the hub shows it online with its clock
// skew; a clean stop replaces the birth with "offline".
func TestPresence(t *testing.T) {
	const skew = 90 * time.Second // the terminal's clock is ahead
	h := newHub(t, hubOptions{})
	ids := h.importCodes(campID, 3)
	tm := h.newTerm(termID, storeID, func(o *hublink.Options, _ *terminal.Config) {
		o.Now = func() time.Time { return time.Now().Add(skew) }
	})
	tm.backlog(h, ids)
	sp := h.spy(protocol.TerminalTopic(termID, protocol.TopicPresence))
	retained := len(sp.all()) // the last stop's "offline", replayed

	tm.start()
	var birth protocol.Presence
	eventually(t, "a live birth message", func() (bool, string) {
		for _, m := range sp.all()[retained:] {
			if err := protocol.Decode(m.payload, &birth); err == nil && !m.retained && birth.State == protocol.PresenceOnline {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d messages", sp.len()-retained)
	})
	if birth.Protocol != protocol.Version || birth.Store != storeID || birth.App != "test" || birth.Outbox != 3 {
		t.Errorf("birth: protocol %q, store %q, app %q, outbox %d; want %s, %s, test, 3", birth.Protocol, birth.Store, birth.App, birth.Outbox, protocol.Version, storeID)
	}
	if d := birth.Clock.Sub(time.Now()); d < skew-5*time.Second || d > skew+5*time.Second {
		t.Errorf("birth clock is %s from now, want the terminal's clock (%s ahead)", d, skew)
	}
	eventually(t, "the hub shows the terminal online with its skew", func() (bool, string) {
		i := h.terminalInfo(termID)
		ok := i.Online && i.ClockSkew != nil && i.Protocol == protocol.Version && i.Mode != ""
		return ok, fmt.Sprintf("%+v", i)
	})
	i := h.terminalInfo(termID)
	if d := i.ClockSkew.D(); d < skew-5*time.Second || d > skew+5*time.Second {
		t.Errorf("the hub measured a skew of %s, want about %s", d, skew)
	}
	if i.Store != storeID {
		t.Errorf("the hub shows store %q, want %s", i.Store, storeID)
	}
	tm.waitAcked()
	eventually(t, "the link measures the hub's clock", func() (bool, string) {
		off := tm.link.Status().Offset
		return off < -skew+5*time.Second && off > -skew-5*time.Second, fmt.Sprintf("offset %s", off)
	})

	if err := tm.stop(); err != nil {
		t.Fatal(err)
	}
	// The broker acknowledges the goodbye before it routes it.
	var last protocol.Presence
	eventually(t, "an offline presence after Run ended", func() (bool, string) {
		msgs := sp.all()
		err := protocol.Decode(msgs[len(msgs)-1].payload, &last)
		return err == nil && last.State == protocol.PresenceOffline, fmt.Sprintf("%+v, %v", last, err)
	})
	eventually(t, "the hub shows the terminal offline", func() (bool, string) {
		i := h.terminalInfo(termID)
		return !i.Online, fmt.Sprintf("%+v", i)
	})
	fresh := h.spy(protocol.TerminalTopic(termID, protocol.TopicPresence))
	if got := fresh.all(); len(got) != 1 || !got[0].retained || protocol.Decode(got[0].payload, &last) != nil || last.State != protocol.PresenceOffline {
		t.Errorf("retained presence after Run ended: %d messages, %+v; want one, offline", len(got), last)
	}
}

// TestAckHashMismatch: an ack whose hash is not the journal's deletes
// nothing from the outbox and shows as the link's problem; a true ack
// later empties it.
func TestAckHashMismatch(t *testing.T) {
	h := newHub(t, hubOptions{})
	ids := h.importCodes(campID, 5)
	tm := h.newTerm(termID, storeID, nil)
	tm.backlog(h, ids)
	h.ledger.badHash.Store(true)
	tm.start()
	eventually(t, "the mismatch shows in the status", func() (bool, string) {
		s := tm.link.Status()
		return strings.Contains(s.Problem, "acknowledged a different event"), s.Describe()
	})
	if depth, _ := tm.st.OutboxDepth(ctx); depth != 5 {
		t.Fatalf("outbox %d after a mismatched ack, want all 5 kept", depth)
	}
	if acked, _ := tm.st.Acked(ctx); acked != 0 {
		t.Fatalf("watermark %d after a mismatched ack, want 0", acked)
	}
	if tm.logs.Count("ack not applied") == 0 {
		t.Error("the mismatch is not logged")
	}
	h.ledger.badHash.Store(false)
	tm.waitAcked()
	h.checkLedger(termID, 5)
	if s := tm.link.Status(); s.Problem != "" {
		t.Errorf("problem %q still shown after the acks came right", s.Problem)
	}
}

// TestRunEndLeavesItDown: once Run has returned, the link says it is
// neither connected nor reachable, the engine is told, and a claim fails
// at once with ErrNotConnected.
func TestRunEndLeavesItDown(t *testing.T) {
	h := newHub(t, hubOptions{})
	ids := h.importCodes(campID, 1)
	tm := h.newTerm(termID, storeID, nil)
	tm.start()
	tm.waitSynced()
	link, eng := tm.link, tm.eng
	if err := tm.stop(); err != nil {
		t.Fatal(err)
	}
	if s := link.Status(); s.Connected || s.Reachable {
		t.Errorf("status after Run ended: connected %v, reachable %v; want neither", s.Connected, s.Reachable)
	}
	if eng.Online() {
		t.Error("the engine is still online after the link stopped")
	}
	if _, err := link.Claim(ctx, tm.claimRequest(ids[0], 1)); !errors.Is(err, hublink.ErrNotConnected) {
		t.Errorf("Claim after Run ended: %v, want ErrNotConnected", err)
	}
}
