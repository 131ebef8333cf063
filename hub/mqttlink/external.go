package mqttlink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/protocol"
)

// DefaultClientID is the external broker client id when the URL names none.
// Several hub instances on one broker need one id each (?client_id=).
const DefaultClientID = "hexiao-hub"

// DialConfig configures a connection to an external broker.
type DialConfig struct {
	// URL is mqtt://user:pass@host:port, or mqtts:// for TLS (ports 1883
	// and 8883 by default). Query parameters: client_id (default
	// DefaultClientID) and share, a shared-subscription group name: with
	// share=hexiao the link subscribes to $share/hexiao/hx/v1/t/+/events and
	// so on, and the broker gives each message to one hub instance of the
	// group. Without share (the default) subscriptions are plain.
	URL string
	// ClientID and SharedGroup, when set, override the URL's.
	ClientID    string
	SharedGroup string
	// TLS configures mqtts://; nil means the system's roots.
	TLS *tls.Config
	// ConnectTimeout bounds the first connection; 0 means 10 s. After it,
	// the connection comes back by itself.
	ConnectTimeout time.Duration
	Log            *slog.Logger
}

// Limits of the external connection.
const (
	defaultConnectTimeout = 10 * time.Second
	// keepAlive and pingTimeout: while the link holds deliveries back
	// (back-pressure) paho reads nothing, PINGRESP included, so the ping
	// timeout is long enough that a busy ledger does not look like a dead
	// broker.
	keepAlive   = 30 * time.Second
	pingTimeout = 30 * time.Second
	// maxReconnectInterval caps paho's reconnect back-off.
	maxReconnectInterval = 10 * time.Second
	// subscribeTimeout bounds the wait for a SUBACK.
	subscribeTimeout = 10 * time.Second
	// writeTimeout bounds one publish's wait to reach paho's writer.
	writeTimeout = 10 * time.Second
)

// External is a Transport over an external broker, through paho.
//
// Its session is persistent (clean session false, a fixed client id), so
// QoS 1 messages terminals publish while the hub is away wait at the broker
// and are delivered when it is back. Deliveries that arrive before the first
// Subscribe wait for it. After every reconnect it subscribes again (a broker
// restarted without persistence has forgotten the session) and publishes its
// retained messages again (the hub's version announcement).
//
// paho keeps unacknowledged messages in memory only: a hub crash loses the
// messages it had taken from the broker but not handled, and its own
// publishes not yet acknowledged. That is acceptable because terminals keep
// every event, and ask again for every answer, until the hub's application
// ack or reply arrives (DESIGN.md invariant 2).
type External struct {
	c     paho.Client
	log   *slog.Logger
	group string // shared-subscription group, or ""

	mu       sync.Mutex // guards subs, nextSub and retained
	subs     map[int]externalSub
	nextSub  int
	retained map[string][]byte // topic → last retained payload published

	subscribed     chan struct{} // closed by the first Subscribe (or Close)
	subscribedOnce sync.Once

	reconnected chan struct{} // signalled by paho on every connect
	done        chan struct{} // closed by Close
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

var _ Transport = (*External)(nil)

type externalSub struct {
	filters []string // without the $share prefix
	handler func(topic string, payload []byte, retained bool)
}

// endpoint is what a broker URL says.
type endpoint struct {
	server, user, pass, clientID, group string
	tls                                 bool
	redacted                            string // the URL without its password
}

func parseBrokerURL(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, errors.New("broker URL does not parse; want mqtt://user:pass@host:port")
	}
	ep := endpoint{redacted: u.Redacted()}
	port := "1883"
	switch u.Scheme {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		ep.tls, port = true, "8883"
	default:
		return endpoint{}, fmt.Errorf("broker URL %s: scheme %q, want mqtt or mqtts", ep.redacted, u.Scheme)
	}
	if u.Hostname() == "" {
		return endpoint{}, fmt.Errorf("broker URL %s: no host", ep.redacted)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	scheme := "tcp"
	if ep.tls {
		scheme = "ssl"
	}
	ep.server = scheme + "://" + net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		ep.user = u.User.Username()
		ep.pass, _ = u.User.Password()
	}
	q := u.Query()
	ep.clientID = q.Get("client_id")
	ep.group = q.Get("share")
	return ep, nil
}

// Dial connects to the external broker of cfg.URL and returns once the
// first connection is up, or fails if it cannot be made within
// cfg.ConnectTimeout (or before ctx ends).
func Dial(ctx context.Context, cfg DialConfig) (*External, error) {
	ep, err := parseBrokerURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID != "" {
		ep.clientID = cfg.ClientID
	}
	if ep.clientID == "" {
		ep.clientID = DefaultClientID
	}
	if cfg.SharedGroup != "" {
		ep.group = cfg.SharedGroup
	}
	if ep.group != "" && protocol.ValidID(ep.group) != nil {
		return nil, fmt.Errorf("shared subscription group %q: want a plain name", ep.group)
	}
	timeout := cfg.ConnectTimeout
	if timeout == 0 {
		timeout = defaultConnectTimeout
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &External{
		log:         log,
		group:       ep.group,
		subs:        map[int]externalSub{},
		retained:    map[string][]byte{},
		subscribed:  make(chan struct{}),
		reconnected: make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	o := paho.NewClientOptions().
		AddBroker(ep.server).
		SetClientID(ep.clientID).
		SetUsername(ep.user).
		SetPassword(ep.pass).
		SetCleanSession(false).
		SetOrderMatters(true). // one terminal's messages reach the link in order
		SetAutoReconnect(true).
		SetConnectRetry(false). // the first connection fails loudly; later ones retry
		SetConnectTimeout(timeout).
		SetKeepAlive(keepAlive).
		SetPingTimeout(pingTimeout).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetWriteTimeout(writeTimeout).
		SetResumeSubs(false). // Subscribe again after each connect instead
		SetDefaultPublishHandler(e.deliver).
		SetOnConnectHandler(func(paho.Client) {
			select {
			case e.reconnected <- struct{}{}:
			default:
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			log.Warn("mqtt broker connection lost", "broker", ep.redacted, "err", err)
		})
	if ep.tls {
		t := cfg.TLS
		if t == nil {
			t = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.SetTLSConfig(t)
	}
	e.c = paho.NewClient(o)
	tok := e.c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		e.c.Disconnect(0)
		return nil, fmt.Errorf("connect to %s: %w", ep.redacted, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect to %s as %s: %w", ep.redacted, ep.clientID, err)
	}
	log.Info("mqtt broker connected", "broker", ep.redacted, "client", ep.clientID, "share", ep.group)
	e.wg.Go(e.maintain)
	return e, nil
}

// Ready reports whether the connection to the broker is up.
func (e *External) Ready() error {
	if e.c.IsConnectionOpen() {
		return nil
	}
	return errors.New("not connected to the MQTT broker")
}

// Close disconnects from the broker and waits for the transport's
// goroutine. The broker keeps the session's subscriptions and queues
// messages for the next connection with the same client id.
func (e *External) Close() error {
	e.closeOnce.Do(func() {
		close(e.done)
		e.subscribedOnce.Do(func() { close(e.subscribed) })
		e.c.Disconnect(250)
		e.wg.Wait()
	})
	return nil
}

// Publish publishes at QoS 1 and returns without waiting for the broker's
// PUBACK: paho reads PUBACKs in the same goroutine that hands deliveries to
// the link, so waiting for one while the link holds deliveries back would
// deadlock. A PUBACK would prove nothing anyway (DESIGN.md invariant 2).
// Errors paho reports at once (not connected, no packet id) are returned;
// while paho reconnects it keeps the message and sends it on reconnect.
func (e *External) Publish(topic string, payload []byte, retain bool) error {
	if retain {
		e.mu.Lock()
		if len(payload) == 0 {
			delete(e.retained, topic)
		} else {
			e.retained[topic] = append([]byte(nil), payload...)
		}
		e.mu.Unlock()
	}
	tok := e.c.Publish(topic, 1, retain, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
	default:
	}
	return nil
}

// Subscribe routes messages matching filters to handler and subscribes at
// the broker (through $share/{group}/ when a shared group is set). It fails
// if the broker refuses a filter; if the connection is down it succeeds and
// the subscription is made on the next connect. The
// returned function stops local delivery only: the broker-side subscription
// stays, so the persistent session keeps queueing for the next run. Shared
// subscriptions receive no retained messages (MQTT 5 §4.8.2), so with a
// group the hub learns presence from live births only.
func (e *External) Subscribe(filters []string, handler func(topic string, payload []byte, retained bool)) (func(), error) {
	if handler == nil {
		return nil, errors.New("subscribe: nil handler")
	}
	select {
	case <-e.done:
		return nil, errors.New("subscribe: transport closed")
	default:
	}
	e.mu.Lock()
	id := e.nextSub
	e.nextSub++
	e.subs[id] = externalSub{filters: append([]string(nil), filters...), handler: handler}
	e.mu.Unlock()
	remove := func() {
		e.mu.Lock()
		delete(e.subs, id)
		e.mu.Unlock()
	}
	e.subscribedOnce.Do(func() { close(e.subscribed) })
	if err := e.subscribe(filters); errors.Is(err, errRefused) {
		remove()
		return nil, err
	} else if err != nil {
		// The connection dropped: the next connect subscribes again.
		e.log.Warn("mqtt subscribe deferred to the next connection", "err", err)
	}
	var once sync.Once
	return func() { once.Do(remove) }, nil
}

// errRefused is a SUBACK refusal, as opposed to a lost connection.
var errRefused = errors.New("refused by the broker")

// subscribe sends one SUBSCRIBE for filters and checks the SUBACK.
func (e *External) subscribe(filters []string) error {
	wire := make(map[string]byte, len(filters))
	for _, f := range filters {
		wire[e.wireFilter(f)] = 1
	}
	tok := e.c.SubscribeMultiple(wire, nil)
	select {
	case <-tok.Done():
	case <-e.done:
		return errors.New("subscribe: transport closed")
	case <-time.After(subscribeTimeout):
		return fmt.Errorf("subscribe %v: no SUBACK within %v", filters, subscribeTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscribe %v: %w", filters, err)
	}
	for f, code := range tok.(*paho.SubscribeToken).Result() {
		if code >= 0x80 {
			return fmt.Errorf("subscribe %s: %w (code %#x)", f, errRefused, code)
		}
	}
	return nil
}

func (e *External) wireFilter(f string) string {
	if e.group == "" {
		return f
	}
	return "$share/" + e.group + "/" + f
}

// deliver is paho's handler for every message: it waits for the first
// Subscribe, then hands the message to each subscription it matches. paho
// acknowledges the message to the broker when deliver returns.
func (e *External) deliver(_ paho.Client, m paho.Message) {
	select {
	case <-e.subscribed:
	case <-e.done:
		return
	}
	topic := m.Topic()
	e.mu.Lock()
	var handlers []func(string, []byte, bool)
	for _, s := range e.subs {
		for _, f := range s.filters {
			if matchTopic(f, topic) {
				handlers = append(handlers, s.handler)
				break
			}
		}
	}
	e.mu.Unlock()
	if len(handlers) == 0 {
		e.log.Debug("mqtt message on no subscription dropped", "topic", topic)
		return
	}
	for _, h := range handlers {
		h(topic, m.Payload(), m.Retained())
	}
}

// maintain subscribes again and re-publishes retained messages after every
// (re)connection, until Close.
func (e *External) maintain() {
	for {
		select {
		case <-e.done:
			return
		case <-e.reconnected:
		}
		e.mu.Lock()
		var filters [][]string
		for _, s := range e.subs {
			filters = append(filters, s.filters)
		}
		retained := make(map[string][]byte, len(e.retained))
		for t, p := range e.retained {
			retained[t] = p
		}
		e.mu.Unlock()
		for _, fs := range filters {
			if err := e.subscribe(fs); err != nil {
				e.log.Warn("mqtt subscribe after reconnect failed", "err", err)
			}
		}
		for t, p := range retained {
			e.c.Publish(t, 1, true, p)
		}
	}
}

// matchTopic reports whether an MQTT topic filter (with + and #) matches a
// topic name.
func matchTopic(filter, topic string) bool {
	fs := strings.Split(filter, "/")
	ts := strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true
		}
		if i >= len(ts) || (f != "+" && f != ts[i]) {
			return false
		}
	}
	return len(fs) == len(ts)
}
