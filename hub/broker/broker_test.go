package broker_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/hub/broker"
	"github.com/hexiao/hexiao/internal/testlog"
	"github.com/hexiao/hexiao/protocol"
)

// wait bounds every wait for something that should happen; it is a "never
// arrived" timeout, not a measurement.
const wait = 15 * time.Second

// directory is a Directory of fixed terminals.
type directory struct {
	mu      sync.Mutex
	secrets map[string]string // terminal → password
	stores  map[string]string // terminal → store
	revoked map[string]bool
}

func newDirectory() *directory {
	return &directory{
		secrets: map[string]string{"T1": "pw-one", "T2": "pw-two", "T3": "pw-three"},
		stores:  map[string]string{"T1": "S1", "T2": "S2", "T3": "S1"},
		revoked: map[string]bool{},
	}
}

func (d *directory) Login(terminal string, password []byte) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	secret, ok := d.secrets[terminal]
	switch {
	case !ok:
		return "", errors.New("unknown terminal")
	case d.revoked[terminal]:
		return "", errors.New("terminal revoked")
	case secret != string(password):
		return "", errors.New("wrong password")
	}
	return d.stores[terminal], nil
}

func (d *directory) revoke(terminal string) {
	d.mu.Lock()
	d.revoked[terminal] = true
	d.mu.Unlock()
}

// logBuffer collects log output.
type logBuffer = testlog.Buffer

type fixture struct {
	b    *broker.Broker
	dir  *directory
	logs *logBuffer
	addr string
}

func start(t *testing.T) *fixture { return startWith(t, false) }

// startWith starts a broker, holding logins until Admit when hold is set.
func startWith(t *testing.T, hold bool) *fixture {
	t.Helper()
	f := &fixture{dir: newDirectory(), logs: &logBuffer{}}
	b, err := broker.New(broker.Config{
		Addr:      "127.0.0.1:0",
		Directory: f.dir,
		Log:       slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Hold:      hold,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("broker log:\n%s", f.logs)
		}
	})
	f.b = b
	f.addr = b.Addr().String()
	if strings.HasSuffix(f.addr, ":0") {
		t.Fatalf("Addr() = %s, want the bound port", f.addr)
	}
	return f
}

// message is one delivery, to an inline subscriber or a terminal.
type message struct {
	topic    string
	payload  []byte
	retained bool
}

// inbox subscribes inline to filter and collects what arrives.
func (f *fixture) inbox(t *testing.T, filter string) chan message {
	t.Helper()
	ch := make(chan message, 1024)
	unsub, err := f.b.Subscribe(filter, func(topic string, payload []byte, retained bool) {
		ch <- message{topic, payload, retained}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
	return ch
}

// client is a paho terminal connection.
type client struct {
	c    paho.Client
	lost chan error   // connection lost
	got  chan message // every message delivered to the client
}

type login struct {
	clientID, user, pass string
	clean                bool
	will                 string // last will topic, if any
}

func (f *fixture) dial(l login) (*client, error) {
	cl := &client{lost: make(chan error, 1), got: make(chan message, 1024)}
	o := paho.NewClientOptions().AddBroker("tcp://" + f.addr).
		SetClientID(l.clientID).SetUsername(l.user).SetPassword(l.pass).
		SetCleanSession(l.clean).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(wait).
		SetConnectionLostHandler(func(_ paho.Client, err error) { cl.lost <- err }).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			cl.got <- message{m.Topic(), m.Payload(), m.Retained()}
		})
	if l.will != "" {
		o.SetWill(l.will, `{"v":1}`, 1, true)
	}
	cl.c = paho.NewClient(o)
	tok := cl.c.Connect()
	if !tok.WaitTimeout(wait) {
		return nil, errors.New("connect: no CONNACK")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return cl, nil
}

// terminal logs in as id with its right password.
func (f *fixture) terminal(t *testing.T, id string, clean bool) *client {
	t.Helper()
	cl, err := f.dial(login{clientID: id, user: id, pass: f.dir.secrets[id], clean: clean})
	if err != nil {
		t.Fatalf("login %s: %v", id, err)
	}
	t.Cleanup(func() { cl.c.Disconnect(0) })
	return cl
}

func (c *client) publish(t *testing.T, topic string, payload []byte, retained bool) paho.Token {
	t.Helper()
	return c.c.Publish(topic, 1, retained, payload)
}

// subscribe subscribes to filter and returns the SUBACK return code.
func (c *client) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	tok := c.c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe %s: no SUBACK (%v)", filter, tok.Error())
	}
	return tok.(*paho.SubscribeToken).Result()[filter]
}

// next returns the next message on ch, failing if none arrives.
func next(t *testing.T, ch <-chan message, what string) message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(wait):
		t.Fatalf("%s never arrived", what)
		return message{}
	}
}

// until reads ch up to a message on topic and returns what came before it.
func until(t *testing.T, ch <-chan message, topic string) []message {
	t.Helper()
	var before []message
	for {
		m := next(t, ch, topic)
		if m.topic == topic {
			return before
		}
		before = append(before, m)
	}
}

// TestHold: a broker started with Hold refuses every login, saying why,
// until Admit; Ready says so too.
func TestHold(t *testing.T) {
	f := startWith(t, true)
	if err := f.b.Ready(); err == nil {
		t.Error("Ready before Admit: nil, want an error")
	}
	cl, err := f.dial(login{clientID: "T1", user: "T1", pass: "pw-one", clean: true})
	if err == nil {
		cl.c.Disconnect(0)
		t.Fatal("login before Admit accepted")
	}
	if logs := f.logs.String(); !strings.Contains(logs, "not yet listening") {
		t.Errorf("log has no refusal saying the hub is starting:\n%s", logs)
	}
	f.b.Admit()
	if err := f.b.Ready(); err != nil {
		t.Errorf("Ready after Admit: %v", err)
	}
	cl, err = f.dial(login{clientID: "T1", user: "T1", pass: "pw-one", clean: true})
	if err != nil {
		t.Fatalf("login after Admit: %v", err)
	}
	cl.c.Disconnect(0)
	f.b.Close()
	if err := f.b.Ready(); err == nil {
		t.Error("Ready after Close: nil, want an error")
	}
}

func TestLogin(t *testing.T) {
	f := start(t)
	tests := []struct {
		name   string
		login  login
		ok     bool
		reason string // in the log when refused
	}{
		{"right password", login{clientID: "T1", user: "T1", pass: "pw-one", clean: true}, true, ""},
		{"persistent session", login{clientID: "T2", user: "T2", pass: "pw-two"}, true, ""},
		{"will on own presence", login{clientID: "T3", user: "T3", pass: "pw-three", clean: true, will: "hx/v1/t/T3/presence"}, true, ""},
		{"wrong password", login{clientID: "T1", user: "T1", pass: "pw-two", clean: true}, false, "wrong password"},
		{"unknown terminal", login{clientID: "T9", user: "T9", pass: "pw-one", clean: true}, false, "unknown terminal"},
		{"client id differs from username", login{clientID: "T2", user: "T1", pass: "pw-one", clean: true}, false, "client id differs"},
		{"anonymous", login{clientID: "T1", clean: true}, false, "anonymous"},
		{"anonymous with password", login{clientID: "T1", pass: "pw-one", clean: true}, false, "anonymous"},
		{"in-process client id", login{clientID: "inline", user: "inline", pass: "x", clean: true}, false, "in-process"},
		{"invalid terminal id", login{clientID: "a/b", user: "a/b", pass: "x", clean: true}, false, "terminal id"},
		{"will on another terminal's topic", login{clientID: "T1", user: "T1", pass: "pw-one", clean: true, will: "hx/v1/t/T2/presence"}, false, "last will"},
		{"will on the store feed", login{clientID: "T1", user: "T1", pass: "pw-one", clean: true, will: "hx/v1/s/S1/feed"}, false, "last will"},
		{"retained will on its events", login{clientID: "T1", user: "T1", pass: "pw-one", clean: true, will: "hx/v1/t/T1/events"}, false, "last will"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := f.dial(tt.login)
			if cl != nil {
				defer cl.c.Disconnect(0)
			}
			if got := err == nil; got != tt.ok {
				t.Fatalf("login ok = %v (%v), want %v", got, err, tt.ok)
			}
			if tt.ok {
				return
			}
			logs := f.logs.String()
			if !strings.Contains(logs, "mqtt login refused") || !strings.Contains(logs, tt.reason) {
				t.Errorf("log has no refusal saying %q:\n%s", tt.reason, logs)
			}
			if tt.login.pass != "" && strings.Contains(logs, tt.login.pass) {
				t.Errorf("log contains the password %q:\n%s", tt.login.pass, logs)
			}
		})
	}
}

func TestPublishACL(t *testing.T) {
	f := start(t)
	in := f.inbox(t, "#")
	marker := protocol.TerminalTopic("T1", protocol.TopicClaim)

	allowed := []protocol.TopicKind{protocol.TopicEvents, protocol.TopicClaim, protocol.TopicFeedRequest,
		protocol.TopicSnapRequest, protocol.TopicPresence}
	for _, k := range allowed {
		t.Run("allowed "+string(k), func(t *testing.T) {
			c := f.terminal(t, "T1", true)
			topic := protocol.TerminalTopic("T1", k)
			payload := []byte("allowed " + string(k))
			if tok := c.publish(t, topic, payload, k == protocol.TopicPresence); !tok.WaitTimeout(wait) || tok.Error() != nil {
				t.Fatalf("publish %s: %v", topic, tok.Error())
			}
			m := next(t, in, topic)
			if m.topic != topic || !bytes.Equal(m.payload, payload) || m.retained {
				t.Errorf("inline got %s %q retained=%v, want %s %q live", m.topic, m.payload, m.retained, topic, payload)
			}
		})
	}

	refused := []string{
		protocol.TerminalTopic("T2", protocol.TopicEvents),
		protocol.TerminalTopic("T2", protocol.TopicPresence),
		protocol.TerminalTopic("T1", protocol.TopicAck),
		protocol.TerminalTopic("T1", protocol.TopicClaimReply),
		protocol.TerminalTopic("T1", protocol.TopicFeedPage),
		protocol.StoreFeedTopic("S1"),
		protocol.HubVersionTopic,
		"hx/v1/t/T1",
		"elsewhere",
	}
	for _, topic := range refused {
		t.Run("refused "+topic, func(t *testing.T) {
			c := f.terminal(t, "T1", true)
			c.publish(t, topic, []byte("forged"), false)
			// A refused QoS 1 publish from an MQTT 3.1.1 client ends its
			// connection, in the same step that would have routed it.
			select {
			case <-c.lost:
			case <-time.After(wait):
				t.Fatalf("connection not closed after a refused publish on %s", topic)
			}
			c2 := f.terminal(t, "T1", true)
			c2.publish(t, marker, []byte("marker"), false)
			if before := until(t, in, marker); len(before) > 0 {
				t.Errorf("inline subscriber got %+v, want nothing before the marker", before)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "mqtt publish refused") || !strings.Contains(logs, topic) {
				t.Errorf("log does not name the refused topic %s", topic)
			}
		})
	}
}

func TestSubscribeACL(t *testing.T) {
	f := start(t)
	c := f.terminal(t, "T1", true)
	tests := []struct {
		filter string
		code   byte
	}{
		{protocol.TerminalTopic("T1", protocol.TopicAck), 1},
		{protocol.TerminalTopic("T1", protocol.TopicClaimReply), 1},
		{protocol.TerminalTopic("T1", protocol.TopicFeedPage), 1},
		{protocol.TerminalTopic("T1", protocol.TopicSnapPage), 1},
		{protocol.StoreFeedTopic("S1"), 1},
		{protocol.HubVersionTopic, 1},
		{"hx/v1/t/T1/#", 1},
		{protocol.TerminalTopic("T2", protocol.TopicAck), 0x80},
		{protocol.TerminalTopic("T2", protocol.TopicFeedPage), 0x80},
		{protocol.StoreFeedTopic("S2"), 0x80},
		{protocol.TerminalTopic("T1", protocol.TopicEvents), 0x80},
		{protocol.TerminalTopic("T1", protocol.TopicPresence), 0x80},
		{"#", 0x80},
		{"hx/v1/#", 0x80},
		{"hx/v1/t/+/ack", 0x80},
		{"hx/v1/s/+/feed", 0x80},
		{"hx/v1/t/T2/#", 0x80},
		{"$SYS/#", 0x80},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			if got := c.subscribe(t, tt.filter); got != tt.code {
				t.Errorf("SUBACK code %#x, want %#x", got, tt.code)
			}
		})
	}
	if !strings.Contains(f.logs.String(), "mqtt subscription refused") {
		t.Errorf("refused subscriptions not logged")
	}

	// Nothing published where T1 may not read reaches it; the marker, sent
	// after them, does, and one client's deliveries keep their order.
	for _, topic := range []string{
		protocol.TerminalTopic("T2", protocol.TopicAck),
		protocol.StoreFeedTopic("S2"),
		protocol.TerminalTopic("T2", protocol.TopicClaimReply),
	} {
		if err := f.b.Publish(topic, []byte("not for T1"), false); err != nil {
			t.Fatal(err)
		}
	}
	// T1's own terminal-side topics are not echoed back through hx/v1/t/T1/#.
	c.publish(t, protocol.TerminalTopic("T1", protocol.TopicEvents), []byte("echo?"), false).WaitTimeout(wait)
	push := protocol.StoreFeedTopic("S1")
	if err := f.b.Publish(push, []byte("push"), false); err != nil {
		t.Fatal(err)
	}
	marker := protocol.TerminalTopic("T1", protocol.TopicAck)
	if err := f.b.Publish(marker, []byte("ack"), false); err != nil {
		t.Fatal(err)
	}
	before := until(t, c.got, marker)
	if len(before) != 1 || before[0].topic != push {
		t.Errorf("T1 got %+v before the marker, want only the push on %s", before, push)
	}
}

func TestRetainedAndLarge(t *testing.T) {
	f := start(t)
	// The hub's retained announcement reaches a terminal that subscribes
	// later, flagged retained; an inline subscriber sees it retained too.
	if err := f.b.Publish(protocol.HubVersionTopic, []byte(`{"v":1}`), true); err != nil {
		t.Fatal(err)
	}
	t3 := f.terminal(t, "T3", true)
	t3.subscribe(t, protocol.HubVersionTopic)
	if m := next(t, t3.got, "version"); m.topic != protocol.HubVersionTopic || !m.retained {
		t.Errorf("terminal got %s retained=%v, want %s retained", m.topic, m.retained, protocol.HubVersionTopic)
	}
	if m := next(t, f.inbox(t, "hx/v1/hub/+"), "retained version"); !m.retained || string(m.payload) != `{"v":1}` {
		t.Errorf("inline got %q retained=%v, want the announcement retained", m.payload, m.retained)
	}

	in := f.inbox(t, "hx/v1/t/+/events")
	events := protocol.TerminalTopic("T1", protocol.TopicEvents)
	tests := []struct {
		name string
		size int
		ok   bool
	}{
		{"600 KiB", 600 << 10, true},
		{"the protocol limit", protocol.MaxMessageBytes, true},
		{"over the packet limit", broker.MaxPacketBytes + 1, false},
		{"two megabytes", 2 << 20, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.terminal(t, "T1", true)
			payload := bytes.Repeat([]byte{'a' + byte(i)}, tt.size)
			c.publish(t, events, payload, false)
			if !tt.ok {
				select {
				case <-c.lost:
				case <-time.After(wait):
					t.Fatalf("connection not closed after a %d-byte publish", tt.size)
				}
				c = f.terminal(t, "T1", true)
				c.publish(t, events, []byte("marker"), false)
			}
			m := next(t, in, "events")
			if got := len(m.payload); tt.ok && (got != tt.size || !bytes.Equal(m.payload, payload)) {
				t.Errorf("inline got %d bytes, want the %d published", got, tt.size)
			}
			if !tt.ok && string(m.payload) != "marker" {
				t.Errorf("inline got %d bytes, want only the marker after the oversize publish", len(m.payload))
			}
		})
	}

	// A large hub-to-terminal message (a full feed page) reaches the terminal.
	page := protocol.TerminalTopic("T3", protocol.TopicFeedPage)
	t3.subscribe(t, page)
	big := bytes.Repeat([]byte("f"), 600<<10)
	if err := f.b.Publish(page, big, false); err != nil {
		t.Fatal(err)
	}
	if m := next(t, t3.got, "feed page"); m.topic != page || !bytes.Equal(m.payload, big) {
		t.Errorf("terminal got %s with %d bytes, want %s with %d", m.topic, len(m.payload), page, len(big))
	}
}

func TestRetainOnlyPresence(t *testing.T) {
	f := start(t)
	c := f.terminal(t, "T1", true)
	tests := []struct {
		kind     protocol.TopicKind
		retained bool
	}{
		{protocol.TopicEvents, false},
		{protocol.TopicClaim, false},
		{protocol.TopicFeedRequest, false},
		{protocol.TopicPresence, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			topic := protocol.TerminalTopic("T1", tt.kind)
			if tok := c.publish(t, topic, []byte("retain me"), true); !tok.WaitTimeout(wait) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
			// mochi retains before it acknowledges, so a subscription made now
			// replays whatever the broker kept.
			var got []message
			unsub, err := f.b.Subscribe(topic, func(topic string, payload []byte, retained bool) {
				if retained {
					got = append(got, message{topic, payload, retained})
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			unsub()
			if kept := len(got) == 1; kept != tt.retained {
				t.Errorf("retained copies %+v, want retained=%v", got, tt.retained)
			}
		})
	}
}

func TestPersistentSession(t *testing.T) {
	f := start(t)
	c := f.terminal(t, "T1", false)
	ack := protocol.TerminalTopic("T1", protocol.TopicAck)
	push := protocol.StoreFeedTopic("S1")
	c.subscribe(t, ack)
	c.subscribe(t, push)
	c.c.Disconnect(0)

	// Queued while T1 is away: the ACL still knows T1's store.
	if err := f.b.Publish(push, []byte("push"), false); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Publish(ack, []byte("ack"), false); err != nil {
		t.Fatal(err)
	}
	c = f.terminal(t, "T1", false)
	// mochi re-sends a session's queue sorted by creation second only, so
	// the order of messages queued within one second is not kept.
	got := []string{next(t, c.got, "queued push").topic, next(t, c.got, "queued ack").topic}
	slices.Sort(got)
	if want := []string{push, ack}; !slices.Equal(got, want) {
		t.Errorf("after reconnecting T1 got %v, want %v", got, want)
	}
}

func TestTakeover(t *testing.T) {
	f := start(t)
	in := f.inbox(t, "hx/v1/t/+/claim")
	first := f.terminal(t, "T1", true)
	second := f.terminal(t, "T1", true)
	select {
	case <-first.lost:
	case <-time.After(wait):
		t.Fatal("first connection kept after a second login with the same id")
	}
	claim := protocol.TerminalTopic("T1", protocol.TopicClaim)
	second.publish(t, claim, []byte("claim"), false)
	if m := next(t, in, "claim"); m.topic != claim {
		t.Errorf("inline got %s, want %s", m.topic, claim)
	}
}

func TestDisconnect(t *testing.T) {
	f := start(t)
	c := f.terminal(t, "T1", false)
	ack := protocol.TerminalTopic("T1", protocol.TopicAck)
	c.subscribe(t, ack)
	other := f.terminal(t, "T2", true)

	f.dir.revoke("T1")
	f.b.Disconnect("T1")
	f.b.Disconnect("T9") // unknown: ignored
	select {
	case <-c.lost:
	case <-time.After(wait):
		t.Fatal("Disconnect did not close T1's connection")
	}
	if _, err := f.dial(login{clientID: "T1", user: "T1", pass: "pw-one"}); err == nil {
		t.Fatal("revoked T1 logged in again")
	}
	// T2 is untouched.
	claim := protocol.TerminalTopic("T2", protocol.TopicClaim)
	in := f.inbox(t, claim)
	other.publish(t, claim, []byte("claim"), false)
	next(t, in, "T2's claim")
}

func TestCloseEndsIdleConnections(t *testing.T) {
	f := start(t)
	// A connection that never sends CONNECT must not keep Close waiting.
	raw, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	f.terminal(t, "T1", true)
	done := make(chan error, 1)
	go func() { done <- f.b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Close never returned")
	}
	if err := f.b.Publish(protocol.HubVersionTopic, nil, false); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("publish after close: %v, want ErrClosed", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  broker.Config
	}{
		{"no directory", broker.Config{Addr: "127.0.0.1:0"}},
		{"no address", broker.Config{Directory: newDirectory()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := broker.New(tt.cfg); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
