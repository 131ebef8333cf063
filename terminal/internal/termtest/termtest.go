// Package termtest builds real terminal data directories for tests: a
// SQLite store set up and loaded from a snapshot file with campaigns,
// issuing keys and codes of every format whose plain texts the tests know.
// It is for tests only and must never be imported by a program.
package termtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// Now is the instant fixtures are built around: a Sunday, 12:00 in
// Shanghai.
var Now = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

// Identity of the fixture terminal.
const (
	Terminal = "T-SH001-1"
	Store    = "sh-001"
	Region   = "east"
)

// Pepper is the fixture hub's card-secret pepper.
var Pepper = []byte("termtest-pepper-32-bytes-long!!!")

// Key is the fixture hub's issuing key.
var Key = func() protocol.SigningKey {
	s := sha256.Sum256([]byte("termtest issuing key"))
	priv := ed25519.NewKeyFromSeed(s[:])
	return protocol.SigningKey{
		IssuingKey: protocol.IssuingKey{ID: "k1", Public: priv.Public().(ed25519.PublicKey),
			NotBefore: Now.AddDate(-1, 0, 0), NotAfter: Now.AddDate(3, 0, 0)},
		Private: priv,
	}
}()

// Seed is every fixture dynamic code's TOTP seed.
var Seed = []byte("termtest-dynamic-seed-32-bytes!!")

// Campaign returns a fixture campaign: 25.00 yuan, one use, valid a year
// around Now, offline allowed without caps, a 15-minute undo window.
func Campaign(id string) protocol.Campaign {
	return protocol.Campaign{
		ID: id, Name: "Campaign " + id, FaceValue: 2500, Uses: 1,
		ValidFrom: Now.AddDate(0, -6, 0), ValidUntil: Now.AddDate(0, 6, 0),
		UndoWindow: protocol.Duration(15 * time.Minute),
		Offline:    protocol.OfflinePolicy{Allow: true},
	}
}

// Secret returns the plain text of fixture card secret n and its code id.
func Secret(n int) (text, id string) {
	return fmt.Sprintf("CARD%08d", n), fmt.Sprintf("S%011d", n)
}

// SecretCode is the cached state of card secret n in campaign.
func SecretCode(n int, campaign string, uses int) protocol.CodeState {
	text, id := Secret(n)
	h, err := protocol.NewSecretHasher(Pepper)
	if err != nil {
		panic(err)
	}
	sh := h.Hash(text)
	return protocol.CodeState{ID: id, Campaign: campaign, Format: protocol.FormatSecret, SecretHash: &sh,
		Uses: uses, UsesLeft: uses, Status: protocol.StatusActive}
}

// DynamicCode is the cached state of a dynamic code.
func DynamicCode(id, campaign string, uses int) protocol.CodeState {
	return protocol.CodeState{ID: id, Campaign: campaign, Format: protocol.FormatDynamic, Seed: Seed,
		Uses: uses, UsesLeft: uses, Status: protocol.StatusActive}
}

// Signed returns the HX1: text of a signed code of campaign, valid a year
// around Now, for every store.
func Signed(t testing.TB, id, campaign string, uses int) string {
	t.Helper()
	s, err := Key.Sign(protocol.SignedCode{ID: id, Campaign: campaign, ValidFrom: Now.AddDate(0, -1, 0),
		ValidUntil: Now.AddDate(1, 0, 0), Uses: uses}, Now)
	if err != nil {
		t.Fatalf("sign %s: %v", id, err)
	}
	return s
}

// Snapshot is the content of a snapshot file.
type Snapshot struct {
	Campaigns []protocol.Campaign
	Codes     []protocol.CodeState
	Locks     []protocol.SettlementLock
	AsOf      uint64
}

// File encodes the snapshot as the NDJSON file hexiao-terminal import
// reads, in pages of at most perPage codes.
func (s Snapshot) File(t testing.TB, perPage int) []byte {
	t.Helper()
	if perPage <= 0 {
		perPage = protocol.MaxSnapshotCodes
	}
	var buf bytes.Buffer
	page := protocol.SnapshotPage{Snapshot: "termtest", AsOf: s.AsOf,
		Stores:    []protocol.Store{{ID: Store, Name: "上海一店", Region: Region, Timezone: "Asia/Shanghai"}},
		Campaigns: s.Campaigns, Keys: []protocol.IssuingKey{Key.IssuingKey}, Locks: s.Locks}
	codes := s.Codes
	for n := 0; ; n++ {
		page.Page = n
		k := min(perPage, len(codes))
		page.Codes, codes = codes[:k], codes[k:]
		page.Last = len(codes) == 0
		page.Resume = ""
		if !page.Last {
			page.Resume = fmt.Sprintf("p%d", n+1)
		}
		b, err := protocol.Encode(&page)
		if err != nil {
			t.Fatalf("encode snapshot page %d: %v", n, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
		if page.Last {
			return buf.Bytes()
		}
		page = protocol.SnapshotPage{Snapshot: "termtest", AsOf: s.AsOf}
	}
}

// Open sets up a terminal in a new temporary directory, imports snap and
// returns the open store; it is closed when the test ends.
func Open(t testing.TB, snap Snapshot) (*sqlite.Store, string) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	if err := sqlite.Init(ctx, dir, sqlite.Setup{Terminal: Terminal, Store: Store, Region: Region,
		Timezone: "Asia/Shanghai", Pepper: Pepper}); err != nil {
		t.Fatalf("init: %v", err)
	}
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Import(ctx, bytes.NewReader(snap.File(t, 0))); err != nil {
		t.Fatalf("import: %v", err)
	}
	return st, dir
}

// Clock is a settable clock for an engine.
type Clock struct{ T time.Time }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) { c.T = c.T.Add(d) }

// Link is a fake hub link: it answers every claim with Reply (its seq
// filled in), or fails with Err, or waits for the context when Hang is set.
// Claims records what it was asked.
type Link struct {
	Reply  protocol.ClaimReply
	Err    error
	Hang   bool
	During func() // runs while the claim is under way
	Claims []protocol.ClaimRequest
	// WrongSeq answers with another seq, as a late reply to an older claim.
	WrongSeq bool
}

// Claim answers as configured.
func (l *Link) Claim(ctx context.Context, req protocol.ClaimRequest) (protocol.ClaimReply, error) {
	l.Claims = append(l.Claims, req)
	if l.During != nil {
		l.During()
	}
	if l.Hang {
		<-ctx.Done()
		return protocol.ClaimReply{}, ctx.Err()
	}
	if l.Err != nil {
		return protocol.ClaimReply{}, l.Err
	}
	r := l.Reply
	r.Terminal, r.Seq, r.HubTime = req.Terminal, req.Seq, Now
	if l.WrongSeq {
		r.Seq--
	}
	return r, nil
}

// Dir sets up a terminal in a new temporary directory, imports snap,
// closes the store and returns the directory, for a test that opens it
// the way a program does.
func Dir(t testing.TB, snap Snapshot) string {
	t.Helper()
	st, dir := Open(t, snap)
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return dir
}
