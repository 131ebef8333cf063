package mqttlink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/broker"
	"github.com/hexiao/hexiao/hub/mqttlink"
	"github.com/hexiao/hexiao/internal/testlog"
	"github.com/hexiao/hexiao/protocol"
)

// wait bounds every wait for something that should happen: a "never
// arrived" timeout, not a measurement. Generous, because paho's reconnect
// back-off after a broker restart can take several seconds.
const wait = 30 * time.Second

var t0 = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

// terminals of the test chain: id → store. Every password is "pw-" + id.
var stores = map[string]string{"T1": "S1", "T2": "S1", "T3": "S2", "T4": "S2"}

// The hub answers the embedded broker's logins.
var _ broker.Directory = (*hub.Hub)(nil)

// directory logs in the terminals of stores.
type directory struct{}

func (directory) Login(terminal string, password []byte) (string, error) {
	s, ok := stores[terminal]
	if !ok || string(password) != "pw-"+terminal {
		return "", errors.New("unknown terminal or wrong password")
	}
	return s, nil
}

// call is one Ledger call the fake recorded.
type call struct {
	method   string // Ingest, Claim, Feed, Snapshot, Presence, RefuseMalformed
	terminal string // as the link passed it
	msg      any    // the decoded message (RefuseMalformed: the reason)
	n        int    // for Ingest: the batch's marker (its first event's "n")
	live     bool   // for Presence
}

// fakeLedger records every call on calls and returns canned answers.
type fakeLedger struct {
	calls   chan call
	notices chan hub.Notice

	mu   sync.Mutex
	gate chan struct{} // when set, Ingest waits until it is closed
	fail map[int]bool  // Ingest returns an error for these markers
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{calls: make(chan call, 100000), notices: make(chan hub.Notice, 100), fail: map[int]bool{}}
}

func (f *fakeLedger) Ingest(ctx context.Context, terminal string, b *protocol.EventBatch) (protocol.Ack, error) {
	var body struct{ N int }
	if err := json.Unmarshal(b.Events[0].Body, &body); err != nil {
		return protocol.Ack{}, err
	}
	f.calls <- call{method: "Ingest", terminal: terminal, msg: b, n: body.N}
	f.mu.Lock()
	gate, fail := f.gate, f.fail[body.N]
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return protocol.Ack{}, ctx.Err()
		}
	}
	if fail {
		return protocol.Ack{}, errors.New("ledger unavailable")
	}
	runtime.Gosched() // let other workers interleave
	return protocol.Ack{Terminal: terminal, Seq: uint64(body.N), Hash: protocol.Hash{1}, HubTime: t0}, nil
}

func (f *fakeLedger) Claim(_ context.Context, terminal string, req *protocol.ClaimRequest) (protocol.ClaimReply, error) {
	f.calls <- call{method: "Claim", terminal: terminal, msg: req}
	return protocol.ClaimReply{Terminal: terminal, Seq: req.Seq, Reason: protocol.Accepted, UsesLeft: 2, HubTime: t0}, nil
}

func (f *fakeLedger) Feed(_ context.Context, terminal string, req *protocol.FeedRequest) (protocol.FeedPage, error) {
	f.calls <- call{method: "Feed", terminal: terminal, msg: req}
	return protocol.FeedPage{Terminal: terminal, After: req.After, Next: req.After}, nil
}

func (f *fakeLedger) Snapshot(_ context.Context, terminal string, req *protocol.SnapshotRequest) (protocol.SnapshotPage, error) {
	f.calls <- call{method: "Snapshot", terminal: terminal, msg: req}
	return protocol.SnapshotPage{Terminal: terminal, Snapshot: "snap-1", AsOf: 42, Last: true}, nil
}

func (f *fakeLedger) Presence(_ context.Context, terminal string, p *protocol.Presence, live bool) error {
	f.calls <- call{method: "Presence", terminal: terminal, msg: p, live: live}
	return nil
}

func (f *fakeLedger) RefuseMalformed(_ context.Context, terminal string, what protocol.TopicKind, detail string) (protocol.Ack, error) {
	f.calls <- call{method: "RefuseMalformed", terminal: terminal, msg: detail}
	return protocol.Ack{Terminal: terminal, HubTime: t0,
		Refused: &protocol.ChainRefusal{Seq: 1, Kind: protocol.BreakMalformed, Detail: detail}}, nil
}

func (f *fakeLedger) Subscribe(int) (<-chan hub.Notice, func()) { return f.notices, func() {} }

func (f *fakeLedger) Announcement() protocol.VersionAnnounce {
	return protocol.VersionAnnounce{Protocol: protocol.Version, App: "test", At: t0}
}

// setGate makes Ingest wait until the returned function is called.
func (f *fakeLedger) setGate() (release func()) {
	g := make(chan struct{})
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.gate = nil
			f.mu.Unlock()
			close(g)
		})
	}
}

func (f *fakeLedger) failOn(n int) {
	f.mu.Lock()
	f.fail[n] = true
	f.mu.Unlock()
}

// next returns the next Ledger call, failing if none comes.
func (f *fakeLedger) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(wait):
		t.Fatal("no Ledger call arrived")
		return call{}
	}
}

// logBuffer collects log output.
type logBuffer = testlog.Buffer

// env is a broker (embedded or external), a fake Ledger and a Link.
type env struct {
	addr   string // where terminals connect
	ledger *fakeLedger
	logs   *logBuffer
	link   *mqttlink.Link
	b      *broker.Broker // embedded only
}

// embeddedEnv starts the embedded broker; startLink starts the link on it.
func embeddedEnv(t *testing.T) *env {
	t.Helper()
	e := &env{ledger: newFakeLedger(), logs: &logBuffer{}}
	b, err := broker.New(broker.Config{Addr: "127.0.0.1:0", Directory: directory{}, Log: e.logs.Logger().With("part", "broker")})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		if t.Failed() {
			t.Logf("log:\n%s", e.logs)
		}
	})
	e.b, e.addr = b, b.Addr().String()
	return e
}

// startLink runs a Link over tr until the test ends.
func (e *env) startLink(t *testing.T, tr mqttlink.Transport, cfg mqttlink.Config) *mqttlink.Link {
	t.Helper()
	cfg.Ledger, cfg.Transport = e.ledger, tr
	if cfg.Log == nil {
		cfg.Log = e.logs.Logger().With("part", "mqttlink")
	}
	l, err := mqttlink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runLink(t, l)
	t.Cleanup(stop)
	e.link = l
	return l
}

// runLink runs l and returns a function that stops it and waits for Run.
func runLink(t *testing.T, l *mqttlink.Link) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	select {
	case <-l.Subscribed():
	case err := <-done:
		t.Fatalf("Run ended before it subscribed: %v", err)
	case <-time.After(wait):
		t.Fatal("the link did not subscribe")
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(wait):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
}

// message is one delivery to a terminal.
type message struct {
	topic    string
	payload  []byte
	retained bool
}

// term is a terminal's paho connection.
type term struct {
	id  string
	c   paho.Client
	got chan message
}

// connect logs terminal id in at addr, with options changed by opts.
func connect(t *testing.T, addr, id string, opts ...func(*paho.ClientOptions)) *term {
	t.Helper()
	tm := &term{id: id, got: make(chan message, 10000)}
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(id).SetUsername(id).SetPassword("pw-" + id).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(wait).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			tm.got <- message{m.Topic(), m.Payload(), m.Retained()}
		})
	for _, f := range opts {
		f(o)
	}
	tm.c = paho.NewClient(o)
	if tok := tm.c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { tm.c.Disconnect(0) })
	return tm
}

func (tm *term) subscribe(t *testing.T, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		tok := tm.c.Subscribe(topic, 1, nil)
		if !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("%s subscribe %s: %v", tm.id, topic, tok.Error())
		}
		if code := tok.(*paho.SubscribeToken).Result()[topic]; code >= 0x80 {
			t.Fatalf("%s subscribe %s: refused (%#x)", tm.id, topic, code)
		}
	}
}

// publish publishes at QoS 1 and waits for the broker's PUBACK.
func (tm *term) publish(t *testing.T, kind protocol.TopicKind, payload []byte, retained bool) {
	t.Helper()
	tok := tm.c.Publish(protocol.TerminalTopic(tm.id, kind), 1, retained, payload)
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("%s publish %s: %v", tm.id, kind, tok.Error())
	}
}

// next returns the terminal's next message, failing if none arrives.
func (tm *term) next(t *testing.T) message {
	t.Helper()
	select {
	case m := <-tm.got:
		return m
	case <-time.After(wait):
		t.Fatalf("nothing arrived at %s", tm.id)
		return message{}
	}
}

// expect returns the next message, which must be on the terminal's topic
// of kind k, decoded into m.
func (tm *term) expect(t *testing.T, k protocol.TopicKind, m protocol.Message) {
	t.Helper()
	tm.expectOn(t, protocol.TerminalTopic(tm.id, k), m)
}

func (tm *term) expectOn(t *testing.T, topic string, m protocol.Message) message {
	t.Helper()
	got := tm.next(t)
	if got.topic != topic {
		t.Fatalf("%s got a message on %s, want %s", tm.id, got.topic, topic)
	}
	if err := protocol.Decode(got.payload, m); err != nil {
		t.Fatalf("%s: %s does not decode: %v", tm.id, topic, err)
	}
	return got
}

// encode encodes a message, failing the test if it does not validate.
func encode(t *testing.T, m protocol.Message) []byte {
	t.Helper()
	b, err := protocol.Encode(m)
	if err != nil {
		t.Fatalf("encode %T: %v", m, err)
	}
	return b
}

// batch is an EventBatch of terminal whose one event carries marker n.
func batch(t *testing.T, terminal string, n int) []byte {
	t.Helper()
	return encode(t, &protocol.EventBatch{Terminal: terminal, Sent: t0, Events: []protocol.SignedEvent{
		{Body: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), Sig: []byte{1}},
	}})
}

func claim(t *testing.T, terminal string, seq uint64) []byte {
	t.Helper()
	return encode(t, &protocol.ClaimRequest{Terminal: terminal, Seq: seq, Kind: protocol.KindRedemption,
		Store: stores[terminal], Code: "CODE-1", Format: protocol.FormatSigned, Campaign: "c1", Uses: 1, At: t0})
}

func presence(t *testing.T, terminal string, outbox int) []byte {
	t.Helper()
	return encode(t, &protocol.Presence{Terminal: terminal, Store: stores[terminal], State: protocol.PresenceOnline,
		Protocol: protocol.Version, Mode: protocol.ModeOnline, Outbox: outbox, Clock: t0})
}

// push is a FeedPush of one lock change for store, after seq after.
func push(store string, after uint64) protocol.FeedPush {
	return protocol.FeedPush{Store: store, After: after, Changes: []protocol.Change{{
		Seq: after + 1, Kind: protocol.ChangeLock, At: t0,
		Lock: &protocol.SettlementLock{Store: store, Day: "2026-11-21", At: t0},
	}}}
}
