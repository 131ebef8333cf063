package main

import (
	"bufio"
	"context"
	"crypto/tls"
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
