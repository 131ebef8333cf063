package e2e

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/protocol"
)

// mqttClient is a bare MQTT client with some terminal's credentials, as a
// rogue program on a counter PC would use them.
type mqttClient struct {
	t *testing.T
	c paho.Client

	mu   sync.Mutex // guards got
	got  []received
	seen chan struct{} // a message arrived
}

type received struct {
	topic   string
	payload []byte
}

// dialMQTT connects to broker (host:port) as clientID with user and
// password; it returns the broker's refusal as an error.
func dialMQTT(t *testing.T, broker, clientID, user, password string) (*mqttClient, error) {
	t.Helper()
	m := &mqttClient{t: t, seen: make(chan struct{}, 1)}
	o := paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(clientID).
		SetUsername(user).SetPassword(password).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second).
		SetDefaultPublishHandler(m.handle)
	m.c = paho.NewClient(o)
	tok := m.c.Connect()
	if !tok.WaitTimeout(wait) {
		return nil, fmt.Errorf("connect %s: no answer within %s", clientID, wait)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { m.c.Disconnect(0) })
	return m, nil
}

func (m *mqttClient) handle(_ paho.Client, msg paho.Message) {
	m.mu.Lock()
	m.got = append(m.got, received{msg.Topic(), msg.Payload()})
	m.mu.Unlock()
	select {
	case m.seen <- struct{}{}:
	default:
	}
}

// subscribe asks for filters and returns the broker's code for each (0x80
// and above: refused).
func (m *mqttClient) subscribe(filters ...string) map[string]byte {
	m.t.Helper()
	fs := map[string]byte{}
	for _, f := range filters {
		fs[f] = 1
	}
	tok := m.c.SubscribeMultiple(fs, m.handle)
	if !tok.WaitTimeout(wait) {
		m.t.Fatalf("subscribe %v: no answer", filters)
	}
	if err := tok.Error(); err != nil {
		m.t.Fatalf("subscribe %v: %v", filters, err)
	}
	return tok.(*paho.SubscribeToken).Result()
}

// publish sends msg on topic at QoS 1 and returns what the broker said
// (nil: PUBACK; an error: the connection ended or no answer).
func (m *mqttClient) publish(topic string, msg protocol.Message) error {
	m.t.Helper()
	b, err := protocol.Encode(msg)
	if err != nil {
		m.t.Fatal(err)
	}
	tok := m.c.Publish(topic, 1, false, b)
	if !tok.WaitTimeout(5 * time.Second) {
		return fmt.Errorf("publish %s: no PUBACK within 5 s", topic)
	}
	return tok.Error()
}

// messages returns what arrived so far.
func (m *mqttClient) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got)
}

// await waits for a message on topic and decodes it into msg.
func (m *mqttClient) await(topic string, msg protocol.Message, match func() bool) {
	m.t.Helper()
	deadline := time.After(wait)
	for {
		for _, r := range m.messages() {
			if r.topic == topic && protocol.Decode(r.payload, msg) == nil && (match == nil || match()) {
				return
			}
		}
		select {
		case <-m.seen:
		case <-deadline:
			m.t.Fatalf("no message on %s within %s; got %d on other topics", topic, wait, len(m.messages()))
		}
	}
}

// terminalKey reads a terminal's event-signing key from its directory.
func (tm *term) key() ed25519.PrivateKey {
	tm.t.Helper()
	seed, err := os.ReadFile(filepath.Join(tm.dir, "terminal.key"))
	if err != nil || len(seed) != ed25519.SeedSize {
		tm.t.Fatalf("read %s's key: %v (%d bytes)", tm.id, err, len(seed))
	}
	return ed25519.NewKeyFromSeed(seed)
}

// forgedBatch is what the terminal owning key would send as its first
// event: an offline redemption of c, signed with its own key, so the hub
// would take it if it came on that terminal's topic.
func forgedBatch(t *testing.T, key ed25519.PrivateKey, terminal, store string, c code) *protocol.EventBatch {
	t.Helper()
	now := time.Now().UTC()
	se, err := protocol.SignEvent(key, &protocol.Event{V: protocol.WireVersion, Terminal: terminal, Seq: 1, Kind: protocol.KindRedemption,
		At: now, Store: store, Mode: protocol.ModeOffline, Entry: protocol.EntryScanned, Reason: protocol.Accepted,
		Code: c.ID, Format: protocol.FormatSigned, Campaign: "C1", Uses: 1, Amount: 2500})
	if err != nil {
		t.Fatal(err)
	}
	return &protocol.EventBatch{Terminal: terminal, Sent: now, Events: []protocol.SignedEvent{se}}
}

func claimFor(terminal, store string, seq uint64, c code) *protocol.ClaimRequest {
	return &protocol.ClaimRequest{Terminal: terminal, Seq: seq, Kind: protocol.KindRedemption, Store: store, Code: c.ID,
		Format: protocol.FormatSigned, Campaign: "C1", Uses: 1, At: time.Now().UTC()}
}

// TestACL: a terminal's credentials publish and read only its own topics.
// With T1's password a client cannot log in as T2, and what it publishes
// on T2's topics — a batch signed with T2's real key, a claim — never
// reaches the ledger, nor does a batch naming T2 on T1's own topic; what
// it subscribes to of T2's and T2's store's topics delivers nothing while
// T2 redeems. T3 sending the same messages on its own topics, and the
// spy's own subscription, show the messages and the subscriptions work.
func TestACL(t *testing.T) {
	h := startHub(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	h.addStore("S1", "east")
	h.addStore("S2", "west")
	h.addCampaign("C1", []string{"S1", "S2"}, 100)
	codes := h.issue("C1", 4)
	target, real, ctlBatch, ctlClaim := codes[0], codes[1], codes[2], codes[3]
	t1, t2, t3 := enroll(t, h, "S1", "T1"), enroll(t, h, "S2", "T2"), enroll(t, h, "S1", "T3")
	pw1, pw3 := t1.hubConfig().Password, t3.hubConfig().Password

	// The control: T3's own messages on its own topics are taken.
	c3, err := dialMQTT(t, h.mqtt, "T3", "T3", pw3)
	if err != nil {
		t.Fatalf("T3 logs in with its own credentials: %v", err)
	}
	c3.subscribe(protocol.TopicRoot + "/t/T3/#")
	if err := c3.publish(protocol.TerminalTopic("T3", protocol.TopicEvents), forgedBatch(t, t3.key(), "T3", "S1", ctlBatch)); err != nil {
		t.Fatalf("T3 publishes its batch: %v", err)
	}
	var ack protocol.Ack
	c3.await(protocol.TerminalTopic("T3", protocol.TopicAck), &ack, func() bool { return ack.Seq == 1 })
	if err := c3.publish(protocol.TerminalTopic("T3", protocol.TopicClaim), claimFor("T3", "S1", 2, ctlClaim)); err != nil {
		t.Fatalf("T3 publishes its claim: %v", err)
	}
	var reply protocol.ClaimReply
	c3.await(protocol.TerminalTopic("T3", protocol.TopicClaimReply), &reply, nil)
	if reply.Reason != protocol.Accepted || h.code(ctlClaim.ID).UsesLeft != 0 || len(h.redemptions("terminal=T3")) != 1 {
		t.Fatalf("control: T3's own batch and claim were not taken (reply %+v)", reply)
	}

	// T1's password opens no other terminal's session.
	for _, login := range [][2]string{{"T2", "T1"}, {"T2", "T2"}, {"T1", "T2"}} {
		if c, err := dialMQTT(t, h.mqtt, login[0], login[1], pw1); err == nil {
			c.c.Disconnect(0)
			t.Errorf("client id %s, user %s with T1's password: logged in, want refused", login[0], login[1])
		}
	}

	spy, err := dialMQTT(t, h.mqtt, "T1", "T1", pw1)
	if err != nil {
		t.Fatalf("T1 logs in with its own credentials: %v", err)
	}
	foreign := []string{protocol.TopicRoot + "/t/T2/#", protocol.TerminalTopic("T2", protocol.TopicAck),
		protocol.TerminalTopic("T2", protocol.TopicClaimReply), protocol.TerminalTopic("T2", protocol.TopicFeedPage),
		protocol.StoreFeedTopic("S2"), protocol.TopicRoot + "/#", protocol.TopicRoot + "/t/+/ack"}
	codesGot := spy.subscribe(append(foreign, protocol.HubVersionTopic, protocol.TopicRoot+"/t/T1/#")...)
	t.Logf("SUBACK codes for T1: %v", codesGot)
	var v protocol.VersionAnnounce
	spy.await(protocol.HubVersionTopic, &v, nil) // its own subscriptions deliver

	publishes := []struct {
		name  string
		topic string
		msg   protocol.Message
	}{
		{"T2's batch on T2's topic", protocol.TerminalTopic("T2", protocol.TopicEvents), forgedBatch(t, t2.key(), "T2", "S2", target)},
		{"a claim on T2's topic", protocol.TerminalTopic("T2", protocol.TopicClaim), claimFor("T2", "S2", 1, target)},
		{"T2's batch on T1's own topic", protocol.TerminalTopic("T1", protocol.TopicEvents), forgedBatch(t, t2.key(), "T2", "S2", target)},
		{"a claim naming T2 on T1's own topic", protocol.TerminalTopic("T1", protocol.TopicClaim), claimFor("T2", "S2", 1, target)},
	}
	for _, p := range publishes {
		if !spy.c.IsConnectionOpen() {
			// A broker may end the session of a client that published
			// where it may not; log in again for the next try.
			if spy, err = dialMQTT(t, h.mqtt, "T1", "T1", pw1); err != nil {
				t.Fatalf("T1 logs in again: %v", err)
			}
			spy.subscribe(foreign...)
		}
		err := spy.publish(p.topic, p.msg)
		t.Logf("T1 publishes %s: %v", p.name, err)
	}

	// T2 redeems for real: the hub answers on T2's topics and pushes to
	// S2's feed. None of it may reach T1's client.
	h2 := t2.start()
	h2.waitMode("online", wait)
	if d := h2.scan(real.Code); d.Verdict != "accepted" || d.Mode != "online" || d.EventID != "T2:1" {
		t.Fatalf("T2 scans its own code: %+v, want accepted online as T2:1", d)
	}
	h2.finish()
	for _, r := range spy.messages() {
		if !strings.HasPrefix(r.topic, protocol.TopicRoot+"/t/T1/") && r.topic != protocol.HubVersionTopic {
			t.Errorf("T1's client received a message on %s", r.topic)
		}
	}

	if c := h.code(target.ID); c.UsesLeft != 1 {
		t.Errorf("the code T1 forged T2's messages for has %d uses left at the hub, want 1", c.UsesLeft)
	}
	all := "kind=redemption,void,attempt"
	if rows := h.redemptions("terminal=T2&" + all); len(rows) != 1 || rows[0].Code != real.ID {
		t.Errorf("hub rows of T2: %+v, want only its own redemption of %s", rows, real.ID)
	}
	if rows := h.redemptions("terminal=T1&" + all); len(rows) != 0 {
		t.Errorf("hub rows of T1: %+v, want none", rows)
	}
	if rows := h.redemptions("code=" + target.ID + "&" + all); len(rows) != 0 {
		t.Errorf("hub rows of the forged code: %+v, want none", rows)
	}
}
