package mqttlink_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub/mqttlink"
	"github.com/hexiao/hexiao/protocol"
)

// mosquitto is a real Mosquitto process on a free loopback port.
type mosquitto struct {
	t    *testing.T
	bin  string
	conf string
	addr string
	logs *logBuffer

	cmd    *exec.Cmd
	exited chan error // receives the process's exit
}

// startMosquitto starts Mosquitto for the test and kills it at the end. It
// skips the test only when the binary is missing and the test cannot
// install it (not root); as root, scripts/deps.sh installs it, so a missing
// binary is a failure.
func startMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Geteuid() != 0 {
			t.Skip("mosquitto is not installed (scripts/deps.sh installs it as root)")
		}
		t.Fatalf("mosquitto is not installed: run scripts/deps.sh (%v)", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	m := &mosquitto{t: t, bin: bin, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), logs: &logBuffer{}}
	m.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nlog_dest stdout\npersistence false\n", port)
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.logs)
		}
	})
	return m
}

// start runs the process and waits until its port accepts connections.
func (m *mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- m.cmd.Wait() }()
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", m.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			m.t.Fatalf("mosquitto exited at start: %v\n%s", err, m.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto never accepted connections on %s", m.addr)
		}
	}
	m.exited = exited
}

// stop kills the process and waits for it.
func (m *mosquitto) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

// restart kills Mosquitto and starts it again on the same port; without
// persistence it forgets every session, subscription and retained message.
func (m *mosquitto) restart() {
	m.t.Helper()
	m.stop()
	m.start()
}

// dial connects an External transport to m with a fixed client id.
func (m *mosquitto) dial(t *testing.T, clientID, group string) *mqttlink.External {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	u := "mqtt://hub:secret@" + m.addr + "?client_id=" + clientID
	if group != "" {
		u += "&share=" + group
	}
	tr, err := mqttlink.Dial(ctx, mqttlink.DialConfig{URL: u, Log: m.logs.Logger().With("part", "paho")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if err := tr.Ready(); err != nil {
		t.Errorf("Ready after Dial: %v", err)
	}
	return tr
}

func TestExternalRoundTrips(t *testing.T) {
	for _, group := range []string{"", "hexiao"} {
		t.Run("share="+group, func(t *testing.T) {
			m := startMosquitto(t)
			e := &env{addr: m.addr, ledger: newFakeLedger(), logs: m.logs}
			e.startLink(t, m.dial(t, "hub-1", group), mqttlink.Config{})
			roundTrips(t, e)
		})
	}
}

// Two hub instances in one shared-subscription group split the terminals'
// messages: each batch reaches exactly one of them, and every ack arrives.
func TestExternalSharedSubscription(t *testing.T) {
	m := startMosquitto(t)
	a := &env{addr: m.addr, ledger: newFakeLedger(), logs: m.logs}
	b := &env{addr: m.addr, ledger: newFakeLedger(), logs: m.logs}
	a.startLink(t, m.dial(t, "hub-a", "hexiao"), mqttlink.Config{})
	b.startLink(t, m.dial(t, "hub-b", "hexiao"), mqttlink.Config{})
	tm := connect(t, m.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck))
	const n = 40
	for i := 1; i <= n; i++ {
		tm.publish(t, protocol.TopicEvents, batch(t, "T1", i), false)
	}
	acked := map[uint64]bool{}
	for range n {
		var ack protocol.Ack
		tm.expect(t, protocol.TopicAck, &ack)
		if acked[ack.Seq] {
			t.Errorf("ack %d twice", ack.Seq)
		}
		acked[ack.Seq] = true
	}
	seen := map[int]string{}
	for _, h := range []struct {
		name string
		e    *env
	}{{"hub-a", a}, {"hub-b", b}} {
		for len(h.e.ledger.calls) > 0 {
			c := <-h.e.ledger.calls
			if other, dup := seen[c.n]; dup {
				t.Errorf("batch %d reached both %s and %s", c.n, other, h.name)
			}
			seen[c.n] = h.name
		}
	}
	if len(seen) != n {
		t.Errorf("%d batches reached a ledger, want %d", len(seen), n)
	}
}

// Batches published while the hub is away wait in its persistent session at
// the broker and reach the ledger when it is back.
func TestExternalQueuedWhileAway(t *testing.T) {
	m := startMosquitto(t)
	e := &env{addr: m.addr, ledger: newFakeLedger(), logs: m.logs}
	first := m.dial(t, "hub-1", "")
	l, err := mqttlink.New(mqttlink.Config{Ledger: e.ledger, Transport: first, Log: m.logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	stop := runLink(t, l)
	tm := connect(t, m.addr, "T1")
	tm.subscribe(t, protocol.TerminalTopic("T1", protocol.TopicAck))
	tm.publish(t, protocol.TopicEvents, batch(t, "T1", 1), false)
	var ack protocol.Ack
	tm.expect(t, protocol.TopicAck, &ack) // the link's subscriptions are in place
	stop()
	first.Close()

	for i := 2; i <= 4; i++ {
		tm.publish(t, protocol.TopicEvents, batch(t, "T1", i), false)
	}
	e.ledger.next(t) // batch 1, from the first run
	e.startLink(t, m.dial(t, "hub-1", ""), mqttlink.Config{})
	for i := 2; i <= 4; i++ {
		if c := e.ledger.next(t); c.n != i {
			t.Errorf("ledger got batch %d after the hub came back, want %d", c.n, i)
		}
		tm.expect(t, protocol.TopicAck, &ack)
		if ack.Seq != uint64(i) {
			t.Errorf("ack %d, want %d", ack.Seq, i)
		}
	}
}

// After the broker restarts without persistence, the transport reconnects,
// subscribes again and re-publishes the retained version announcement.
func TestExternalBrokerRestart(t *testing.T) {
	m := startMosquitto(t)
	e := &env{addr: m.addr, ledger: newFakeLedger(), logs: m.logs}
	e.startLink(t, m.dial(t, "hub-1", ""), mqttlink.Config{})
	before := connect(t, m.addr, "T2")
	before.subscribe(t, protocol.TerminalTopic("T2", protocol.TopicAck))
	before.publish(t, protocol.TopicEvents, batch(t, "T2", 1), false)
	var ack protocol.Ack
	before.expect(t, protocol.TopicAck, &ack) // the link's subscriptions are in place
	e.ledger.next(t)
	m.restart()

	tm := connect(t, m.addr, "T1")
	tm.subscribe(t, protocol.HubVersionTopic, protocol.TerminalTopic("T1", protocol.TopicAck))
	// The announcement comes (retained, or live if the hub is slower than
	// this terminal) only after the transport has subscribed again.
	var v protocol.VersionAnnounce
	tm.expectOn(t, protocol.HubVersionTopic, &v)
	tm.publish(t, protocol.TopicEvents, batch(t, "T1", 9), false)
	if c := e.ledger.next(t); c.n != 9 || c.terminal != "T1" {
		t.Errorf("ledger got batch %d of %s, want 9 of T1", c.n, c.terminal)
	}
	// The announcement may come twice: retained on subscribing, and live
	// when the transport is back.
	for {
		got := tm.next(t)
		if got.topic == protocol.HubVersionTopic {
			continue
		}
		if want := protocol.TerminalTopic("T1", protocol.TopicAck); got.topic != want {
			t.Fatalf("T1 got a message on %s, want %s", got.topic, want)
		}
		break
	}
	if !strings.Contains(m.logs.String(), "mqtt broker connection lost") {
		t.Errorf("the lost connection was not logged")
	}
}

func TestDialRefusesBadURLs(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"not a URL", "::", "does not parse"},
		{"wrong scheme", "http://h:1", "scheme"},
		{"no host", "mqtt://", "no host"},
		{"bad share group", "mqtt://127.0.0.1:1?share=a/b", "shared subscription group"},
		{"nobody listening", "mqtt://u:hunter2@127.0.0.1:1", "connect to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			tr, err := mqttlink.Dial(ctx, mqttlink.DialConfig{URL: tt.url, ConnectTimeout: time.Second})
			if err == nil {
				tr.Close()
				t.Fatalf("Dial succeeded, want an error saying %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q, want one saying %q without the password", err, tt.want)
			}
		})
	}
}
