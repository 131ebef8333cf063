package mqttlink_test

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/mqttlink"
	"github.com/hexiao/hexiao/protocol"
)

// roundTrips checks, over whichever broker e has, that a batch comes back
// as an ack, a claim as a reply, a feed push reaches the store's terminals
// and the version announcement is retained.
func roundTrips(t *testing.T, e *env) {
	t.Run("batch to ack", func(t *testing.T) {
		tm := connect(t, e.addr, "T1")
		tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck))
		tm.publish(t, protocol.TopicEvents, batch(t, "T1", 7), false)
		if c := e.ledger.next(t); c.method != "Ingest" || c.terminal != "T1" || c.n != 7 {
			t.Errorf("ledger got %s(%s) #%d, want Ingest(T1) #7", c.method, c.terminal, c.n)
		}
		var ack protocol.Ack
		tm.expect(t, protocol.TopicAck, &ack)
		if ack.Terminal != "T1" || ack.Seq != 7 {
			t.Errorf("ack %s:%d, want T1:7", ack.Terminal, ack.Seq)
		}
	})
	t.Run("claim to reply", func(t *testing.T) {
		tm := connect(t, e.addr, "T2")
		tm.subscribe(t, protocol.TerminalTopic("T2", protocol.TopicClaimReply))
		tm.publish(t, protocol.TopicClaim, claim(t, "T2", 11), false)
		if c := e.ledger.next(t); c.method != "Claim" || c.terminal != "T2" {
			t.Errorf("ledger got %s(%s), want Claim(T2)", c.method, c.terminal)
		}
		var rep protocol.ClaimReply
		tm.expect(t, protocol.TopicClaimReply, &rep)
		if rep.Seq != 11 || rep.Reason != protocol.Accepted {
			t.Errorf("reply seq %d %s, want 11 accepted", rep.Seq, rep.Reason)
		}
	})
	t.Run("push to store", func(t *testing.T) {
		t1 := connect(t, e.addr, "T1")
		t3 := connect(t, e.addr, "T3")
		t1.subscribe(t, protocol.StoreFeedTopic("S1"))
		t3.subscribe(t, protocol.StoreFeedTopic("S2"))
		e.ledger.notices <- hub.Notice{Pushes: []protocol.FeedPush{push("S1", 10), push("S2", 20), push("S1", 11)}}
		for _, want := range []uint64{10, 11} {
			var p protocol.FeedPush
			t1.expectOn(t, protocol.StoreFeedTopic("S1"), &p)
			if p.Store != "S1" || p.After != want {
				t.Errorf("T1 got push %s after %d, want S1 after %d", p.Store, p.After, want)
			}
		}
		var p protocol.FeedPush
		t3.expectOn(t, protocol.StoreFeedTopic("S2"), &p)
		if p.Store != "S2" || p.After != 20 {
			t.Errorf("T3 got push %s after %d, want S2 after 20", p.Store, p.After)
		}
	})
	t.Run("version retained", func(t *testing.T) {
		tm := connect(t, e.addr, "T4")
		tm.subscribe(t, protocol.HubVersionTopic)
		var v protocol.VersionAnnounce
		if m := tm.expectOn(t, protocol.HubVersionTopic, &v); !m.retained || v.Protocol != protocol.Version {
			t.Errorf("version %q retained=%v, want %q retained", v.Protocol, m.retained, protocol.Version)
		}
	})
}

func TestEmbeddedRoundTrips(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	roundTrips(t, e)
	s := e.link.Stats()
	if s.InEvents != 1 || s.Acks != 1 || s.InClaims != 1 || s.ClaimReplies != 1 || s.Pushes != 3 || s.Announcements != 1 {
		t.Errorf("stats %+v, want 1 batch, 1 ack, 1 claim, 1 reply, 3 pushes, 1 announcement", s)
	}
}

func TestRequests(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	tm := connect(t, e.addr, "T1")
	tm.subscribe(t, "hx/v1/t/T1/#")

	tm.publish(t, protocol.TopicFeedRequest, encode(t, &protocol.FeedRequest{Terminal: "T1", After: 5}), false)
	if c := e.ledger.next(t); c.method != "Feed" || c.terminal != "T1" || c.msg.(*protocol.FeedRequest).After != 5 {
		t.Errorf("ledger got %s(%s) %+v, want Feed(T1) after 5", c.method, c.terminal, c.msg)
	}
	var page protocol.FeedPage
	tm.expect(t, protocol.TopicFeedPage, &page)
	if page.Terminal != "T1" || page.After != 5 {
		t.Errorf("feed page %+v, want T1 after 5", page)
	}

	tm.publish(t, protocol.TopicSnapRequest, encode(t, &protocol.SnapshotRequest{Terminal: "T1"}), false)
	if c := e.ledger.next(t); c.method != "Snapshot" || c.terminal != "T1" {
		t.Errorf("ledger got %s(%s), want Snapshot(T1)", c.method, c.terminal)
	}
	var snap protocol.SnapshotPage
	tm.expect(t, protocol.TopicSnapPage, &snap)
	if snap.Snapshot != "snap-1" || !snap.Last {
		t.Errorf("snapshot page %+v, want the last page of snap-1", snap)
	}
	if s := e.link.Stats(); s.FeedPages != 1 || s.SnapshotPages != 1 {
		t.Errorf("stats %+v, want 1 feed page and 1 snapshot page", s)
	}
}

func TestTopicTerminalWins(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	tm := connect(t, e.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck), protocol.TerminalTopic("T1", protocol.TopicClaimReply))
	tests := []struct {
		name    string
		kind    protocol.TopicKind
		payload []byte
		method  string
	}{
		{"batch naming T2", protocol.TopicEvents, batch(t, "T2", 3), "Ingest"},
		{"claim naming T2", protocol.TopicClaim, claim(t, "T2", 4), "Claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm.publish(t, tt.kind, tt.payload, false)
			c := e.ledger.next(t)
			if c.method != tt.method || c.terminal != "T1" {
				t.Errorf("ledger got %s(%s), want %s(T1): the topic names the terminal", c.method, c.terminal, tt.method)
			}
			// The payload reaches the ledger unchanged; it decides (CheckOrigin).
			if err := protocol.CheckOrigin(c.msg.(protocol.Message), c.terminal, "S1"); err == nil {
				t.Errorf("payload naming T2 passed CheckOrigin for T1; the ledger could not refuse it")
			}
			tm.next(t) // the fake answers anyway
		})
	}
}

// TestMalformed sends messages that do not decode. A batch is refused in an
// ack (through the ledger, which alerts), a claim with a readable seq is
// answered malformed, feed requests and presence are dropped; each is
// counted and logged, and the valid message after it goes through.
func TestMalformed(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	tm := connect(t, e.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck), protocol.TerminalTopic("T1", protocol.TopicClaimReply))
	huge := append([]byte(`{"v":1,"terminal":"T1","events":[`), bytes.Repeat([]byte(" "), protocol.MaxMessageBytes)...)
	tests := []struct {
		name    string
		kind    protocol.TopicKind
		payload []byte
		why     string // in the refusal (batches)
		replied bool   // claims: a malformed reply comes
	}{
		{"not JSON", protocol.TopicEvents, []byte("{not json"), "invalid character", false},
		{"empty", protocol.TopicEvents, nil, "", false},
		{"wrong wire version", protocol.TopicEvents, []byte(`{"v":2,"terminal":"T1","sent":"2026-11-22T10:30:00Z","events":[{"body":{"n":1},"sig":"AQ=="}]}`), "version", false},
		{"batch without events", protocol.TopicEvents, []byte(`{"v":1,"terminal":"T1","sent":"2026-11-22T10:30:00Z","events":[]}`), "", false},
		{"over the message limit", protocol.TopicEvents, huge, "", false},
		{"claim without a code", protocol.TopicClaim, []byte(`{"v":1,"terminal":"T1","seq":7,"kind":"redemption","store":"S1"}`), "", true},
		{"claim without a seq", protocol.TopicClaim, []byte(`{"v":1,"terminal":"T1","kind":"redemption"}`), "", false},
		{"feed request with a negative limit", protocol.TopicFeedRequest, []byte(`{"v":1,"terminal":"T1","limit":-1}`), "", false},
		{"presence in an unknown state", protocol.TopicPresence, []byte(`{"v":1,"terminal":"T1","state":"asleep"}`), "", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.link.Stats().Malformed
			tm.publish(t, tt.kind, tt.payload, false)
			if tt.kind == protocol.TopicEvents {
				c := e.ledger.next(t)
				if c.method != "RefuseMalformed" || c.terminal != "T1" || !strings.Contains(c.msg.(string), tt.why) {
					t.Fatalf("ledger call %s(%s, %v), want RefuseMalformed(T1) with a reason containing %q", c.method, c.terminal, c.msg, tt.why)
				}
				var ack protocol.Ack
				tm.expect(t, protocol.TopicAck, &ack)
				if ack.Refused == nil || ack.Refused.Kind != protocol.BreakMalformed {
					t.Errorf("ack %+v, want refused malformed", ack)
				}
			}
			if tt.replied {
				var rep protocol.ClaimReply
				tm.expect(t, protocol.TopicClaimReply, &rep)
				if rep.Seq != 7 || rep.Reason != protocol.Malformed {
					t.Errorf("claim reply %+v, want seq 7 malformed", rep)
				}
			}
			// A valid message of the same kind, after it: the terminal's
			// messages of one kind are handled in order, so when this one
			// reaches the ledger the malformed one has been handled.
			var marker []byte
			switch tt.kind {
			case protocol.TopicEvents:
				marker = batch(t, "T1", 1000+i)
			case protocol.TopicClaim:
				marker = claim(t, "T1", uint64(1000+i))
			case protocol.TopicFeedRequest:
				marker = encode(t, &protocol.FeedRequest{Terminal: "T1", After: uint64(1000 + i)})
			case protocol.TopicPresence:
				marker = presence(t, "T1", 1000+i)
			}
			tm.publish(t, tt.kind, marker, false)
			c := e.ledger.next(t)
			var m protocol.Message
			switch v := c.msg.(type) {
			case *protocol.EventBatch:
				m = v
			case *protocol.ClaimRequest:
				m = v
			case *protocol.FeedRequest:
				m = v
			case *protocol.Presence:
				m = v
			default:
				t.Fatalf("ledger call %s(%v), want the valid marker", c.method, c.msg)
			}
			if got, want := string(encode(t, m)), string(marker); got != want {
				t.Errorf("ledger got %s, want only the valid marker %s", got, want)
			}
			// The marker's answer.
			switch tt.kind {
			case protocol.TopicEvents:
				var ack protocol.Ack
				tm.expect(t, protocol.TopicAck, &ack)
			case protocol.TopicClaim:
				var rep protocol.ClaimReply
				tm.expect(t, protocol.TopicClaimReply, &rep)
			}
			if got := e.link.Stats().Malformed - before; got != 1 {
				t.Errorf("malformed count grew by %d, want 1", got)
			}
		})
	}
	if logs := e.logs.String(); !strings.Contains(logs, "malformed message") || !strings.Contains(logs, "terminal=T1") {
		t.Errorf("malformed messages not logged with their terminal")
	}
}

// TestRevokedDisconnected: a notice that a terminal was revoked reaches
// OnRevoked.
func TestRevokedDisconnected(t *testing.T) {
	e := embeddedEnv(t)
	got := make(chan string, 1)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{OnRevoked: func(id string) { got <- id }})
	e.ledger.notices <- hub.Notice{Terminal: &hub.Terminal{ID: "T1", Store: "S1", Status: hub.TerminalActive}}
	e.ledger.notices <- hub.Notice{Terminal: &hub.Terminal{ID: "T2", Store: "S1", Status: hub.TerminalRevoked}}
	select {
	case id := <-got:
		if id != "T2" {
			t.Errorf("OnRevoked(%s), want T2 only", id)
		}
	case <-time.After(wait):
		t.Fatal("OnRevoked not called for a revoked terminal")
	}
}

func TestPresence(t *testing.T) {
	e := embeddedEnv(t)
	// The terminal's connection, so the test can drop it without a
	// DISCONNECT, as a power cut would.
	var conn net.Conn
	t1 := connect(t, e.addr, "T1", func(o *paho.ClientOptions) {
		o.SetWill(protocol.TerminalTopic("T1", protocol.TopicPresence),
			`{"v":1,"terminal":"T1","state":"offline"}`, 1, true)
		o.SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
			c, err := net.Dial("tcp", u.Host)
			conn = c
			return c, err
		})
	})
	// A birth retained before the hub subscribes reaches it as a retained
	// copy (live = false). Wait until the broker has routed the live
	// publish, so that the link sees only the retained copy.
	routed := make(chan struct{}, 1)
	unsub, err := e.b.Subscribe(protocol.TerminalTopic("T1", protocol.TopicPresence), func(string, []byte, bool) {
		select {
		case routed <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t1.publish(t, protocol.TopicPresence, presence(t, "T1", 3), true)
	select {
	case <-routed:
	case <-time.After(wait):
		t.Fatal("the broker never routed the birth")
	}
	unsub()
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	tests := []struct {
		name  string
		do    func()
		state protocol.PresenceState
		live  bool
	}{
		{"retained birth", func() {}, protocol.PresenceOnline, false},
		{"live birth", func() { t1.publish(t, protocol.TopicPresence, presence(t, "T1", 0), true) }, protocol.PresenceOnline, true},
		{"last will", func() { conn.Close() }, protocol.PresenceOffline, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			c := e.ledger.next(t)
			p, _ := c.msg.(*protocol.Presence)
			if c.method != "Presence" || c.terminal != "T1" || p.State != tt.state || c.live != tt.live {
				t.Errorf("ledger got %s(%s) %+v live=%v, want Presence(T1) %s live=%v", c.method, c.terminal, c.msg, c.live, tt.state, tt.live)
			}
		})
	}
}

func TestLedgerErrorSendsNoAck(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	tm := connect(t, e.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck))
	e.ledger.failOn(5)
	tm.publish(t, protocol.TopicEvents, batch(t, "T1", 5), false)
	tm.publish(t, protocol.TopicEvents, batch(t, "T1", 6), false)
	var ack protocol.Ack
	tm.expect(t, protocol.TopicAck, &ack)
	if ack.Seq != 6 {
		t.Errorf("first ack is for %d, want 6 (no ack for the failed batch)", ack.Seq)
	}
	if s := e.link.Stats(); s.LedgerErrors != 1 || s.Acks != 1 {
		t.Errorf("stats %+v, want 1 ledger error and 1 ack", s)
	}
}

func TestOrderPerTerminal(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{Workers: 4, QueueDepth: 4})
	const perTerminal = 300
	terms := []string{"T1", "T2", "T3", "T4"}
	var wg sync.WaitGroup
	for _, id := range terms {
		tm := connect(t, e.addr, id)
		payloads := make([][]byte, perTerminal)
		for i := range payloads {
			payloads[i] = batch(t, id, i+1)
		}
		wg.Go(func() {
			toks := make([]paho.Token, 0, perTerminal)
			for _, p := range payloads {
				toks = append(toks, tm.c.Publish(protocol.TerminalTopic(id, protocol.TopicEvents), 1, false, p))
			}
			for _, tok := range toks {
				tok.WaitTimeout(wait)
			}
		})
	}
	got := map[string][]int{}
	for range perTerminal * len(terms) {
		c := e.ledger.next(t)
		got[c.terminal] = append(got[c.terminal], c.n)
	}
	wg.Wait()
	for _, id := range terms {
		seq := got[id]
		for i, n := range seq {
			if n != i+1 {
				t.Errorf("%s: batch %d reached the ledger at position %d; order %v", id, n, i+1, seq)
				break
			}
		}
		if len(seq) != perTerminal {
			t.Errorf("%s: %d batches reached the ledger, want %d", id, len(seq), perTerminal)
		}
	}
}

func TestClaimNotBehindIngest(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{Workers: 1, ClaimWorkers: 1})
	tm := connect(t, e.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck), protocol.TerminalTopic("T1", protocol.TopicClaimReply))
	release := e.ledger.setGate()
	defer release()
	tm.publish(t, protocol.TopicEvents, batch(t, "T1", 1), false)
	if c := e.ledger.next(t); c.method != "Ingest" {
		t.Fatalf("ledger got %s, want the Ingest that blocks", c.method)
	}
	// The ingest worker is stuck; the claim is answered all the same.
	tm.publish(t, protocol.TopicClaim, claim(t, "T1", 2), false)
	var rep protocol.ClaimReply
	tm.expect(t, protocol.TopicClaimReply, &rep)
	if rep.Seq != 2 {
		t.Errorf("reply for seq %d, want 2", rep.Seq)
	}
	release()
	var ack protocol.Ack
	tm.expect(t, protocol.TopicAck, &ack)
	if ack.Seq != 1 {
		t.Errorf("ack %d, want 1", ack.Seq)
	}
}

func TestBackPressureDropsNothing(t *testing.T) {
	e := embeddedEnv(t)
	e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{Workers: 1, QueueDepth: 1})
	tm := connect(t, e.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck))
	release := e.ledger.setGate()
	defer release()
	const n = 20
	toks := make([]paho.Token, 0, n)
	for i := 1; i <= n; i++ {
		toks = append(toks, tm.c.Publish(protocol.TerminalTopic("T1", protocol.TopicEvents), 1, false, batch(t, "T1", i)))
	}
	if c := e.ledger.next(t); c.n != 1 {
		t.Fatalf("first batch at the ledger is %d, want 1", c.n)
	}
	release()
	for i := 2; i <= n; i++ {
		if c := e.ledger.next(t); c.n != i {
			t.Fatalf("batch %d at the ledger, want %d", c.n, i)
		}
	}
	for i := 1; i <= n; i++ {
		var ack protocol.Ack
		tm.expect(t, protocol.TopicAck, &ack)
		if ack.Seq != uint64(i) {
			t.Fatalf("ack %d, want %d", ack.Seq, i)
		}
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Errorf("publish not acknowledged by the broker: %v", tok.Error())
		}
	}
}

func TestMetrics(t *testing.T) {
	e := embeddedEnv(t)
	l := e.startLink(t, mqttlink.Embedded(e.b), mqttlink.Config{})
	tm := connect(t, e.addr, "T1")
	tm.publish(t, protocol.TopicEvents, batch(t, "T1", 1), false)
	e.ledger.next(t)
	var b strings.Builder
	l.WriteMetrics(&b)
	for _, want := range []string{
		`# TYPE hexiao_mqtt_messages_in_total counter`,
		`hexiao_mqtt_messages_in_total{kind="events"} 1`,
		`hexiao_mqtt_messages_out_total{kind="version"} 1`,
		`hexiao_mqtt_malformed_total 0`,
		`# TYPE hexiao_mqtt_queued gauge`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}

func TestNewAndRun(t *testing.T) {
	e := embeddedEnv(t)
	tr := mqttlink.Embedded(e.b)
	tests := []struct {
		name string
		cfg  mqttlink.Config
		ok   bool
	}{
		{"defaults", mqttlink.Config{Ledger: e.ledger, Transport: tr}, true},
		{"no ledger", mqttlink.Config{Transport: tr}, false},
		{"no transport", mqttlink.Config{Ledger: e.ledger}, false},
		{"negative workers", mqttlink.Config{Ledger: e.ledger, Transport: tr, Workers: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mqttlink.New(tt.cfg)
			if got := err == nil; got != tt.ok {
				t.Errorf("New ok = %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
	l, err := mqttlink.New(mqttlink.Config{Ledger: e.ledger, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	announced := make(chan struct{}, 1)
	unsub, err := e.b.Subscribe(protocol.HubVersionTopic, func(string, []byte, bool) {
		select {
		case announced <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	stop := runLink(t, l)
	defer stop()
	select {
	case <-announced: // the first Run is under way
	case <-time.After(wait):
		t.Fatal("Run never announced the version")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx); err == nil {
		t.Error("second Run succeeded, want an error")
	}
}
