package hublink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

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
