package hublink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// Options tune a Link. Zero values take the defaults in brackets.
type Options struct {
	App         string           // build version, for presence
	Now         func() time.Time // the terminal's own clock, uncorrected, for presence and skew (time.Now)
	Clock       func() time.Time // the engine's clock, for the last contact (Now)
	Log         *slog.Logger
	BatchEvents int           // events in one batch [protocol.MaxBatchEvents]
	Window      int           // batches sent ahead of the ack [4]
	AckStall    time.Duration // no ack progress this long: re-send from the watermark [5s]
	Probe       time.Duration // how often an offline terminal probes the hub [2s]
	Presence    time.Duration // how often presence is refreshed [30s]
	Request     time.Duration // how long a feed or snapshot request may go unanswered [10s]
	Retry       time.Duration // first reconnect delay, doubled up to 30 s [500ms]
	Tick        time.Duration // how often the outbox is checked for new events [100ms]

	// Online reports the engine's mode (for presence and probing); nil
	// means the link's own reachability.
	Online func() bool
	// Forced reports a manager's force-offline switch: a forced-offline
	// engine is not probed back online.
	Forced func() bool
	// OnReachable is told when the hub becomes reachable (connected, version
	// compatible, answering) and when it stops: the engine's SetReachable.
	OnReachable func(bool)
	// OnRevoked is told, once, that the hub revoked this terminal, after the
	// cache is wiped.
	OnRevoked func(reason string)
	// OnIncompatible is told when the hub's protocol version cannot work with
	// this terminal's (nil error: compatible again).
	OnIncompatible func(error)
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Clock == nil {
		o.Clock = o.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.BatchEvents <= 0 || o.BatchEvents > protocol.MaxBatchEvents {
		o.BatchEvents = protocol.MaxBatchEvents
	}
	if o.Window <= 0 {
		o.Window = 4
	}
	if o.AckStall <= 0 {
		o.AckStall = 5 * time.Second
	}
	if o.Probe <= 0 {
		o.Probe = 2 * time.Second
	}
	if o.Presence <= 0 {
		o.Presence = 30 * time.Second
	}
	if o.Request <= 0 {
		o.Request = 10 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 500 * time.Millisecond
	}
	if o.Tick <= 0 {
		o.Tick = 100 * time.Millisecond
	}
	return o
}

// Errors Claim returns without asking the hub.
var (
	ErrNotConnected = errors.New("not connected to the hub")
	ErrIncompatible = errors.New("the hub's protocol version is incompatible")
	ErrRevoked      = errors.New("this terminal was revoked by HQ")
)

// Link keeps one terminal in sync with its hub over MQTT. It implements
// terminal.HubLink.
type Link struct {
	cfg   Config
	opt   Options
	store *sqlite.Store
	id    terminal.Identity
	log   *slog.Logger
	c     paho.Client

	in   chan inbound  // hub messages for the loop, in arrival order
	kick chan struct{} // new events to push
	lost chan struct{} // paho lost the connection

	connected atomic.Bool
	reachable atomic.Bool
	gate      atomic.Pointer[gateState]
	revoked   atomic.Bool

	claimMu sync.Mutex
	claims  map[uint64]chan protocol.ClaimReply

	statusMu sync.Mutex
	status   Status
	problems map[string]string // by area: version, ack, hub, revoked

	done chan struct{}
}

type gateState struct {
	hub string
	err error
}

type inbound struct {
	kind    protocol.TopicKind
	payload []byte
	event   string // up, lost, contact, revoked
}

var _ terminal.HubLink = (*Link)(nil)

// New makes a link for the terminal in store, reaching the hub as cfg
// says. Run connects it.
func New(cfg Config, store *sqlite.Store, opt Options) (*Link, error) {
	opt = opt.withDefaults()
	id := store.Identity()
	if cfg.Terminal != id.Terminal {
		return nil, fmt.Errorf("hub.json names terminal %s, the data directory holds %s", cfg.Terminal, id.Terminal)
	}
	tc, err := cfg.TLS()
	if err != nil {
		return nil, err
	}
	l := &Link{cfg: cfg, opt: opt, store: store, id: id, log: opt.Log.With("hub", cfg.Broker),
		in: make(chan inbound, 256), kick: make(chan struct{}, 1), lost: make(chan struct{}, 1), claims: map[uint64]chan protocol.ClaimReply{},
		done: make(chan struct{})}
	l.c = paho.NewClient(l.clientOptions(tc))
	acked, err := store.Acked(context.Background())
	if err != nil {
		return nil, err
	}
	l.status.Acked = acked
	return l, nil
}

func (l *Link) clientOptions(tc *tls.Config) *paho.ClientOptions {
	will, _ := protocol.Encode(&protocol.Presence{Terminal: l.id.Terminal, State: protocol.PresenceOffline})
	o := paho.NewClientOptions().AddBroker(l.cfg.Broker).
		SetClientID(l.id.Terminal).SetUsername(l.id.Terminal).SetPassword(l.cfg.Password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(30*time.Second).SetPingTimeout(10*time.Second).
		SetConnectTimeout(10*time.Second).SetWriteTimeout(10*time.Second).
		SetOrderMatters(true).
		SetBinaryWill(protocol.TerminalTopic(l.id.Terminal, protocol.TopicPresence), will, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			l.log.Warn("hub connection lost", "err", err)
			select {
			case l.lost <- struct{}{}:
			default:
			}
		})
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	return o
}

// Status is what the link knows, for the window and logs.
type Status struct {
	Connected   bool
	Reachable   bool
	LastContact time.Time
	Acked       uint64 // the hub's watermark
	Head        uint64 // the journal's last seq
	FeedCursor  uint64
	Snapshot    bool   // a snapshot pull is under way
	SnapshotAt  int    // pages staged
	HubVersion  string // the protocol the hub announced
	Problem     string // why sync is stuck (incompatible, refused event, revoked), or ""
	Offset      time.Duration
}

// Status returns a copy of the link's state.
func (l *Link) Status() Status {
	l.statusMu.Lock()
	defer l.statusMu.Unlock()
	s := l.status
	var ps []string
	for _, area := range []string{"revoked", "version", "ack", "hub"} {
		if p := l.problems[area]; p != "" {
			ps = append(ps, p)
		}
	}
	s.Problem = strings.Join(ps, "; ")
	s.Connected, s.Reachable = l.connected.Load(), l.reachable.Load()
	s.LastContact, s.Head = l.store.LastContact(), l.store.Head().Seq
	return s
}

// setProblem says why sync is stuck in one area ("" clears it).
func (l *Link) setProblem(area, msg string) {
	l.statusMu.Lock()
	if l.problems == nil {
		l.problems = map[string]string{}
	}
	l.problems[area] = msg
	l.statusMu.Unlock()
}

func (l *Link) setStatus(f func(*Status)) {
	l.statusMu.Lock()
	f(&l.status)
	l.statusMu.Unlock()
}

// Kick tells the link new events are in the journal, so it pushes them at
// once rather than on its next tick.
func (l *Link) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Claim asks the hub to arbitrate a claim and waits for its answer until
// ctx ends. It fails at once when the link is down, revoked or
// incompatible, so a scan never waits on a hub it cannot reach.
func (l *Link) Claim(ctx context.Context, req protocol.ClaimRequest) (protocol.ClaimReply, error) {
	switch {
	case l.revoked.Load():
		return protocol.ClaimReply{}, ErrRevoked
	case !l.connected.Load():
		return protocol.ClaimReply{}, ErrNotConnected
	}
	if g := l.gate.Load(); g == nil || g.err != nil {
		return protocol.ClaimReply{}, ErrIncompatible
	}
	b, err := protocol.Encode(&req)
	if err != nil {
		return protocol.ClaimReply{}, err
	}
	ch := make(chan protocol.ClaimReply, 1)
	l.claimMu.Lock()
	l.claims[req.Seq] = ch
	l.claimMu.Unlock()
	defer func() {
		l.claimMu.Lock()
		delete(l.claims, req.Seq)
		l.claimMu.Unlock()
	}()
	sent := l.opt.Now()
	if t := l.c.Publish(protocol.TerminalTopic(l.id.Terminal, protocol.TopicClaim), 1, false, b); t.Error() != nil {
		return protocol.ClaimReply{}, fmt.Errorf("send claim: %w", t.Error())
	}
	select {
	case r := <-ch:
		l.measure(r.HubTime, sent)
		select { // the loop records the contact
		case l.in <- inbound{event: "contact"}:
		default:
		}
		return r, nil
	case <-ctx.Done():
		return protocol.ClaimReply{}, fmt.Errorf("claim %d: no answer from the hub: %w", req.Seq, ctx.Err())
	}
}

// measure notes the clock offset, the hub's time against the middle of
// the round trip that brought it (for an ack, its arrival).
func (l *Link) measure(hubTime, sent time.Time) {
	now := l.opt.Now()
	mid := sent.Add(now.Sub(sent) / 2)
	off := hubTime.Sub(mid)
	l.setStatus(func(s *Status) { s.Offset = off })
}

// handle receives every message; it must not block for long, so claim
// replies are answered here and the rest queued for the loop in order.
func (l *Link) handle(_ paho.Client, m paho.Message) {
	t, err := protocol.ParseTopic(m.Topic())
	if err != nil {
		l.log.Warn("message on an unknown topic", "topic", m.Topic())
		return
	}
	if t.Kind == protocol.TopicClaimReply {
		var r protocol.ClaimReply
		if err := protocol.Decode(m.Payload(), &r); err != nil || r.Terminal != l.id.Terminal {
			l.log.Warn("claim reply dropped", "err", err)
			return
		}
		l.claimMu.Lock()
		ch := l.claims[r.Seq]
		l.claimMu.Unlock()
		if ch != nil {
			select {
			case ch <- r:
			default:
			}
		}
		return
	}
	l.in <- inbound{kind: t.Kind, payload: m.Payload()}
}

// Run connects and keeps the terminal in sync until ctx ends or the hub
// revokes the terminal. It reconnects by itself, backing off up to 30 s.
func (l *Link) Run(ctx context.Context) error {
	defer close(l.done)
	if why := l.store.Revoked(); why != "" {
		l.revoked.Store(true)
		return fmt.Errorf("%w (%s)", ErrRevoked, why)
	}
	connCtx, stopConn := context.WithCancel(ctx)
	defer stopConn()
	go l.connect(connCtx)
	s := &syncState{}
	tick := time.NewTicker(l.opt.Tick)
	defer tick.Stop()
	defer l.c.Disconnect(250)
	defer func() { // a stopped link is down: claims fail at once, the engine is told
		l.connected.Store(false)
		l.setReachable(false)
	}()
	for {
		select {
		case <-ctx.Done():
			l.goodbye()
			return ctx.Err()
		case m := <-l.in:
			switch m.event {
			case "up":
				l.onConnected(ctx, s)
				continue
			case "lost":
				l.onLost(s)
				continue
			case "contact":
				l.contact(ctx, s)
				continue
			}
			if err := l.receive(ctx, s, m); errors.Is(err, ErrRevoked) {
				return err
			}
		case <-l.kick:
			l.push(ctx, s)
		case <-tick.C:
			if l.revoked.Load() {
				return ErrRevoked
			}
			l.every(ctx, s)
		}
	}
}

// syncState is the loop's own state.
type syncState struct {
	up         bool      // connected and subscribed
	sentTo     uint64    // events up to here were sent since the last reconnect or stall
	acked      uint64    // the watermark as the store has it
	ackMoved   time.Time // when the watermark last moved (or sending began)
	refused    bool      // the hub refuses the event after the watermark
	feedAsked  time.Time // a feed request is out (zero: none)
	snapshot   bool      // pulling a snapshot
	snapAsked  time.Time
	probed     time.Time
	presenced  time.Time
	mode       protocol.Mode
	contactRec time.Time // last time the contact was written to disk
	offsetRec  time.Duration
}

// connect dials until it succeeds, tells the loop ("up"), then waits for
// paho to say the connection was lost, tells the loop ("lost"), and dials
// again. Both messages come from this goroutine on the one channel l.in, so
// the loop sees them in order: a loss is never taken for the connection
// made after it.
func (l *Link) connect(ctx context.Context) {
	delay := l.opt.Retry
	for ctx.Err() == nil {
		select { // a loss reported for an earlier connection
		case <-l.lost:
		default:
		}
		t := l.c.Connect()
		t.Wait()
		err := t.Error()
		if err == nil {
			if err = l.subscribe(); err != nil {
				l.c.Disconnect(0)
			}
		}
		if err == nil {
			delay = l.opt.Retry
			select {
			case l.in <- inbound{event: "up"}:
			case <-ctx.Done():
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-l.lost:
			}
			select {
			case l.in <- inbound{event: "lost"}:
			case <-ctx.Done():
				return
			}
			continue
		}
		if errors.Is(err, packets.ErrorRefusedNotAuthorised) || errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			// The broker says the same to a wrong password and a revoked
			// terminal: only the hub's own word wipes the cache.
			revoked, aerr := l.cfg.askRevoked(ctx)
			if revoked {
				l.log.Error("the hub says this terminal is revoked", "login", err)
				select {
				case l.in <- inbound{event: "revoked"}:
				case <-ctx.Done():
				}
				return
			}
			// Not revoked (or the hub could not say, e.g. while it starts):
			// try again with the usual back-off.
			l.log.Error("the broker refuses this terminal's login", "err", err, "hub_status", aerr)
		}
		l.log.Warn("cannot reach the hub", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (l *Link) subscribe() error {
	filters := map[string]byte{
		protocol.TopicRoot + "/t/" + l.id.Terminal + "/#": 1,
		protocol.StoreFeedTopic(l.id.Store):               1,
		protocol.HubVersionTopic:                          1,
	}
	t := l.c.SubscribeMultiple(filters, l.handle)
	if !t.WaitTimeout(10 * time.Second) {
		return errors.New("subscribe: no answer in 10 s")
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	st, ok := t.(*paho.SubscribeToken)
	if ok {
		for f, code := range st.Result() {
			if code >= 0x80 {
				return fmt.Errorf("subscribe %s: refused by the broker", f)
			}
		}
	}
	return nil
}

func (l *Link) onConnected(ctx context.Context, s *syncState) {
	l.connected.Store(true)
	s.up = true
	acked, err := l.store.Acked(ctx)
	if err != nil {
		l.log.Error("read the ack watermark", "err", err)
	}
	s.acked, s.sentTo, s.ackMoved, s.refused = acked, acked, l.opt.Now(), false
	l.setStatus(func(st *Status) { st.Acked = acked })
	s.feedAsked, s.snapAsked, s.probed = time.Time{}, time.Time{}, time.Time{}
	l.log.Info("connected to the hub", "acked", acked, "head", l.store.Head().Seq)
	l.presence(ctx, s)
	cursor, _ := l.store.FeedCursor(ctx)
	pr, _ := l.store.SnapshotProgress(ctx)
	switch {
	case cursor == 0:
		s.snapshot = true
	case pr.Pages > 0:
		l.store.DropSnapshot(ctx) // a stale pull: the cache is already synced
	}
	// Sync starts once the hub's version is known to be compatible; the
	// retained announcement arrives right after the subscription.
	if g := l.gate.Load(); g != nil && g.err == nil {
		l.startSync(ctx, s)
	}
}

func (l *Link) startSync(ctx context.Context, s *syncState) {
	if s.snapshot {
		l.askSnapshot(ctx, s)
	} else {
		l.askFeed(ctx, s)
	}
	l.push(ctx, s)
}

func (l *Link) onLost(s *syncState) {
	l.connected.Store(false)
	s.up = false
	l.setReachable(false) // claims under way time out on their own deadline
}

func (l *Link) setReachable(ok bool) {
	if l.reachable.Swap(ok) != ok {
		l.log.Info("hub reachability", "reachable", ok)
		if l.opt.OnReachable != nil {
			l.opt.OnReachable(ok)
		}
	}
}

func (l *Link) publish(kind protocol.TopicKind, m protocol.Message, retained bool) error {
	b, err := protocol.Encode(m)
	if err != nil {
		return err
	}
	t := l.c.Publish(protocol.TerminalTopic(l.id.Terminal, kind), 1, retained, b)
	select {
	case <-t.Done():
		return t.Error()
	default:
		return nil // the PUBACK means little (DESIGN.md invariant 2); the hub's answer counts
	}
}

// receive handles one hub message.
func (l *Link) receive(ctx context.Context, s *syncState, m inbound) error {
	if m.event == "revoked" {
		return l.revoke(ctx, "the broker refuses this terminal's login: revoked at the hub")
	}
	switch m.kind {
	case protocol.TopicHubVersion:
		var v protocol.VersionAnnounce
		if err := protocol.Decode(m.payload, &v); err != nil {
			l.log.Warn("hub version announcement unreadable", "err", err)
			return nil
		}
		err := protocol.CheckCompatible(v.Protocol, protocol.Version)
		old := l.gate.Swap(&gateState{hub: v.Protocol, err: err})
		l.setStatus(func(st *Status) { st.HubVersion = v.Protocol })
		l.setProblem("version", "")
		if err != nil {
			l.setProblem("version", err.Error())
		}
		if err != nil {
			l.log.Error("the hub's protocol is incompatible: not syncing", "hub", v.Protocol, "terminal", protocol.Version, "err", err)
			l.setReachable(false)
		}
		if l.opt.OnIncompatible != nil && (old == nil || (old.err == nil) != (err == nil)) {
			l.opt.OnIncompatible(err)
		}
		if err == nil && s.up && (old == nil || old.err != nil) {
			l.startSync(ctx, s) // the hub's first answer makes it reachable
		}
	case protocol.TopicAck:
		var a protocol.Ack
		if err := protocol.Decode(m.payload, &a); err != nil || a.Terminal != l.id.Terminal {
			l.log.Warn("ack dropped", "err", err)
			return nil
		}
		l.onAck(ctx, s, &a)
	case protocol.TopicFeedPage:
		var p protocol.FeedPage
		if err := protocol.Decode(m.payload, &p); err != nil || p.Terminal != l.id.Terminal {
			l.log.Warn("feed page dropped", "err", err)
			return nil
		}
		return l.onFeedPage(ctx, s, &p)
	case protocol.TopicStoreFeed:
		var p protocol.FeedPush
		if err := protocol.Decode(m.payload, &p); err != nil || p.Store != l.id.Store {
			l.log.Warn("feed push dropped", "err", err)
			return nil
		}
		l.onPush(ctx, s, &p)
	case protocol.TopicSnapPage:
		var p protocol.SnapshotPage
		if err := protocol.Decode(m.payload, &p); err != nil {
			l.log.Warn("snapshot page dropped", "err", err)
			return nil
		}
		return l.onSnapshotPage(ctx, s, &p)
	}
	return nil
}

func (l *Link) gateOpen() bool {
	g := l.gate.Load()
	return g != nil && g.err == nil
}

// contact records that the hub answered: in memory at once, on disk at
// most every 5 s (the offline age survives a restart to within that).
func (l *Link) contact(ctx context.Context, s *syncState) {
	now := l.opt.Now()
	if l.gateOpen() && s.up {
		l.setReachable(true)
	}
	if now.Sub(s.contactRec) >= 5*time.Second {
		if err := l.store.SetLastContact(ctx, l.opt.Clock()); err != nil {
			l.log.Error("record hub contact", "err", err)
		} else {
			s.contactRec = now
		}
	}
	off := l.Status().Offset
	if d := off - s.offsetRec; d > time.Second || d < -time.Second {
		if err := l.store.SetClockOffset(ctx, off); err == nil {
			s.offsetRec = off
		}
	}
}

func (l *Link) onAck(ctx context.Context, s *syncState, a *protocol.Ack) {
	l.measure(a.HubTime, l.opt.Now())
	l.contact(ctx, s)
	if a.Refused != nil {
		if !s.refused {
			l.log.Error("the hub refuses an event: it stays in the outbox", "seq", a.Refused.Seq, "kind", a.Refused.Kind, "detail", a.Refused.Detail)
		}
		s.refused = true
		l.setProblem("ack", fmt.Sprintf("the hub refuses event %d (%s): %s", a.Refused.Seq, a.Refused.Kind, a.Refused.Detail))
	}
	if a.Seq < s.acked {
		// The hub has less than it acknowledged before (restored from a
		// backup?): the journal still has every event, so send them again.
		l.log.Warn("the hub's watermark went back: re-sending", "hub", a.Seq, "here", s.acked)
		s.sentTo = a.Seq
		l.push(ctx, s)
		return
	}
	if a.Seq > s.acked {
		if err := l.store.Acknowledge(ctx, a.Seq, a.Hash); err != nil {
			l.log.Error("ack not applied", "seq", a.Seq, "err", err)
			l.setProblem("ack", err.Error())
			return
		}
		if a.Refused == nil {
			l.setProblem("ack", "")
		}
		s.acked, s.ackMoved = a.Seq, l.opt.Now()
		l.setStatus(func(st *Status) { st.Acked = a.Seq })
		if s.sentTo < a.Seq {
			s.sentTo = a.Seq
		}
	}
	l.push(ctx, s)
}

// push sends the journal from sentTo on, up to Window batches ahead of the
// watermark.
func (l *Link) push(ctx context.Context, s *syncState) {
	if !s.up || !l.gateOpen() || s.refused {
		return
	}
	head := l.store.Head().Seq
	limit := uint64(l.opt.Window * l.opt.BatchEvents)
	for s.sentTo < head && s.sentTo-s.acked < limit {
		if s.sentTo == s.acked {
			s.ackMoved = l.opt.Now() // the stall clock starts with the first unacked batch
		}
		n := l.opt.BatchEvents
		var b []byte
		var evs []protocol.SignedEvent
		for {
			var err error
			evs, err = l.store.Events(ctx, s.sentTo+1, n)
			if err != nil || len(evs) == 0 {
				l.log.Error("read the journal", "from", s.sentTo+1, "err", err)
				return
			}
			b, err = protocol.Encode(&protocol.EventBatch{Terminal: l.id.Terminal, Sent: l.opt.Now(), Events: evs})
			if errors.Is(err, protocol.ErrTooLarge) && n > 1 {
				n /= 2
				continue
			}
			if err != nil {
				l.log.Error("encode events", "err", err)
				return
			}
			break
		}
		t := l.c.Publish(protocol.TerminalTopic(l.id.Terminal, protocol.TopicEvents), 1, false, b)
		if t.WaitTimeout(0) && t.Error() != nil {
			l.log.Warn("send events", "err", t.Error())
			return
		}
		s.sentTo += uint64(len(evs))
	}
}

func (l *Link) askFeed(ctx context.Context, s *syncState) {
	cursor, err := l.store.FeedCursor(ctx)
	if err != nil {
		l.log.Error("read the feed cursor", "err", err)
		return
	}
	if err := l.publish(protocol.TopicFeedRequest, &protocol.FeedRequest{Terminal: l.id.Terminal, After: cursor}, false); err != nil {
		l.log.Warn("ask for the feed", "err", err)
		return
	}
	s.feedAsked = l.opt.Now()
}

func (l *Link) askSnapshot(ctx context.Context, s *syncState) {
	pr, err := l.store.SnapshotProgress(ctx)
	if err != nil {
		l.log.Error("read snapshot progress", "err", err)
		return
	}
	l.setStatus(func(st *Status) { st.Snapshot, st.SnapshotAt = true, pr.Pages })
	if err := l.publish(protocol.TopicSnapRequest, &protocol.SnapshotRequest{Terminal: l.id.Terminal, Resume: pr.Resume}, false); err != nil {
		l.log.Warn("ask for the snapshot", "err", err)
		return
	}
	s.snapAsked = l.opt.Now()
}

func (l *Link) onFeedPage(ctx context.Context, s *syncState, p *protocol.FeedPage) error {
	l.contact(ctx, s)
	if p.Problem != nil {
		s.feedAsked = time.Time{}
		return l.onProblem(ctx, s, p.Problem)
	}
	n, err := l.store.ApplyFeed(ctx, p.After, p.Next, p.Changes)
	if errors.Is(err, sqlite.ErrFeedGap) {
		return nil // an answer to an old request; the current one is out
	}
	if err != nil {
		l.log.Error("feed page not applied", "after", p.After, "err", err)
		s.feedAsked = time.Time{}
		return nil
	}
	if n > 0 {
		l.log.Debug("feed applied", "changes", n, "cursor", p.Next)
	}
	s.feedAsked = time.Time{}
	l.setProblem("hub", "") // the hub serves this terminal again
	if p.More {
		l.askFeed(ctx, s)
	}
	return nil
}

func (l *Link) onPush(ctx context.Context, s *syncState, p *protocol.FeedPush) {
	if s.snapshot {
		return // the feed is read from the snapshot's as_of once it is in
	}
	_, err := l.store.ApplyFeed(ctx, p.After, 0, p.Changes)
	if errors.Is(err, sqlite.ErrFeedGap) {
		if s.feedAsked.IsZero() {
			l.askFeed(ctx, s)
		}
		return
	}
	if err != nil {
		l.log.Error("feed push not applied", "err", err)
	}
}

func (l *Link) onSnapshotPage(ctx context.Context, s *syncState, p *protocol.SnapshotPage) error {
	l.contact(ctx, s)
	if !s.snapshot {
		return nil // a late answer to a finished pull
	}
	if p.Problem != nil {
		s.snapAsked = time.Time{}
		return l.onProblem(ctx, s, p.Problem)
	}
	if err := l.store.StageSnapshot(ctx, p); err != nil {
		l.log.Warn("snapshot page not staged", "page", p.Page, "err", err)
		return nil
	}
	l.setStatus(func(st *Status) { st.SnapshotAt = p.Page + 1 })
	if !p.Last {
		if err := l.publish(protocol.TopicSnapRequest, &protocol.SnapshotRequest{Terminal: l.id.Terminal, Resume: p.Resume}, false); err != nil {
			l.log.Warn("ask for the snapshot", "err", err)
		}
		s.snapAsked = l.opt.Now()
		return nil
	}
	st, err := l.store.FinishSnapshot(ctx)
	if err != nil {
		l.log.Error("snapshot not imported: starting again", "err", err)
		l.store.DropSnapshot(ctx)
		s.snapAsked = time.Time{}
		return nil
	}
	l.log.Info("snapshot imported", "codes", st.Codes, "pages", st.Pages, "as_of", st.AsOf)
	s.snapshot, s.snapAsked = false, time.Time{}
	l.setStatus(func(st *Status) { st.Snapshot = false })
	l.askFeed(ctx, s)
	return nil
}

func (l *Link) onProblem(ctx context.Context, s *syncState, p *protocol.Problem) error {
	switch p.Code {
	case protocol.ProblemRevoked:
		return l.revoke(ctx, p.Message)
	case protocol.ProblemCursorExpired:
		l.log.Warn("the feed no longer reaches the cursor: pulling a snapshot", "msg", p.Message)
		s.snapshot = true
		l.askSnapshot(ctx, s)
	case protocol.ProblemResumeExpired:
		l.log.Warn("snapshot resume expired: starting again", "msg", p.Message)
		l.store.DropSnapshot(ctx)
		l.askSnapshot(ctx, s)
	default:
		l.log.Error("the hub cannot serve this terminal", "code", p.Code, "msg", p.Message)
		l.setProblem("hub", string(p.Code)+": "+p.Message)
	}
	return nil
}

// revoke wipes the cache and stops the link for good.
func (l *Link) revoke(ctx context.Context, why string) error {
	if l.revoked.Swap(true) {
		return ErrRevoked
	}
	l.setReachable(false)
	if err := l.store.Wipe(ctx, why); err != nil {
		l.log.Error("wipe the cache", "err", err)
	}
	l.setProblem("revoked", "revoked: "+why)
	l.log.Error("this terminal was revoked by HQ: cache wiped, redeeming stopped", "why", why)
	if l.opt.OnRevoked != nil {
		l.opt.OnRevoked(why)
	}
	return ErrRevoked
}

// every runs on each tick: new events, stalls, unanswered requests,
// probing and presence.
func (l *Link) every(ctx context.Context, s *syncState) {
	if !s.up || !l.gateOpen() {
		return
	}
	now := l.opt.Now()
	if s.sentTo > s.acked && now.Sub(s.ackMoved) > l.opt.AckStall {
		l.log.Warn("no ack from the hub: re-sending from the watermark", "acked", s.acked, "sent", s.sentTo)
		s.sentTo, s.ackMoved, s.refused = s.acked, now, false
	}
	l.push(ctx, s)
	if !s.feedAsked.IsZero() && now.Sub(s.feedAsked) > l.opt.Request {
		l.askFeed(ctx, s)
	}
	if s.snapshot && (s.snapAsked.IsZero() || now.Sub(s.snapAsked) > l.opt.Request) {
		l.askSnapshot(ctx, s)
	}
	online := l.reachable.Load()
	if l.opt.Online != nil {
		online = l.opt.Online()
	}
	forced := l.opt.Forced != nil && l.opt.Forced()
	if !online && !forced && !s.snapshot && s.feedAsked.IsZero() && now.Sub(s.probed) > l.opt.Probe {
		// The engine is offline (claims timed out): a feed request probes
		// the hub, and its answer brings the engine back.
		s.probed = now
		l.reachable.Store(false)
		l.askFeed(ctx, s)
	}
	mode := protocol.ModeOffline
	if online {
		mode = protocol.ModeOnline
	}
	if mode != s.mode || now.Sub(s.presenced) > l.opt.Presence {
		l.presence(ctx, s)
	}
}

// presence publishes the retained birth message.
func (l *Link) presence(ctx context.Context, s *syncState) {
	now := l.opt.Now()
	online := l.reachable.Load()
	if l.opt.Online != nil {
		online = l.opt.Online()
	}
	p := protocol.Presence{Terminal: l.id.Terminal, Store: l.id.Store, State: protocol.PresenceOnline,
		Protocol: protocol.Version, App: l.opt.App, Mode: protocol.ModeOffline, Clock: now}
	if online {
		p.Mode = protocol.ModeOnline
	}
	if n, err := l.store.OutboxDepth(ctx); err == nil {
		p.Outbox = n
	}
	if last := l.store.LastContact(); !last.IsZero() {
		p.LastContact = last
		if !online {
			p.OfflineAge = protocol.Duration(max(0, l.opt.Clock().Sub(last)))
		}
	}
	if err := l.publish(protocol.TopicPresence, &p, true); err != nil {
		l.log.Warn("publish presence", "err", err)
		return
	}
	s.mode, s.presenced = p.Mode, now
}

// goodbye replaces the retained birth with "offline" on a clean stop, as
// the last will would on a crash.
func (l *Link) goodbye() {
	if !l.connected.Load() {
		return
	}
	b, _ := protocol.Encode(&protocol.Presence{Terminal: l.id.Terminal, State: protocol.PresenceOffline})
	l.c.Publish(protocol.TerminalTopic(l.id.Terminal, protocol.TopicPresence), 1, true, b).WaitTimeout(2 * time.Second)
}

// Flush waits until the hub has acknowledged every event in the journal,
// or ctx ends. Run must be running.
func (l *Link) Flush(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		acked, err := l.store.Acked(ctx)
		if err != nil {
			return err
		}
		head := l.store.Head().Seq
		if acked >= head {
			return nil
		}
		l.Kick()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d events still wait for the hub: %w", head-acked, ctx.Err())
		case <-l.done:
			return fmt.Errorf("%d events still wait for the hub: the link stopped", head-acked)
		case <-tick.C:
		}
	}
}

// Describe says the link's state in words, for logs and the window.
func (s Status) Describe() string {
	var b strings.Builder
	switch {
	case s.Reachable:
		b.WriteString("online")
	case s.Connected:
		b.WriteString("connected, hub not answering")
	default:
		b.WriteString("offline")
	}
	fmt.Fprintf(&b, "; %d events wait for the hub", s.Head-min(s.Head, s.Acked))
	if !s.LastContact.IsZero() {
		fmt.Fprintf(&b, "; last contact %s", s.LastContact.Format(time.RFC3339))
	}
	if s.Snapshot {
		fmt.Fprintf(&b, "; pulling the snapshot (%d pages in)", s.SnapshotAt)
	}
	if s.Problem != "" {
		b.WriteString("; " + s.Problem)
	}
	return b.String()
}
