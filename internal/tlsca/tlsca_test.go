package tlsca_test

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/internal/tlsca"
)

var now = time.Now()

func newCA(t *testing.T) (*tlsca.CA, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	ca, err := tlsca.LoadOrCreate(path, "Hexiao hub test", now)
	if err != nil {
		t.Fatal(err)
	}
	return ca, path
}

// serve runs a TLS echo server with cfg on loopback until the test ends
// and returns its address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4)
				if n, err := c.Read(buf); err == nil {
					c.Write(buf[:n])
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// dial completes a handshake and one round trip, or returns why not.
func dial(addr string, cfg *tls.Config) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	_, err = c.Read(buf)
	return err
}

func TestLoadOrCreateKeepsOneCA(t *testing.T) {
	ca, path := newCA(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ca file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := tlsca.LoadOrCreate(path, "another name", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != ca.Fingerprint() {
		t.Errorf("second start: fingerprint %s, first %s: the CA was made again", again.Fingerprint(), ca.Fingerprint())
	}
	if fp, err := tlsca.ParseFingerprint(strings.ToLower(" " + ca.Fingerprint() + " ")); err != nil || fp != ca.Fingerprint() {
		t.Errorf("ParseFingerprint of the lower-cased fingerprint: %q, %v", fp, err)
	}
	if len(ca.Fingerprint()) != 59 {
		t.Errorf("fingerprint %q: %d characters, want 59", ca.Fingerprint(), len(ca.Fingerprint()))
	}
}

func TestLoadRefusesDamagedFiles(t *testing.T) {
	_, path := newCA(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other, otherPath := newCA(t)
	_ = other
	otherBytes, _ := os.ReadFile(otherPath)
	certOnly := good[:strings.Index(string(good), "-----BEGIN EC PRIVATE KEY")]
	keyOfOther := otherBytes[strings.Index(string(otherBytes), "-----BEGIN EC PRIVATE KEY"):]
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "want a CERTIFICATE"},
		{"certificate only", certOnly, "want a CERTIFICATE"},
		{"another CA's key", append(append([]byte{}, certOnly...), keyOfOther...), "does not belong"},
		{"garbage block", []byte("-----BEGIN NONSENSE-----\nAAAA\n-----END NONSENSE-----\n"), "unexpected PEM block"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(p, c.b, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := tlsca.LoadOrCreate(p, "x", now); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("load: %v, want an error saying %q", err, c.want)
			}
		})
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsca.LoadOrCreate(path, "x", now); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("load of a world-readable CA: %v, want refused", err)
	}
}

// TestPinnedHandshake: a terminal that knows only the fingerprint (first
// contact) or the CA certificate (after enrollment) completes a handshake
// with the hub, and with nothing else.
func TestPinnedHandshake(t *testing.T) {
	ca, _ := newCA(t)
	srv, err := ca.ServerConfig([]string{"127.0.0.1", "hub.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	pin, err := tlsca.PinConfig(ca.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(addr, pin); err != nil {
		t.Errorf("first contact with the right pin: %v", err)
	}
	enrolled, err := tlsca.ClientConfig(ca.CertPEM(), ca.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(addr, enrolled); err != nil {
		t.Errorf("enrolled terminal: %v", err)
	}
	// The same name check a browser makes.
	wrongName := enrolled.Clone()
	wrongName.ServerName = "other.example"
	if err := dial(addr, wrongName); err == nil {
		t.Error("enrolled terminal accepted a certificate for another name")
	}

	// A hub with another CA (an impostor on the network).
	other, _ := newCA(t)
	osrv, err := other.ServerConfig([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	oaddr := serve(t, osrv)
	if err := dial(oaddr, pin); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("first contact with an impostor: %v, want refused naming the pin", err)
	}
	if err := dial(oaddr, enrolled); err == nil {
		t.Error("enrolled terminal accepted an impostor")
	}
	// The impostor presenting the real CA certificate without its key.
	stolen := osrv.Clone()
	c := stolen.Certificates[0]
	c.Certificate = [][]byte{c.Certificate[0], pemDER(t, ca.CertPEM())}
	stolen.Certificates = []tls.Certificate{c}
	if err := dial(serve(t, stolen), pin); err == nil {
		t.Error("first contact accepted a server certificate the pinned CA did not sign")
	}
	if _, err := tlsca.ClientConfig(other.CertPEM(), ca.Fingerprint()); err == nil {
		t.Error("ClientConfig took a CA certificate whose fingerprint is not the pin")
	}
}

func pemDER(t *testing.T, p []byte) []byte {
	t.Helper()
	s := string(p)
	s = strings.TrimPrefix(s, "-----BEGIN CERTIFICATE-----\n")
	s = s[:strings.Index(s, "-----END")]
	b, err := decodeB64(strings.ReplaceAll(s, "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFingerprintRefuses(t *testing.T) {
	ca, _ := newCA(t)
	for _, s := range []string{"", "SHA256:", "MD5:" + ca.Fingerprint()[7:], ca.Fingerprint()[:40], ca.Fingerprint() + "A", "SHA256:" + strings.Repeat("1", 52)} {
		if _, err := tlsca.ParseFingerprint(s); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", s)
		}
	}
}

func FuzzParseFingerprint(f *testing.F) {
	f.Add("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("sha256:zzzz")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := tlsca.ParseFingerprint(s)
		if err != nil {
			return
		}
		again, err := tlsca.ParseFingerprint(fp)
		if err != nil || again != fp {
			t.Fatalf("canonical %q does not parse to itself: %q, %v", fp, again, err)
		}
		if len(fp) != 59 {
			t.Fatalf("canonical %q: %d characters", fp, len(fp))
		}
	})
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true,
		"192.0.2.1": false, "hq.example": false, "": false, "0.0.0.0": false} {
		if got := tlsca.Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
