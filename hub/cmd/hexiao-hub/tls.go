package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hexiao/hexiao/internal/tlsca"
)

// CAFile holds the hub's own certificate authority (internal/tlsca), made
// on first start; terminals pin it by its fingerprint.
const CAFile = "ca.pem"

// loopback reports whether addr (host:port) listens on loopback only: the
// one place the hub serves plain TCP.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && tlsca.Loopback(host)
}

// serverTLS returns the TLS configuration for a listener on addr, or nil
// on loopback. Its certificate names the listen host, or, on an
// unspecified address, this machine's name and every address it has.
func serverTLS(ca *tlsca.CA, addr string, now time.Time) (*tls.Config, error) {
	if loopback(addr) {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	hosts := []string{}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		hosts = append(hosts, host)
	} else {
		if name, err := os.Hostname(); err == nil {
			hosts = append(hosts, name)
		}
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, n.IP.String())
			}
		}
	}
	hosts = append(hosts, "localhost", "127.0.0.1", "::1")
	cfg, err := ca.ServerConfig(hosts, now)
	if err != nil {
		return nil, fmt.Errorf("tls for %s: %w", addr, err)
	}
	return cfg, nil
}

// openCA loads (first start: makes) the hub's CA under dir.
func openCA(dir string, now time.Time) (*tlsca.CA, error) {
	name := "Hexiao hub"
	if h, err := os.Hostname(); err == nil {
		name += " " + h
	}
	return tlsca.LoadOrCreate(filepath.Join(dir, CAFile), name, now)
}
