package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/hexiao/hexiao/protocol"
)

// The broker's limits. mochi's defaults are tuned for a general-purpose
// broker; these are tuned for hundreds of terminals that each exchange small
// JSON messages with one in-process subscriber (the hub), with an occasional
// burst of large ones (a full event batch, a feed page, a bulk issuance).
const (
	// MaxPacketBytes bounds one MQTT packet a client may send: the largest
	// payload protocol accepts plus 16 KiB for the fixed header (≤ 5 bytes),
	// the topic name (2 + under 100 bytes in this tree), the packet id and
	// any MQTT 5 properties. mochi checks it on the fixed header, before it
	// reads the body, and drops a client that sends more, so an oversize
	// publish costs the hub a few bytes of reading. A payload between
	// protocol.MaxMessageBytes and this passes the broker and is refused by
	// protocol.Decode (ErrTooLarge) in hub/mqttlink.
	MaxPacketBytes = protocol.MaxMessageBytes + 16<<10

	// maxInflight is how many QoS 1 messages the broker holds for one
	// client before that client PUBACKs them, including those queued for a
	// terminal that is away with a persistent session. 2048 is well above a
	// reconnect burst — a terminal re-sending a full outbox gets one ack per
	// batch of up to protocol.MaxBatchEvents events; a bulk issuance of a
	// million codes is a thousand FeedPushes of protocol.MaxPageChanges —
	// while a few hundred offline terminals cannot pin unbounded memory.
	// Past it mochi drops the message (counted in Info.InflightDropped).
	// Every hub-to-terminal message can be recovered: acks are re-sent on the
	// next batch, pages re-asked, a missed push is noticed by FeedPush.After.
	maxInflight = 2048

	// maxWritesPending is one client's outbound queue. mochi drops — does not
	// delay — a message when the queue is full, and takes a QoS 1 message
	// back out of the inflight store when it does, so it would never be
	// resent: the queue must hold at least maxInflight. 8192 (mochi's
	// default) leaves room for retained messages sent on subscribe.
	// Each slot is a pointer: 64 KiB per client when empty.
	maxWritesPending = 8192

	// receiveMaximum bounds the QoS 1 publishes of one client the broker
	// has not yet acknowledged. mochi PUBACKs right after routing a
	// publish, so only a misbehaving client reaches it.
	receiveMaximum = 1024

	// netBufferBytes sizes each connection's read and write buffers: a
	// typical batch of tens of events (~10 KiB) or a burst of acks moves in
	// one system call; 500 terminals cost 500 × 2 × 16 KiB = 16 MiB. Larger
	// payloads are read straight into the packet (io.ReadFull bypasses the
	// buffer for big reads).
	netBufferBytes = 16 << 10

	// sessionExpirySeconds keeps the session (subscriptions and queued
	// messages) of a terminal that went away without a clean session. mochi
	// keeps MQTT 3.1.1 sessions forever by default; a week covers a store
	// closed for a long holiday, and a terminal away longer re-subscribes on
	// connect and catches up from its feed cursor and outbox anyway.
	sessionExpirySeconds = 7 * 24 * 3600

	// messageExpirySeconds is mochi's MaximumMessageExpiryInterval; 0 means
	// no forced expiry. mochi applies it to retained messages as well, so
	// its default of one day would delete the hub's retained version
	// announcement a day after the hub started, and terminals connecting
	// later would never learn the hub's protocol version. Queued messages are
	// bounded by maxInflight and sessionExpirySeconds instead.
	messageExpirySeconds = 0

	// sysTopicSeconds is how often mochi refreshes its $SYS topics. No
	// terminal may read them; every 10 s instead of every second saves work.
	sysTopicSeconds = 10
)

// ErrClosed is returned by the Broker's methods after Close.
var ErrClosed = errors.New("broker closed")

// Config configures a Broker.
type Config struct {
	// Addr is the TCP address terminals connect to, such as
	// "127.0.0.1:1884"; port 0 picks a free port (see Broker.Addr).
	Addr string
	// Directory checks terminal logins. Required.
	Directory Directory
	// Log receives login and ACL refusals and mochi's warnings. Nil
	// discards them.
	Log *slog.Logger
	// TLS, when set, makes the listener speak MQTT over TLS only (the hub
	// serves plain TCP on loopback alone).
	TLS *tls.Config
	// Hold refuses every terminal login until Admit, so that no terminal
	// publishes before the hub listens on its topics (its messages would
	// be acknowledged and lost: a claim would time out into an offline
	// decision).
	Hold bool
}

// Broker is the embedded MQTT broker. Its methods are safe for concurrent
// use.
type Broker struct {
	addr string
	tls  *tls.Config
	log  *slog.Logger
	srv  *mqtt.Server
	auth *authHook

	subID atomic.Int64 // last inline subscription id handed out

	mu      sync.Mutex // guards ln and started
	ln      *listener
	started bool

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New makes a broker; Start opens its listener.
func New(cfg Config) (*Broker, error) {
	if cfg.Directory == nil {
		return nil, errors.New("broker: no directory")
	}
	if cfg.Addr == "" {
		return nil, errors.New("broker: no address")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacketBytes
	caps.MaximumInflight = maxInflight
	caps.MaximumClientWritesPending = maxWritesPending
	caps.ReceiveMaximum = receiveMaximum
	caps.MaximumSessionExpiryInterval = sessionExpirySeconds
	caps.MaximumMessageExpiryInterval = messageExpirySeconds
	srv := mqtt.New(&mqtt.Options{
		Capabilities:             caps,
		ClientNetWriteBufferSize: netBufferBytes,
		ClientNetReadBufferSize:  netBufferBytes,
		SysTopicResendInterval:   sysTopicSeconds,
		InlineClient:             true,
		Logger:                   slog.New(quietHandler{log.Handler()}),
	})
	auth := newAuthHook(cfg.Directory, log)
	auth.held.Store(cfg.Hold)
	if err := srv.AddHook(auth, nil); err != nil {
		return nil, fmt.Errorf("broker: add auth hook: %w", err)
	}
	return &Broker{addr: cfg.Addr, log: log, srv: srv, auth: auth, tls: cfg.TLS}, nil
}

// Start binds the address and starts serving terminals.
func (b *Broker) Start() error {
	if b.closed.Load() {
		return ErrClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("broker: already started")
	}
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("broker: listen: %w", err)
	}
	if b.tls != nil {
		ln = tls.NewListener(ln, b.tls)
	}
	l := newListener(ln, b.log)
	if err := b.srv.AddListener(l); err != nil {
		ln.Close()
		return fmt.Errorf("broker: add listener: %w", err)
	}
	b.ln, b.started = l, true
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("broker: serve: %w", err)
	}
	return nil
}

// Admit ends Hold: terminals may log in from now on.
func (b *Broker) Admit() {
	if b.auth.held.CompareAndSwap(true, false) {
		b.log.Info("mqtt logins admitted")
	}
}

// Ready reports whether the broker serves terminals: started, admitting
// logins and not closed.
func (b *Broker) Ready() error {
	b.mu.Lock()
	started := b.started
	b.mu.Unlock()
	switch {
	case b.closed.Load():
		return ErrClosed
	case !started:
		return errors.New("broker not started")
	case b.auth.held.Load():
		return errors.New("broker holds logins until the hub listens")
	}
	return nil
}

// Addr returns the address the broker listens on, or nil before Start.
func (b *Broker) Addr() net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ln == nil {
		return nil
	}
	return b.ln.ln.Addr()
}

// Close disconnects every client, stops the broker and waits for the
// goroutines of its listener and connections. mochi's per-client write
// loops and its housekeeping loop end with it, but mochi offers no way to
// wait for them.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		b.closeErr = b.srv.Close()
		b.mu.Lock()
		l := b.ln
		b.mu.Unlock()
		if l != nil {
			l.Close(nil) // already closed by srv.Close unless Serve failed
			l.wait()
		}
	})
	return b.closeErr
}

// Publish publishes payload on topic at QoS 1 through the in-process client,
// which no ACL restricts. A retained publish replaces the topic's retained
// message (an empty payload deletes it). It returns when the message is
// routed: handed to the inline subscribers and queued for each subscribed
// terminal.
func (b *Broker) Publish(topic string, payload []byte, retain bool) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := b.srv.Publish(topic, payload, retain, 1); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe delivers every message on a topic matching filter to handler,
// until the returned function is called. It first hands handler the retained
// messages matching filter (retained = true), then every live message
// (retained = false) in the order its publisher sent it.
//
// handler runs in the goroutine of the publishing terminal's connection:
// while it runs, the broker reads nothing more from that terminal. It must
// return soon; blocking it is back-pressure on that one terminal. payload is
// the handler's own copy. A retained message published while Subscribe runs
// may arrive twice, live and as a retained copy.
func (b *Broker) Subscribe(filter string, handler func(topic string, payload []byte, retained bool)) (unsubscribe func(), err error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if handler == nil {
		return nil, errors.New("subscribe: nil handler")
	}
	if !mqtt.IsValidFilter(filter, false) {
		return nil, fmt.Errorf("subscribe: invalid filter %q", filter)
	}
	id := int(b.subID.Add(1))
	b.srv.Topics.InlineSubscribe(mqtt.InlineSubscription{
		Subscription: packets.Subscription{Identifier: id, Filter: filter},
		Handler: func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
			// mochi hands inline subscribers the packet as published: a live
			// presence carries its retain flag. Only the copies replayed below
			// are retained deliveries.
			handler(pk.TopicName, clone(pk.Payload), false)
		},
	})
	// mochi's Server.Subscribe replays retained messages through the live
	// handler, where they cannot be told apart; replay them here instead.
	for _, pk := range b.srv.Topics.Messages(filter) {
		handler(pk.TopicName, clone(pk.Payload), true)
	}
	var once sync.Once
	return func() {
		once.Do(func() { b.srv.Topics.InlineUnsubscribe(id, filter) })
	}, nil
}

// Disconnect kicks terminal off the broker and discards its session
// (subscriptions and queued messages), so that nothing more reaches it. Call
// it after the Directory stops accepting the terminal (revocation), or it may
// log straight back in. A terminal that is not known is ignored. mochi
// publishes the terminal's last will only if its connection was waiting for
// input at that moment, so the hub must not rely on the will after a kick.
func (b *Broker) Disconnect(terminal string) {
	if terminal == mqtt.InlineClientId {
		return
	}
	cl, ok := b.srv.Clients.Get(terminal)
	if !ok || cl.Net.Inline {
		return
	}
	b.auth.forget(cl) // from now on the ACL refuses it every delivery
	_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
	b.srv.UnsubscribeClient(cl)
	cl.ClearInflights()
	b.log.Info("mqtt terminal disconnected by the hub", "terminal", terminal)
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
