package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// mosquitto is a real Mosquitto with logins (password file) and the
// terminals' ACL, on a free loopback port.
type mosquitto struct {
	t    *testing.T
	dir  string
	addr string
	p    *proc

	users map[string]string // user → password
	acl   []string          // per-terminal lines (the store feed)
}

// startMosquitto starts Mosquitto knowing only the hub's login. It skips
// the test only when Mosquitto is not installed and cannot be (not root):
// make test installs it (scripts/deps.sh), so as root a missing binary
// fails.
func startMosquitto(t *testing.T, hubUser, hubPassword string) *mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Geteuid() != 0 {
			t.Skip("mosquitto is not installed: scripts/deps.sh (make test) installs it as root")
		}
		t.Fatalf("mosquitto is not installed: run scripts/deps.sh (%v)", err)
	}
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Fatalf("mosquitto_passwd is missing (it comes with the mosquitto package): %v", err)
	}
	m := &mosquitto{t: t, dir: t.TempDir(), addr: freeAddr(t), users: map[string]string{hubUser: hubPassword},
		acl: []string{"user " + hubUser, "topic readwrite " + protocol.TopicRoot + "/#"}}
	m.writeAuth()
	_, port, _ := strings.Cut(m.addr, ":")
	conf := []string{
		"listener " + port + " 127.0.0.1",
		"allow_anonymous false",
		"password_file " + filepath.Join(m.dir, "passwd"),
		"acl_file " + filepath.Join(m.dir, "acl"),
		// One session per login: without it a terminal could take over
		// another's session by its client id.
		"use_username_as_clientid true",
		"max_queued_messages 0",
		"persistence false",
		"log_dest stdout",
		"log_type all",
	}
	if os.Geteuid() == 0 {
		// Run as root, Mosquitto becomes user mosquitto, who cannot read
		// the test's 0600 files.
		conf = append(conf, "user root")
	}
	if err := os.WriteFile(filepath.Join(m.dir, "mosquitto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.p = startProc(t, "mosquitto", bin, false, "-c", filepath.Join(m.dir, "mosquitto.conf"))
	go func() { // its log is on stdout, which startProc keeps
		for range m.p.lines {
		}
	}()
	eventually(t, wait, "mosquitto accepts the hub's login", func() (bool, string) {
		c, err := dialMQTT(t, m.addr, "probe", hubUser, hubPassword)
		if err != nil {
			return false, err.Error()
		}
		c.c.Disconnect(0)
		return true, ""
	})
	return m
}

// writeAuth writes the password file and the ACL: every terminal may
// publish and read only its own topics (protocol.TerminalMayPublish and
// TerminalMaySubscribe as Mosquitto patterns on %u, the login, which is
// the terminal id) and its store's feed (a line per terminal).
func (m *mosquitto) writeAuth() {
	m.t.Helper()
	pw := filepath.Join(m.dir, "passwd")
	os.Remove(pw)
	for user, password := range m.users {
		args := []string{"-b", pw, user, password}
		if _, err := os.Stat(pw); err != nil {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
			m.t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
		}
	}
	acl := []string{"# terminals: their own topics only (protocol.TerminalMayPublish, TerminalMaySubscribe)"}
	for _, s := range protocol.Topics {
		if s.From == protocol.FromTerminal {
			acl = append(acl, "pattern write "+strings.ReplaceAll(s.Pattern, "{terminal}", "%u"))
		}
	}
	acl = append(acl, "pattern read "+protocol.TopicRoot+"/t/%u/#", "pattern read "+protocol.HubVersionTopic)
	acl = append(acl, m.acl...)
	if err := os.WriteFile(filepath.Join(m.dir, "acl"), []byte(strings.Join(acl, "\n")+"\n"), 0o600); err != nil {
		m.t.Fatal(err)
	}
}

// addTerminal gives an enrolled terminal its login (the password from its
// hub.json) and its store's feed, and reloads Mosquitto (SIGHUP).
func (m *mosquitto) addTerminal(tm *term) {
	m.t.Helper()
	pw := tm.hubConfig().Password
	m.users[tm.id] = pw
	m.acl = append(m.acl, "user "+tm.id, "topic read "+protocol.StoreFeedTopic(tm.store))
	m.writeAuth()
	if err := m.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		m.t.Fatal(err)
	}
	eventually(m.t, wait, "mosquitto takes "+tm.id+"'s login after SIGHUP", func() (bool, string) {
		c, err := dialMQTT(m.t, m.addr, tm.id, tm.id, pw)
		if err != nil {
			return false, err.Error()
		}
		c.c.Disconnect(0)
		return true, ""
	})
}

// TestMosquittoTwoStores runs TestTwoStoresOnline's scenario with the hub
// on an external Mosquitto (serve --broker) that enrolled terminals find
// through --terminal-broker.
func TestMosquittoTwoStores(t *testing.T) {
	b := make([]byte, 18)
	rand.Read(b)
	hubPassword := base64.RawURLEncoding.EncodeToString(b)
	m := startMosquitto(t, "hub", hubPassword)
	h := startHub(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0",
		"--broker", "mqtt://hub:"+hubPassword+"@"+m.addr, "--terminal-broker", "mqtt://"+m.addr)
	start := time.Now()
	twoStores(t, h, func(store, id string) *term {
		tm := enroll(t, h, store, id)
		if got := tm.hubConfig().MQTTURL; got != "mqtt://"+m.addr {
			t.Fatalf("enrolled %s with mqtt_url %q, want the --terminal-broker address mqtt://%s", id, got, m.addr)
		}
		m.addTerminal(tm)
		return tm
	})
	t.Logf("two stores over Mosquitto: %s", time.Since(start).Round(time.Millisecond))

	// The ACL holds on Mosquitto too: with T1's login a claim on T2's
	// topic goes nowhere and T2's replies and store feed are not T1's to
	// read; the same claim with T2's own login is answered.
	codes := h.issue("C1", 2)
	forged, control := codes[0], codes[1]
	spy, err := dialMQTT(t, m.addr, "T1", "T1", m.users["T1"])
	if err != nil {
		t.Fatalf("T1 logs in: %v", err)
	}
	spy.subscribe(protocol.TopicRoot+"/t/T2/#", protocol.StoreFeedTopic("S2"))
	err = spy.publish(protocol.TerminalTopic("T2", protocol.TopicClaim), claimFor("T2", "S2", 100, forged))
	t.Logf("T1 publishes a claim on T2's topic through Mosquitto: %v", err)
	own, err := dialMQTT(t, m.addr, "T2", "T2", m.users["T2"])
	if err != nil {
		t.Fatalf("T2 logs in: %v", err)
	}
	own.subscribe(protocol.TerminalTopic("T2", protocol.TopicClaimReply))
	if err := own.publish(protocol.TerminalTopic("T2", protocol.TopicClaim), claimFor("T2", "S2", 101, control)); err != nil {
		t.Fatalf("T2 publishes its claim: %v", err)
	}
	var reply protocol.ClaimReply
	own.await(protocol.TerminalTopic("T2", protocol.TopicClaimReply), &reply, func() bool { return reply.Seq == 101 })
	if reply.Reason != protocol.Accepted {
		t.Fatalf("control: T2's own claim answered %s, want accepted", reply.Reason)
	}
	if c := h.code(forged.ID); c.UsesLeft != 1 {
		t.Errorf("the code T1 claimed on T2's topic has %d uses left, want 1", c.UsesLeft)
	}
	for _, r := range spy.messages() {
		t.Errorf("T1's client received a message on %s", r.topic)
	}
}
