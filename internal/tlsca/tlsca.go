// Package tlsca is the hub's own certificate authority: made once on first
// start (an ECDSA P-256 key and a self-signed CA certificate in one 0600
// file), it signs the hub's server certificate for MQTT and HTTPS at every
// start, and gives terminals what they pin it by: the SHA-256 fingerprint
// of the CA certificate, carried in the enrollment QR code, so a terminal
// trusts the hub from its first contact without any public CA. It holds no
// product logic and must never import terminal, hub or drivers.
package tlsca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/hexiao/hexiao/internal/keyfile"
)

// Validity of the certificates: the CA for as long as terminals stay
// enrolled, the server certificate (made anew at every start) for a year.
const (
	caValidity     = 20 * 365 * 24 * time.Hour
	serverValidity = 365 * 24 * time.Hour
	clockSlack     = time.Hour // certificates start this much before now
)

// CA is a loaded certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// LoadOrCreate reads the CA kept at path (PEM: the CA certificate, then its
// EC private key), or makes one named name and keeps it there (0600, made
// once: see internal/keyfile).
func LoadOrCreate(path, name string, now time.Time) (*CA, error) {
	b, err := keyfile.ReadOrCreate(path, func() ([]byte, error) { return create(name, now) })
	if err != nil {
		return nil, fmt.Errorf("tls ca %s: %w", path, err)
	}
	ca, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("tls ca %s: %w", path, err)
	}
	return ca, nil
}

func create(name string, now time.Time) ([]byte, error) {
	key, tmpl, err := newCert(name, now, now.Add(caValidity))
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid, tmpl.IsCA, tmpl.MaxPathLenZero = true, true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&out, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return out.Bytes(), nil
}

func parse(b []byte) (*CA, error) {
	var ca CA
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate: %w", err)
			}
			ca.cert = c
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("private key: %w", err)
			}
			ca.key = k
		default:
			return nil, fmt.Errorf("unexpected PEM block %q", blk.Type)
		}
	}
	switch {
	case ca.cert == nil || ca.key == nil:
		return nil, errors.New("want a CERTIFICATE and an EC PRIVATE KEY block")
	case !ca.cert.IsCA:
		return nil, errors.New("the certificate is not a CA")
	case !ca.key.PublicKey.Equal(ca.cert.PublicKey):
		return nil, errors.New("the private key does not belong to the certificate")
	}
	return &ca, nil
}

// newCert makes a P-256 key and a certificate template named cn, valid from
// a little before now (clocks differ) to notAfter, with a random serial.
func newCert(cn string, now, notAfter time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	return key, &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Hexiao"}},
		NotBefore:    now.Add(-clockSlack),
		NotAfter:     notAfter,
	}, nil
}

// Fingerprint is how a terminal pins the CA: "SHA256:" and the base32
// (RFC 4648, upper case, no padding) of the SHA-256 of its certificate —
// 59 characters, in the QR code's alphanumeric set.
func (c *CA) Fingerprint() string { return FingerprintOf(c.cert.Raw) }

// FingerprintOf returns the fingerprint of a DER certificate.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	return fingerprintPrefix + b32.EncodeToString(sum[:])
}

const fingerprintPrefix = "SHA256:"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ParseFingerprint checks a fingerprint as typed or scanned (case and
// surrounding spaces do not matter) and returns it in canonical form.
func ParseFingerprint(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	rest, ok := strings.CutPrefix(s, fingerprintPrefix)
	if !ok {
		return "", fmt.Errorf("fingerprint %.20q: want it to start with %s", s, fingerprintPrefix)
	}
	sum, err := b32.DecodeString(rest)
	if err != nil || len(sum) != sha256.Size {
		return "", fmt.Errorf("fingerprint %.20q: want %d base32 characters after %s", s, b32.EncodedLen(sha256.Size), fingerprintPrefix)
	}
	return fingerprintPrefix + b32.EncodeToString(sum), nil
}

// CertPEM is the CA certificate, for a terminal to keep after enrollment.
func (c *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

// ServerConfig makes a server certificate for hosts (DNS names or IP
// addresses; at least one) signed by the CA, and returns the TLS
// configuration that presents it with the CA certificate, so a terminal can
// pin the CA from the handshake itself.
func (c *CA) ServerConfig(hosts []string, now time.Time) (*tls.Config, error) {
	if len(hosts) == 0 {
		return nil, errors.New("tls server certificate: no host names")
	}
	notAfter := now.Add(serverValidity)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	key, tmpl, err := newCert(hosts[0], now, notAfter)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("tls server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key, Leaf: leaf}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// ClientConfig trusts only the CA whose certificate is caPEM, and only if
// its fingerprint is fingerprint: what a terminal uses after enrollment.
// The server's name is checked as usual (set ServerName, or let the
// dialer take it from the address).
func ClientConfig(caPEM []byte, fingerprint string) (*tls.Config, error) {
	fp, err := ParseFingerprint(fingerprint)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(caPEM)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("tls ca: no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	if got := FingerprintOf(cert.Raw); got != fp {
		return nil, fmt.Errorf("tls ca: fingerprint %s, pinned %s", got, fp)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// PinConfig is a terminal's first contact, before it has the CA
// certificate: it accepts a server whose handshake presents a CA
// certificate with fingerprint and a certificate for the server's name
// signed by it, and nothing else. Set ServerName when dialing by a name
// other than the address.
func PinConfig(fingerprint string) (*tls.Config, error) {
	fp, err := ParseFingerprint(fingerprint)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} // verified below, against the pin
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		var ca *x509.Certificate
		for _, c := range cs.PeerCertificates {
			if FingerprintOf(c.Raw) == fp {
				ca = c
			}
		}
		if ca == nil {
			return fmt.Errorf("tls: the hub presented no CA with the pinned fingerprint %s", fp)
		}
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: no server certificate")
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: cs.ServerName})
		if err != nil {
			return fmt.Errorf("tls: the hub's certificate is not from the pinned CA %s: %w", fp, err)
		}
		return nil
	}
	return cfg, nil
}

// Loopback reports whether host (a name or an IP, no port) is this machine
// only: the one place hub and terminal speak without TLS.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
