package hublink_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/broker"
	"github.com/hexiao/hexiao/hub/mqttlink"
	hubsqlite "github.com/hexiao/hexiao/hub/sqlite"
	"github.com/hexiao/hexiao/hub/web"
	"github.com/hexiao/hexiao/internal/testlog"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/hublink"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// The fixture is the real thing on both sides, in one process: a hub on a
// SQLite ledger in a temporary directory, its embedded broker on a free
// loopback port, hub/mqttlink between them and hub/web on an httptest
// server (enrollment and POST /api/v1/terminal/status); terminals enroll
// over that HTTP API and run hublink over real MQTT. The one test seam is
// ledger, which wraps the hub for mqttlink and can lose, hold or alter
// what passes through it, as a broker or network would.

// wait bounds every wait for something that should happen: a "never
// happened" timeout, not a measurement.
const wait = 20 * time.Second

// Names of the fixture chain.
const (
	storeID = "sh-001"
	region  = "east"
	campID  = "c1"
	termID  = "T-1"
)

var ctx = context.Background()

// adminToken is the fixture web server's admin token.
const adminToken = "fixture-admin-token-0123456789"

// logBuffer collects log output.
type logBuffer = testlog.Buffer

// eventually polls cond until it holds, failing the test after wait with
// what cond last said.
func eventually(tb testing.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	within(tb, wait, 5*time.Millisecond, what, cond)
}

// within polls cond every poll until it holds, failing the test after d.
func within(tb testing.TB, d, poll time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s; last: %s", what, d, state)
		}
		time.Sleep(poll)
	}
}

// ledger is the hub as mqttlink sees it, with switches that lose or hold
// messages on their way through. The zero switches pass everything.
type ledger struct {
	*hub.Hub

	dropBatches atomic.Int32  // batches to lose before the hub sees them
	loseAcks    atomic.Int32  // acks to lose after the hub committed the batch
	badHash     atomic.Bool   // acks carry a hash that is not the terminal's
	holdClaims  atomic.Bool   // claims get no answer
	holdResume  atomic.Bool   // snapshot requests past page 0 get no answer
	batches     atomic.Int64  // batches that reached Ingest
	dropped     atomic.Int64  // batches lost by dropBatches
	snapStarts  atomic.Int64  // snapshot requests that start a snapshot (no resume token)
	asOf        atomic.Uint64 // as_of of the last snapshot page served

	mu   sync.Mutex
	gate chan struct{} // when set, Ingest waits until it is closed
}

var _ mqttlink.Ledger = (*ledger)(nil)

func (l *ledger) Ingest(ctx context.Context, terminal string, b *protocol.EventBatch) (protocol.Ack, error) {
	l.batches.Add(1)
	if l.dropBatches.Add(-1) >= 0 {
		l.dropped.Add(1)
		return protocol.Ack{}, errors.New("fixture: batch lost on its way to the hub")
	}
	l.dropBatches.Store(0)
	l.mu.Lock()
	gate := l.gate
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return protocol.Ack{}, ctx.Err()
		}
	}
	ack, err := l.Hub.Ingest(ctx, terminal, b)
	if err != nil {
		return ack, err
	}
	if l.loseAcks.Add(-1) >= 0 {
		return protocol.Ack{}, errors.New("fixture: ack lost on its way to the terminal")
	}
	l.loseAcks.Store(0)
	if l.badHash.Load() && ack.Seq > 0 {
		ack.Hash[0] ^= 0xff
	}
	return ack, nil
}

// holdIngest makes Ingest wait until the returned function is called.
func (l *ledger) holdIngest() (release func()) {
	g := make(chan struct{})
	l.mu.Lock()
	l.gate = g
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.gate = nil
			l.mu.Unlock()
			close(g)
		})
	}
}

func (l *ledger) Claim(ctx context.Context, terminal string, req *protocol.ClaimRequest) (protocol.ClaimReply, error) {
	if l.holdClaims.Load() {
		return protocol.ClaimReply{}, errors.New("fixture: claim lost")
	}
	return l.Hub.Claim(ctx, terminal, req)
}

func (l *ledger) Snapshot(ctx context.Context, terminal string, req *protocol.SnapshotRequest) (protocol.SnapshotPage, error) {
	if req.Resume == "" {
		l.snapStarts.Add(1)
	} else if l.holdResume.Load() {
		return protocol.SnapshotPage{}, errors.New("fixture: snapshot request lost")
	}
	p, err := l.Hub.Snapshot(ctx, terminal, req)
	if err == nil && p.Problem == nil {
		l.asOf.Store(p.AsOf)
	}
	return p, err
}

// directory is the hub answering the broker's logins, with a switch that
// refuses every login (a broker the terminal cannot get into).
type directory struct {
	hub    *hub.Hub
	refuse atomic.Bool
}

func (d *directory) Login(terminal string, password []byte) (string, error) {
	if d.refuse.Load() {
		return "", errors.New("fixture: logins refused")
	}
	return d.hub.Login(terminal, password)
}

// hubEnv is a running hub: ledger, broker, MQTT link and HTTP API.
type hubEnv struct {
	tb     testing.TB
	Hub    *hub.Hub
	ledger *ledger
	dir    *directory
	br     *broker.Broker
	web    *httptest.Server
	logs   *logBuffer

	disconnectRevoked bool // mqttlink kicks a revoked terminal off the broker, as hexiao-hub serve does

	mu       sync.Mutex
	stopLink func()
	secrets  map[string]string // code id → card secret text
	nextCode int
}

type hubOptions struct {
	// DisconnectRevoked wires mqttlink's OnRevoked to the broker's
	// Disconnect, as hexiao-hub serve does; without it a revoked terminal
	// stays connected and learns it from the feed.
	DisconnectRevoked bool
	Quiet             bool // discard the hub's logs (benchmarks)
}

// newHub starts a hub with store storeID in region and campaign campID
// (one use, offline allowed without caps), until the test ends.
func newHub(tb testing.TB, o hubOptions) *hubEnv {
	tb.Helper()
	h := &hubEnv{tb: tb, logs: &logBuffer{}, disconnectRevoked: o.DisconnectRevoked, secrets: map[string]string{}}
	log := func(part string) *slog.Logger { return h.logs.Logger().With("part", part) }
	if o.Quiet {
		log = func(string) *slog.Logger { return slog.New(slog.DiscardHandler) }
	}
	pepper := sha256.Sum256([]byte("hublink fixture pepper"))
	master := sha256.Sum256([]byte("hublink fixture master key"))
	sec, err := hub.NewSecrets(pepper[:], master[:])
	if err != nil {
		tb.Fatal(err)
	}
	db, err := hubsqlite.Open(filepath.Join(tb.TempDir(), "hub.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	hb, err := hub.New(ctx, hub.Config{Store: db, Secrets: sec, Log: log("hub"), App: "fixture"})
	if err != nil {
		tb.Fatal(err)
	}
	h.Hub, h.ledger, h.dir = hb, &ledger{Hub: hb}, &directory{hub: hb}
	h.br, err = broker.New(broker.Config{Addr: "127.0.0.1:0", Directory: h.dir, Log: log("broker")})
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.br.Start(); err != nil {
		tb.Fatal(err)
	}
	api, err := web.New(web.Config{Hub: hb, Token: adminToken, Log: log("web"),
		Enroll: &web.EnrollInfo{MQTTPort: h.br.Addr().(*net.TCPAddr).Port}})
	if err != nil {
		tb.Fatal(err)
	}
	h.web = httptest.NewServer(api.Handler())
	tb.Cleanup(func() {
		// Terminals first, then the link, as hexiao-hub serve stops.
		h.br.Close()
		h.stop()
		api.Close()
		h.web.Close()
		if tb.Failed() && !o.Quiet {
			tb.Logf("hub log:\n%s", h.logs)
		}
	})
	h.start()
	h.put(storeID, region)
	h.campaign(campID, 1, nil)
	return h
}

// start runs a new mqttlink on the broker and waits until it listens.
func (h *hubEnv) start() {
	h.tb.Helper()
	cfg := mqttlink.Config{Ledger: h.ledger, Transport: mqttlink.Embedded(h.br), Log: h.logs.Logger().With("part", "mqttlink")}
	if h.disconnectRevoked {
		cfg.OnRevoked = h.br.Disconnect
	}
	l, err := mqttlink.New(cfg)
	if err != nil {
		h.tb.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(c) }()
	select {
	case <-l.Subscribed():
	case err := <-done:
		h.tb.Fatalf("mqttlink ended before it subscribed: %v", err)
	case <-time.After(wait):
		h.tb.Fatal("mqttlink did not subscribe")
	}
	h.mu.Lock()
	h.stopLink = func() { cancel(); <-done }
	h.mu.Unlock()
}

// stop stops the MQTT link: until start, what terminals publish is
// acknowledged by the broker and lost.
func (h *hubEnv) stop() {
	h.mu.Lock()
	stop := h.stopLink
	h.stopLink = nil
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// put creates a store in Shanghai time.
func (h *hubEnv) put(id, region string) {
	h.tb.Helper()
	if _, err := h.Hub.PutStore(ctx, protocol.Store{ID: id, Name: "Store " + id, Region: region, Timezone: "Asia/Shanghai"}); err != nil {
		h.tb.Fatal(err)
	}
}

// campaign creates a campaign valid a month either side of now, offline
// allowed without caps; edit may change it first.
func (h *hubEnv) campaign(id string, uses int, edit func(*protocol.Campaign)) {
	h.tb.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	c := protocol.Campaign{ID: id, Name: "Campaign " + id, FaceValue: 2500, Uses: uses,
		ValidFrom: now.AddDate(0, -1, 0), ValidUntil: now.AddDate(0, 1, 0),
		UndoWindow: protocol.Duration(15 * time.Minute), Offline: protocol.OfflinePolicy{Allow: true}}
	if edit != nil {
		edit(&c)
	}
	if _, err := h.Hub.PutCampaign(ctx, c); err != nil {
		h.tb.Fatal(err)
	}
}

// importCodes imports n new card secrets into campaign and returns their
// code ids; secret gives each one's text.
func (h *hubEnv) importCodes(campaign string, n int) []string {
	h.tb.Helper()
	var ids []string
	for len(ids) < n {
		k := min(hub.MaxImport, n-len(ids))
		texts := make([]string, k)
		h.mu.Lock()
		for i := range texts {
			s := sha256.Sum256(fmt.Appendf(nil, "fixture secret %d", h.nextCode+i))
			texts[i] = fmt.Sprintf("%X", s[:8])
		}
		h.nextCode += k
		h.mu.Unlock()
		got, err := h.Hub.Import(ctx, campaign, texts, "fixture")
		if err != nil {
			h.tb.Fatal(err)
		}
		h.mu.Lock()
		for i, id := range got {
			h.secrets[id] = texts[i]
		}
		h.mu.Unlock()
		ids = append(ids, got...)
	}
	return ids
}

// secret is the card secret text of code id.
func (h *hubEnv) secret(id string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.secrets[id]
}

// issue issues n signed or dynamic codes of campaign and returns their ids.
func (h *hubEnv) issue(campaign string, format protocol.Format, n int) []string {
	h.tb.Helper()
	var ids []string
	err := h.Hub.Issue(ctx, campaign, hub.IssueRequest{Count: n, Format: format}, func(c hub.IssuedCode) error {
		ids = append(ids, c.ID)
		return nil
	})
	if err != nil {
		h.tb.Fatal(err)
	}
	return ids
}

// announce publishes a retained version announcement as the hub's
// in-process client does.
func (h *hubEnv) announce(version string) {
	h.tb.Helper()
	b, err := protocol.Encode(&protocol.VersionAnnounce{Protocol: version, App: "fixture", At: time.Now().UTC()})
	if err != nil {
		h.tb.Fatal(err)
	}
	if err := h.br.Publish(protocol.HubVersionTopic, b, true); err != nil {
		h.tb.Fatal(err)
	}
}

// terminalInfo is the hub's view of terminal id.
func (h *hubEnv) terminalInfo(id string) hub.TerminalInfo {
	h.tb.Helper()
	ts, err := h.Hub.Terminals(ctx)
	if err != nil {
		h.tb.Fatal(err)
	}
	for _, t := range ts {
		if t.ID == id {
			return t
		}
	}
	h.tb.Fatalf("the hub has no terminal %s", id)
	return hub.TerminalInfo{}
}

// ledgerSeqs returns the seqs of terminal's events in the hub's ledger, in
// ingest order.
func (h *hubEnv) ledgerSeqs(terminalID string) []uint64 {
	h.tb.Helper()
	var seqs []uint64
	f := hub.EventFilter{Terminal: terminalID, Kinds: []protocol.EventKind{protocol.KindRedemption, protocol.KindVoid, protocol.KindAttempt}}
	if err := h.Hub.Redemptions(ctx, f, func(r hub.Redemption) error {
		seqs = append(seqs, r.Seq)
		return nil
	}); err != nil {
		h.tb.Fatal(err)
	}
	return seqs
}

// checkLedger fails unless the hub holds terminal's events 1 to head, each
// once.
func (h *hubEnv) checkLedger(terminalID string, head uint64) {
	h.tb.Helper()
	seqs := h.ledgerSeqs(terminalID)
	seen := map[uint64]int{}
	for _, s := range seqs {
		seen[s]++
	}
	for s := uint64(1); s <= head; s++ {
		if seen[s] != 1 {
			h.tb.Errorf("the hub holds event %s:%d %d times, want once", terminalID, s, seen[s])
		}
	}
	if uint64(len(seqs)) != head {
		h.tb.Errorf("the hub holds %d events of %s, want %d", len(seqs), terminalID, head)
	}
}

// spy records what the broker routes on a topic filter, as an extra
// in-process subscriber (the hub's own link is another).
type spy struct {
	mu   sync.Mutex
	msgs []spied
}

type spied struct {
	topic    string
	payload  []byte
	retained bool
}

func (h *hubEnv) spy(filter string) *spy {
	h.tb.Helper()
	s := &spy{}
	unsub, err := h.br.Subscribe(filter, func(topic string, payload []byte, retained bool) {
		s.mu.Lock()
		s.msgs = append(s.msgs, spied{topic, payload, retained})
		s.mu.Unlock()
	})
	if err != nil {
		h.tb.Fatal(err)
	}
	h.tb.Cleanup(unsub)
	return s
}

func (s *spy) all() []spied {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]spied(nil), s.msgs...)
}

func (s *spy) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// term is an enrolled terminal: its store, engine and hub link. A Link runs
// once, so every start after a stop makes a new link and a new engine on
// the same store.
type term struct {
	tb   testing.TB
	h    *hubEnv
	dir  string
	cfg  hublink.Config
	st   *sqlite.Store
	logs *logBuffer
	opt  hublink.Options
	ecfg terminal.Config

	link *hublink.Link
	eng  *terminal.Engine

	cancel  context.CancelFunc
	runDone chan error

	incompatible chan error  // OnIncompatible's calls
	revoked      chan string // OnRevoked's calls
}

// fastOptions are the link's timings for tests: ticks, stalls, probes and
// retries short enough that every path runs in a fraction of a second.
func fastOptions() hublink.Options {
	return hublink.Options{App: "test", Tick: 10 * time.Millisecond, AckStall: 300 * time.Millisecond,
		Probe: 100 * time.Millisecond, Request: time.Second, Retry: 50 * time.Millisecond}
}

// enroll makes a token at the hub and enrolls a new terminal over the HTTP
// API; it returns its data directory and hub.json.
func (h *hubEnv) enroll(id, store string) (string, hublink.Config) {
	h.tb.Helper()
	tok, err := h.Hub.CreateEnrollment(ctx, store, id)
	if err != nil {
		h.tb.Fatal(err)
	}
	dir := filepath.Join(h.tb.TempDir(), id)
	got, err := hublink.Enroll(ctx, dir, protocol.EnrollLink{Hub: h.web.URL, Token: tok.Token}, "")
	if err != nil {
		h.tb.Fatalf("enroll %s: %v", id, err)
	}
	if got.Terminal != id || got.Store.ID != store {
		h.tb.Fatalf("enrolled as %s of %s, want %s of %s", got.Terminal, got.Store.ID, id, store)
	}
	cfg, err := hublink.LoadConfig(dir)
	if err != nil {
		h.tb.Fatal(err)
	}
	return dir, cfg
}

// newTerm enrolls terminal id of store and opens it with fastOptions
// changed by edit; its link is made but not started.
func (h *hubEnv) newTerm(id, store string, edit func(*hublink.Options, *terminal.Config)) *term {
	h.tb.Helper()
	dir, cfg := h.enroll(id, store)
	t := &term{tb: h.tb, h: h, dir: dir, cfg: cfg, logs: &logBuffer{}, opt: fastOptions(),
		incompatible: make(chan error, 16), revoked: make(chan string, 4)}
	if edit != nil {
		edit(&t.opt, &t.ecfg)
	}
	st, err := sqlite.Open(ctx, dir, t.logs.Logger().With("part", "store"))
	if err != nil {
		h.tb.Fatal(err)
	}
	t.st = st
	h.tb.Cleanup(func() {
		t.stop()
		st.Close()
		if h.tb.Failed() {
			h.tb.Logf("terminal %s log:\n%s", id, t.logs)
		}
	})
	t.relink()
	return t
}

// relink makes a new link and engine, wired as hexiao-terminal headless
// wires them.
func (t *term) relink() {
	t.tb.Helper()
	var eng *terminal.Engine
	opt := t.opt
	if opt.Log == nil {
		opt.Log = t.logs.Logger().With("part", "hublink")
	}
	opt.Online = func() bool { return eng.Online() }
	opt.Forced = func() bool { return eng.ForcedOffline() }
	opt.OnReachable = func(ok bool) { eng.SetReachable(ok) }
	opt.OnIncompatible = func(err error) {
		select {
		case t.incompatible <- err:
		default:
		}
	}
	opt.OnRevoked = func(why string) {
		select {
		case t.revoked <- why:
		default:
		}
	}
	link, err := hublink.New(t.cfg, t.st, opt)
	if err != nil {
		t.tb.Fatal(err)
	}
	eng = terminal.New(t.st, link, time.Now, t.ecfg, t.logs.Logger().With("part", "engine"))
	eng.SetReachable(false) // until the hub answers
	t.link, t.eng = link, eng
}

// start runs the link until stop.
func (t *term) start() {
	t.tb.Helper()
	if t.cancel != nil {
		t.tb.Fatal("term.start: already running")
	}
	c, cancel := context.WithCancel(ctx)
	t.cancel, t.runDone = cancel, make(chan error, 1)
	link := t.link
	go func() { t.runDone <- link.Run(c) }()
}

// stop ends Run, waits for it and makes a fresh link and engine for the
// next start. It returns Run's error (nil for a clean stop).
func (t *term) stop() error {
	if t.cancel == nil {
		return nil
	}
	t.cancel()
	var err error
	select {
	case err = <-t.runDone:
	case <-time.After(wait):
		t.tb.Fatal("Run did not return after its context ended")
	}
	t.cancel = nil
	t.relink()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// waitRun waits for Run to end by itself and returns its error; a fresh
// link and engine are ready afterwards.
func (t *term) waitRun() error {
	t.tb.Helper()
	select {
	case err := <-t.runDone:
		t.cancel()
		t.cancel = nil
		t.relink()
		return err
	case <-time.After(wait):
		t.tb.Fatal("Run did not end by itself")
		return nil
	}
}

// waitSynced waits until the terminal has a feed cursor (its snapshot is
// in) and its engine is online.
func (t *term) waitSynced() {
	t.tb.Helper()
	eventually(t.tb, "first sync", func() (bool, string) {
		c, err := t.st.FeedCursor(ctx)
		s := t.link.Status()
		return err == nil && c > 0 && !s.Snapshot && t.eng.Online(), fmt.Sprintf("cursor %d (%v), online %v, %s", c, err, t.eng.Online(), s.Describe())
	})
}

// waitAcked waits until the hub has acknowledged the whole journal, the
// outbox is empty and the link's status says so.
func (t *term) waitAcked() {
	t.tb.Helper()
	eventually(t.tb, "outbox flushed", func() (bool, string) {
		acked, _ := t.st.Acked(ctx)
		depth, _ := t.st.OutboxDepth(ctx)
		head := t.st.Head().Seq
		s := t.link.Status() // the link records the watermark just after the store
		return acked == head && depth == 0 && s.Acked == head, fmt.Sprintf("acked %d (link: %d), head %d, outbox %d", acked, s.Acked, head, depth)
	})
}

// codeState reads code id from the terminal's cache.
func (t *term) codeState(id string) (protocol.CodeState, error) {
	return t.st.CodeByID(ctx, id)
}

// waitStatus waits until code id is cached with status st.
func (t *term) waitStatus(id string, st protocol.CodeStatus) {
	t.tb.Helper()
	eventually(t.tb, fmt.Sprintf("code %s %s in the cache", id, st), func() (bool, string) {
		c, err := t.codeState(id)
		return err == nil && c.Status == st, fmt.Sprintf("status %q, err %v", c.Status, err)
	})
}

// redeem commits code text at the counter.
func (t *term) redeem(text string) terminal.Decision {
	t.tb.Helper()
	return t.eng.Commit(ctx, terminal.Input{Text: text, Entry: protocol.EntryKeyed, Cashier: "c1"})
}

// redeemOffline commits each code with the engine forced offline by a
// manager (then switched back), so the decisions are offline whatever the
// link does, and checks each was accepted offline.
func (t *term) redeemOffline(texts []string) {
	t.tb.Helper()
	if err := t.eng.ForceOffline(ctx, "m1", true, "test"); err != nil {
		t.tb.Fatal(err)
	}
	for _, s := range texts {
		if d := t.redeem(s); !d.Accepted() || d.Mode != protocol.ModeOffline {
			t.tb.Fatalf("offline redemption: %s (%s) mode %s, want accepted offline", d.Reason, d.Detail, d.Mode)
		}
	}
	if err := t.eng.ForceOffline(ctx, "m1", false, "test"); err != nil {
		t.tb.Fatal(err)
	}
}

// backlog syncs the terminal once, stops its link and redeems the card
// secrets of ids offline, so they wait in the outbox for the next start.
func (t *term) backlog(h *hubEnv, ids []string) {
	t.tb.Helper()
	t.start()
	t.waitSynced()
	if err := t.stop(); err != nil {
		t.tb.Fatal(err)
	}
	var texts []string
	for _, id := range ids {
		texts = append(texts, h.secret(id))
	}
	t.redeemOffline(texts)
}

// claimRequest is a well-formed claim for code, as the engine would send.
func (t *term) claimRequest(code string, seq uint64) protocol.ClaimRequest {
	return protocol.ClaimRequest{Terminal: t.cfg.Terminal, Seq: seq, Kind: protocol.KindRedemption, Store: storeID,
		Code: code, Format: protocol.FormatSecret, Campaign: campID, Uses: 1, At: time.Now()}
}
