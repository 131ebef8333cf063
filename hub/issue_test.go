package hub_test

import (
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

func issue(t *testing.T, h *hub.Hub, campaign string, req hub.IssueRequest) []hub.IssuedCode {
	t.Helper()
	var out []hub.IssuedCode
	if err := h.Issue(ctx, campaign, req, func(c hub.IssuedCode) error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIssueSignedVerifiesAndRotates(t *testing.T) {
	c := newChain(t, hub.Config{})
	codes := issue(t, c.f.Hub, "single", hub.IssueRequest{Count: 7001, Format: protocol.FormatSigned, OrderRef: "order-1"})
	if len(codes) != 7001 {
		t.Fatalf("%d codes, want 7001", len(codes))
	}
	ring, err := protocol.NewKeyRing(c.f.Hub.Keys()...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ic := range codes {
		sc, err := ring.ParseVerify(ic.Code, hubtest.Now)
		if err != nil {
			t.Fatalf("code %s does not verify: %v", ic.ID, err)
		}
		if sc.ID != ic.ID || sc.Campaign != "single" || sc.Uses != 1 || seen[sc.ID] {
			t.Fatalf("code %+v for id %s (seen before: %v)", sc, ic.ID, seen[sc.ID])
		}
		seen[sc.ID] = true
	}
	info := c.code(t, codes[0].Code)
	if info.ID != codes[0].ID || info.OrderRef != "order-1" || info.UsesLeft != 1 {
		t.Fatalf("lookup by HX1 text: %+v", info)
	}
	old := c.f.Hub.Keys()[0]
	k, err := c.f.Hub.RotateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := issue(t, c.f.Hub, "single", hub.IssueRequest{Count: 1, Format: protocol.FormatSigned})
	sc, _ := protocol.ParseSigned(after[0].Code)
	if sc.KeyID != k.ID || k.ID == old.ID {
		t.Fatalf("code after rotation signed by %s, want the new key %s", sc.KeyID, k.ID)
	}
	if _, err := c.f.Hub.RetireKey(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	ring, _ = protocol.NewKeyRing(c.f.Hub.Keys()...)
	c.f.Clock.Add(time.Second)
	if _, err := ring.ParseVerify(codes[0].Code, c.f.Clock.Now()); !errors.Is(err, protocol.ErrKeyRetired) {
		t.Fatalf("a code of a retired key: %v, want ErrKeyRetired", err)
	}
	// Keys survive a restart, sealed.
	c.f.Restart()
	more := issue(t, c.f.Hub, "single", hub.IssueRequest{Count: 1, Format: protocol.FormatSigned})
	if sc, _ := protocol.ParseSigned(more[0].Code); sc.KeyID != k.ID {
		t.Fatalf("after restart signed by %s, want %s", sc.KeyID, k.ID)
	}
}

func TestIssueDynamic(t *testing.T) {
	c := newChain(t, hub.Config{})
	codes := issue(t, c.f.Hub, "multi", hub.IssueRequest{Count: 2, Format: protocol.FormatDynamic})
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(codes[0].Seed)
	if err != nil || len(seed) < protocol.MinSeedLen {
		t.Fatalf("seed %q: %v", codes[0].Seed, err)
	}
	text := protocol.DynamicAt(codes[0].ID, seed, hubtest.Now)
	if info := c.code(t, text); info.ID != codes[0].ID {
		t.Fatalf("lookup by HXD text: %s, want %s", info.ID, codes[0].ID)
	}
	changes, _ := readFeed(t, c.f.Hub, "T-A", 0, 0)
	found := false
	for _, ch := range changes {
		if ch.Kind == protocol.ChangeCodeIssued && ch.Code.ID == codes[0].ID {
			found = string(ch.Code.Seed) == string(seed)
		}
	}
	if !found {
		t.Fatal("the dynamic code did not reach the feed with its seed")
	}
}

func TestImport(t *testing.T) {
	c := newChain(t, hub.Config{})
	secret := hubtest.Secret("single", 3) // imported by newChain
	// Typed the way a cashier might: lower case, spaced, full-width digits.
	typed := strings.ToLower(secret[:4]) + " " + secret[4:8] + "-" + secret[8:]
	info := c.code(t, typed)
	if info.ID != c.single[3] {
		t.Fatalf("lookup by typed secret: %s, want %s", info.ID, c.single[3])
	}
	_, err := c.f.Hub.Import(ctx, "single", []string{"NEWSECRET0001", secret}, "")
	if e := hub.AsError(err); e == nil || e.Kind != hub.Conflict || strings.Contains(e.Msg, secret) {
		t.Fatalf("importing a secret twice: %v, want a conflict that does not repeat the secret", err)
	}
	if _, err := c.f.Hub.LookupCode(ctx, "NEWSECRET0001"); hub.AsError(err) == nil || hub.AsError(err).Kind != hub.NotFound {
		t.Fatalf("a refused import left a code behind: %v", err)
	}
	for _, bad := range [][]string{{}, {"short"}, {"AAAA00001111", "aaaa0000-1111"}} {
		if _, err := c.f.Hub.Import(ctx, "single", bad, ""); hub.AsError(err) == nil || hub.AsError(err).Kind != hub.Invalid {
			t.Fatalf("import %q: %v, want invalid", bad, err)
		}
	}
	if _, err := c.f.Hub.Import(ctx, "nope", []string{"NEWSECRET0002"}, ""); hub.AsError(err) == nil || hub.AsError(err).Kind != hub.NotFound {
		t.Fatalf("import into an unknown campaign: %v", err)
	}
}

func TestRevokeBlock(t *testing.T) {
	c := newChain(t, hub.Config{})
	id := c.single[0]
	if info, err := c.f.Hub.Block(ctx, id, "suspected leak"); err != nil || info.Status != protocol.StatusBlocked {
		t.Fatalf("block: %+v %v", info, err)
	}
	if r := decide(t, c, c.a, id, "single", 1); r.Reason != protocol.Blocked {
		t.Fatalf("claim of a blocked code: %s", r.Reason)
	}
	if info, err := c.f.Hub.Unblock(ctx, id, "false alarm"); err != nil || info.Status != protocol.StatusActive {
		t.Fatalf("unblock: %+v %v", info, err)
	}
	if _, err := c.f.Hub.Revoke(ctx, id, "refunded"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.f.Hub.Unblock(ctx, id, ""); hub.AsError(err) == nil || hub.AsError(err).Kind != hub.Conflict {
		t.Fatalf("unblocking a revoked code: %v, want a conflict", err)
	}
	// An offline redemption of the revoked code is recorded and alerted.
	c.b.Ingest(c.b.Redemption(id, "single", protocol.FormatSecret, 1, protocol.ModeOffline))
	if got := alerts(t, c.f.Hub, hub.AlertRevoked); len(got) != 1 {
		t.Fatalf("revoked_redeemed alerts: %+v", got)
	}
}

// Signed codes of a campaign with no end of validity: the refusal says
// what to set.
func TestIssueSignedNeedsValidUntil(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.f.Campaign("open-ended", 1, func(cp *protocol.Campaign) { cp.ValidUntil = time.Time{} })
	err := c.f.Hub.Issue(ctx, "open-ended", hub.IssueRequest{Count: 1, Format: protocol.FormatSigned}, func(hub.IssuedCode) error { return nil })
	if e := hub.AsError(err); e == nil || e.Kind != hub.Invalid || !strings.Contains(err.Error(), "valid_until") {
		t.Errorf("issue signed codes without an end of validity: %v, want invalid naming valid_until", err)
	}
}

// A campaign with an end of validity but no start issues signed codes
// valid from their issuance (the hub's clock), not from the year 1.
func TestIssueSignedFromNow(t *testing.T) {
	c := newChain(t, hub.Config{})
	c.f.Campaign("from-now", 1, func(cp *protocol.Campaign) { cp.ValidFrom = time.Time{} })
	codes := issue(t, c.f.Hub, "from-now", hub.IssueRequest{Count: 1, Format: protocol.FormatSigned})
	sc, err := protocol.ParseSigned(codes[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.f.Hub.Now().UTC().Truncate(time.Second); !sc.ValidFrom.Equal(want) {
		t.Errorf("signed code valid from %s, want its issuance %s", sc.ValidFrom, want)
	}
	if info := c.code(t, codes[0].ID); !info.ValidFrom.Equal(sc.ValidFrom) {
		t.Errorf("the ledger's valid_from %s, the code's %s", info.ValidFrom, sc.ValidFrom)
	}
}
