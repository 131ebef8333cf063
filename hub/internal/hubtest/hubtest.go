// Package hubtest builds real hubs for tests and benchmarks: a SQLite
// ledger in a temporary directory, stores, campaigns, registered terminals
// with their signing keys, and a journal writer that makes each terminal's
// signed, chained events the way a counter would. It is for tests only and
// must never be imported by a program.
package hubtest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/sqlite"
	"github.com/hexiao/hexiao/protocol"
)

// Now is the instant fixtures start at: a Sunday, 12:00 in Shanghai.
var Now = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Fixture is a hub over a SQLite ledger in a temporary directory.
type Fixture struct {
	TB    testing.TB
	Dir   string
	Clock *Clock
	Hub   *hub.Hub
	DB    *sqlite.Store
	Cfg   hub.Config
	sec   *hub.Secrets
	next  map[string]int // next fixture secret per campaign
}

// Pepper and Master are the fixture hub's keys.
var (
	Pepper = []byte("hubtest-pepper-32-bytes-long!!!!")
	Master = sha256.Sum256([]byte("hubtest master key"))
)

// New opens a fixture hub; cfg's Store, Secrets and Now are filled in.
// The hub is closed when the test ends.
func New(tb testing.TB, cfg hub.Config) *Fixture {
	tb.Helper()
	sec, err := hub.NewSecrets(Pepper, Master[:])
	if err != nil {
		tb.Fatal(err)
	}
	f := &Fixture{TB: tb, Dir: tb.TempDir(), Clock: &Clock{t: Now}, sec: sec, Cfg: cfg}
	f.open()
	tb.Cleanup(func() { f.DB.Close() })
	return f
}

func (f *Fixture) open() {
	f.TB.Helper()
	db, err := sqlite.Open(filepath.Join(f.Dir, "hub.db"), nil)
	if err != nil {
		f.TB.Fatal(err)
	}
	cfg := f.Cfg
	cfg.Store, cfg.Secrets, cfg.Now = db, f.sec, f.Clock.Now
	h, err := hub.New(context.Background(), cfg)
	if err != nil {
		db.Close()
		f.TB.Fatal(err)
	}
	f.DB, f.Hub = db, h
}

// Restart closes the ledger and opens a new hub on the same files, as a
// hub process restart does (everything held in memory is gone).
func (f *Fixture) Restart() {
	f.TB.Helper()
	if err := f.DB.Close(); err != nil {
		f.TB.Fatal(err)
	}
	f.open()
}

// Store creates a store in region, in Shanghai time.
func (f *Fixture) Store(id, region string) protocol.Store {
	f.TB.Helper()
	s, err := f.Hub.PutStore(context.Background(), protocol.Store{ID: id, Name: "Store " + id, Region: region, Timezone: "Asia/Shanghai"})
	if err != nil {
		f.TB.Fatal(err)
	}
	return s
}

// Campaign creates a campaign: 25.00 yuan, uses uses, valid a year around
// Now, offline allowed without caps, a 15-minute undo window; edit may
// change it first.
func (f *Fixture) Campaign(id string, uses int, edit func(*protocol.Campaign)) protocol.Campaign {
	f.TB.Helper()
	c := protocol.Campaign{ID: id, Name: "Campaign " + id, FaceValue: 2500, Uses: uses,
		ValidFrom: Now.AddDate(0, -6, 0), ValidUntil: Now.AddDate(0, 6, 0),
		UndoWindow: protocol.Duration(15 * time.Minute), Offline: protocol.OfflinePolicy{Allow: true}}
	if edit != nil {
		edit(&c)
	}
	c, err := f.Hub.PutCampaign(context.Background(), c)
	if err != nil {
		f.TB.Fatal(err)
	}
	return c
}

// Import imports the next n fixture card secrets into campaign and returns their
// code ids.
func (f *Fixture) Import(campaign string, n int) []string {
	f.TB.Helper()
	if f.next == nil {
		f.next = map[string]int{}
	}
	secrets := make([]string, n)
	for i := range secrets {
		secrets[i] = Secret(campaign, f.next[campaign]+i)
	}
	f.next[campaign] += n
	ids, err := f.Hub.Import(context.Background(), campaign, secrets, "fixture")
	if err != nil {
		f.TB.Fatal(err)
	}
	return ids
}

// Secret is fixture card secret i of campaign.
func Secret(campaign string, i int) string {
	s := sha256.Sum256(fmt.Appendf(nil, "%s/%d", campaign, i))
	return fmt.Sprintf("%X", s[:8])
}

// Term is a registered terminal that writes its journal like a counter:
// every event chained to the one before and signed.
type Term struct {
	ID, Store string
	Priv      ed25519.PrivateKey
	Password  []byte
	// Skew is how far the terminal's clock is off the fixture clock: the
	// times it writes (events, batches, claims, births) are Clock.Now() +
	// Skew. A test may change it between writes, never during one.
	Skew time.Duration
	f    *Fixture

	mu   sync.Mutex // guards seq, prev
	seq  uint64
	prev protocol.Hash
}

// Terminal registers terminal id in store with keys derived from its id.
func (f *Fixture) Terminal(id, store string) *Term {
	f.TB.Helper()
	seed := sha256.Sum256([]byte("hubtest terminal " + id))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pw := []byte("mqtt-password-of-" + id)
	_, err := f.Hub.RegisterTerminal(context.Background(), hub.TerminalSpec{ID: id, Store: store,
		Public: priv.Public().(ed25519.PublicKey), Password: pw})
	if err != nil {
		f.TB.Fatal(err)
	}
	return &Term{ID: id, Store: store, Priv: priv, Password: pw, f: f}
}

// Sign chains and signs e as the terminal's next event: V, Terminal,
// Store (when empty), Seq and Prev are filled in.
func (t *Term) Sign(e protocol.Event) protocol.SignedEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e.V, e.Terminal, e.Seq, e.Prev = protocol.WireVersion, t.ID, t.seq, t.prev
	if e.Store == "" {
		e.Store = t.Store
	}
	if e.At.IsZero() {
		e.At = t.now()
	}
	se, err := protocol.SignEvent(t.Priv, &e)
	if err != nil {
		t.f.TB.Fatalf("sign event %d: %v", e.Seq, err)
	}
	t.prev = se.Hash()
	return se
}

// now is the terminal's clock.
func (t *Term) now() time.Time { return t.f.Clock.Now().Add(t.Skew) }

// Birth delivers the terminal's birth message live, its clock read now,
// as on every connect: the hub measures the terminal's skew from it.
func (t *Term) Birth() {
	t.f.TB.Helper()
	p := &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: t.ID, Store: t.Store,
		State: protocol.PresenceOnline, Protocol: protocol.Version, Mode: protocol.ModeOnline, Clock: t.now()}
	if err := t.f.Hub.Presence(context.Background(), t.ID, p, true); err != nil {
		t.f.TB.Fatalf("birth of %s: %v", t.ID, err)
	}
}

// Seq is the seq of the terminal's last event.
func (t *Term) Seq() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

// Redemption makes the terminal's next event: uses of code (a code id of
// campaign) redeemed in mode.
func (t *Term) Redemption(code, campaign string, format protocol.Format, uses int, mode protocol.Mode) protocol.SignedEvent {
	return t.Sign(protocol.Event{Kind: protocol.KindRedemption, Mode: mode, Entry: protocol.EntryScanned,
		Reason: protocol.Accepted, Code: code, Format: format, Campaign: campaign, Uses: uses, Amount: 2500 * int64(uses), Cashier: "c1"})
}

// Claim is the claim a terminal sends before journaling Redemption at its
// next seq.
func (t *Term) Claim(code, campaign string, format protocol.Format, uses int) *protocol.ClaimRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &protocol.ClaimRequest{Terminal: t.ID, Seq: t.seq + 1, Kind: protocol.KindRedemption, Store: t.Store,
		Code: code, Format: format, Campaign: campaign, Uses: uses, At: t.now(), Cashier: "c1"}
}

// Batch wraps events in a batch from the terminal.
func (t *Term) Batch(events ...protocol.SignedEvent) *protocol.EventBatch {
	return &protocol.EventBatch{Header: protocol.Header{V: protocol.WireVersion}, Terminal: t.ID, Sent: t.now(), Events: events}
}

// Ingest sends a batch and fails the test on an error.
func (t *Term) Ingest(events ...protocol.SignedEvent) protocol.Ack {
	t.f.TB.Helper()
	ack, err := t.f.Hub.Ingest(context.Background(), t.ID, t.Batch(events...))
	if err != nil {
		t.f.TB.Fatalf("ingest %s: %v", t.ID, err)
	}
	return ack
}
