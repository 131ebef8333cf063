package broker

import (
	"errors"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

type oneTerminal struct{}

func (oneTerminal) Login(terminal string, password []byte) (string, error) {
	if terminal == "T1" && string(password) == "pw" {
		return "S1", nil
	}
	return "", errors.New("wrong password")
}

// TestKeepaliveImposed: a client that asks for no keepalive gets
// idleKeepalive, so a half-open connection cannot stay online forever; one
// that asks for a keepalive keeps it.
func TestKeepaliveImposed(t *testing.T) {
	b, err := New(Config{Addr: "127.0.0.1:0", Directory: oneTerminal{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, c := range []struct {
		asked time.Duration
		want  uint16
	}{{0, idleKeepalive}, {30 * time.Second, 30}} {
		o := paho.NewClientOptions().AddBroker("tcp://" + b.Addr().String()).SetClientID("T1").
			SetUsername("T1").SetPassword("pw").SetProtocolVersion(4).SetKeepAlive(c.asked).
			SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
		pc := paho.NewClient(o)
		if tok := pc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		cl, ok := b.srv.Clients.Get("T1")
		if !ok {
			t.Fatal("the client is not known to the broker")
		}
		if got := cl.State.Keepalive; got != c.want {
			t.Errorf("asked for keepalive %v: the broker keeps %d s, want %d", c.asked, got, c.want)
		}
		pc.Disconnect(0)
	}
}
