package mqttlink_test

import (
	"context"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/protocol"
)

// TestRevokeDisconnects runs the real hub, broker and link: revoking a
// connected terminal ends its session at once, and it cannot log in again.
func TestRevokeDisconnects(t *testing.T) {
	e := newRealEnv(t, 2, 10)
	lost := make(chan error, 1)
	tm := e.terms[0]
	o := paho.NewClientOptions().AddBroker("tcp://" + e.addr).SetClientID(tm.ID).SetUsername(tm.ID).
		SetPassword(string(tm.Password)).SetCleanSession(false).SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	// The other terminal stays connected.
	other := e.dial(t, e.terms[1], make(chan []byte, 10))

	if _, err := e.f.Hub.RevokeTerminal(context.Background(), tm.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked terminal is still connected")
	}
	again := paho.NewClient(o)
	tok := again.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() == nil {
		again.Disconnect(0)
		t.Fatal("the revoked terminal logged in again")
	}
	if !other.IsConnectionOpen() {
		t.Error("revoking one terminal disconnected another")
	}
	// The other terminal's messages still go through.
	tok = other.Publish(protocol.TerminalTopic(e.terms[1].ID, protocol.TopicPresence), 1, false, []byte{})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Errorf("publish of the other terminal: %v", tok.Error())
	}
}
