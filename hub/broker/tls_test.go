package broker_test

import (
	"crypto/tls"
	"errors"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/hexiao/hexiao/hub/broker"
	"github.com/hexiao/hexiao/internal/tlsca"
)

// TestTLS: a broker with TLS takes terminals that pin the hub's CA and
// refuses plain TCP and terminals pinning another CA.
func TestTLS(t *testing.T) {
	ca, err := tlsca.LoadOrCreate(filepath.Join(t.TempDir(), "ca.pem"), "test hub", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.ServerConfig([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.Config{Addr: "127.0.0.1:0", Directory: newDirectory(), TLS: srv})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	connect := func(url string, cfg *tls.Config) error {
		o := paho.NewClientOptions().AddBroker(url).SetClientID("T1").SetUsername("T1").SetPassword("pw-one").
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
		if cfg != nil {
			o.SetTLSConfig(cfg)
		}
		c := paho.NewClient(o)
		tok := c.Connect()
		if !tok.WaitTimeout(10 * time.Second) {
			return errNoConnack
		}
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	addr := b.Addr().String()
	pin, err := tlsca.PinConfig(ca.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if err := connect("ssl://"+addr, pin); err != nil {
		t.Errorf("terminal pinning the hub's CA: %v", err)
	}
	if err := connect("tcp://"+addr, nil); err == nil {
		t.Error("plain TCP accepted by a TLS broker")
	}
	other, err := tlsca.LoadOrCreate(filepath.Join(t.TempDir(), "ca.pem"), "other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := tlsca.PinConfig(other.Fingerprint())
	if err := connect("ssl://"+addr, wrong); err == nil {
		t.Error("terminal pinning another CA connected")
	}
}

var errNoConnack = errors.New("no CONNACK")
