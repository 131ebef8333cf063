package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"bufio"
	"context"
	"crypto/tls"
	paho "github.com/eclipse/paho.mqtt.golang"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/internal/tlsca"
)

// outsideIP is an address of this machine that is not loopback, or "".
func outsideIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestServeTLSOffLoopback: listening on a non-loopback address, serve
// speaks only TLS, with a certificate from the CA whose fingerprint it
// prints; a terminal pinning that fingerprint gets in, plain HTTP does not.
func TestServeTLSOffLoopback(t *testing.T) {
	ip := outsideIP()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--http", ip + ":0", "--mqtt", ip + ":0"}, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	addrs, fp := map[string]string{}, ""
	sc := bufio.NewScanner(pr)
	for (len(addrs) < 2 || fp == "") && sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[1] == "listening":
			addrs[f[0]] = f[3]
		case len(f) == 3 && f[0] == "ca" && f[1] == "fingerprint":
			fp = f[2]
		}
	}
	go io.Copy(io.Discard, pr)
	if addrs["http"] == "" || addrs["mqtt"] == "" || fp == "" {
		t.Fatalf("serve printed listeners %v and fingerprint %q", addrs, fp)
	}
	ca, err := openCA(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ca.Fingerprint() != fp {
		t.Errorf("printed fingerprint %s, the CA's is %s", fp, ca.Fingerprint())
	}
	pin, err := tlsca.PinConfig(fp)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: pin}}
	resp, err := c.Get("https://" + addrs["http"] + "/healthz")
	if err != nil {
		t.Fatalf("https healthz with the pin: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("https healthz: %d", resp.StatusCode)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + addrs["http"] + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered off loopback")
		}
	}
	enrollOverTLS(t, dir, c, "https://"+addrs["http"], fp)

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addrs["mqtt"], pin)
	if err != nil {
		t.Fatalf("mqtt TLS handshake with the pin: %v", err)
	}
	conn.Close()
	other, err := tlsca.LoadOrCreate(t.TempDir()+"/ca.pem", "other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := tlsca.PinConfig(other.Fingerprint())
	if conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addrs["mqtt"], wrong); err == nil {
		conn.Close()
		t.Error("mqtt TLS handshake succeeded with another CA's pin")
	}
}

// enrollOverTLS enrolls a terminal over HTTPS, as a terminal will (pinned
// client c), and logs it in to MQTT over TLS with what it got: the MQTT
// URL, the CA certificate and the password.
func enrollOverTLS(t *testing.T, dir string, c *http.Client, base, fp string) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	call := func(path, body string, auth bool, out any) {
		t.Helper()
		rq, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		rq.Header.Set("Content-Type", "application/json")
		if auth {
			rq.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		}
		resp, err := c.Do(rq)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
	}
	call("/api/v1/stores", `{"id":"s1","name":"Xuhui","region":"sh","timezone":"Asia/Shanghai"}`, true, nil)
	var tok struct {
		Token string `json:"token"`
	}
	call("/api/v1/enrollments", `{"store":"s1","terminal":"t1"}`, true, &tok)
	pub, _, _ := ed25519.GenerateKey(nil)
	var got struct {
		Password string `json:"mqtt_password"`
		MQTT     string `json:"mqtt_url"`
		CA       string `json:"ca_cert"`
		FP       string `json:"ca_fingerprint"`
	}
	call("/api/v1/enroll", fmt.Sprintf(`{"token":%q,"public_key":%q}`, tok.Token, base64.StdEncoding.EncodeToString(pub)), false, &got)
	if got.FP != fp || !strings.HasPrefix(got.MQTT, "mqtts://") {
		t.Fatalf("enrolled: mqtt_url %q, fingerprint %q (serve printed %s)", got.MQTT, got.FP, fp)
	}
	cfg, err := tlsca.ClientConfig([]byte(got.CA), got.FP)
	if err != nil {
		t.Fatal(err)
	}
	o := paho.NewClientOptions().AddBroker(strings.Replace(got.MQTT, "mqtts://", "ssl://", 1)).SetTLSConfig(cfg).
		SetClientID("t1").SetUsername("t1").SetPassword(got.Password).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second)
	m := paho.NewClient(o)
	if tk := m.Connect(); !tk.WaitTimeout(15*time.Second) || tk.Error() != nil {
		t.Fatalf("mqtt login over TLS with the enrolled credentials: %v", tk.Error())
	}
	m.Disconnect(0)
}
