package protocol

import (
	"fmt"
	"net/url"
	"strings"
)

// EnrollScheme starts an enrollment link: what the hub's enrollment QR code
// holds and what `hexiao-terminal enroll` accepts, typed or scanned.
const EnrollScheme = "hexiao"

// maxEnrollLink bounds an enrollment link as read from a scanner or a flag.
const maxEnrollLink = 1024

// EnrollLink is everything a new terminal needs for its first contact: the
// hub's HTTP(S) address, the one-time token and the fingerprint of the
// hub's CA, so the terminal pins the hub before it sends anything. Its text
// form is
//
//	hexiao://enroll?hub=https%3A%2F%2Fhq.example%3A8480&token=TOKEN&ca=SHA256%3A...
//
// CA may be empty only for a hub on loopback (plain HTTP).
type EnrollLink struct {
	Hub   string // http://… on loopback, https://… elsewhere
	Token string
	CA    string // "SHA256:" and the base32 SHA-256 of the CA certificate
}

// String returns the link's text form.
func (l EnrollLink) String() string {
	q := url.Values{"hub": {l.Hub}, "token": {l.Token}}
	if l.CA != "" {
		q.Set("ca", l.CA)
	}
	return EnrollScheme + "://enroll?" + q.Encode()
}

// Validate checks the link's fields: an http or https hub URL with a host
// and nothing but a path-less address, a token of letters, digits and
// hyphens, and a CA fingerprint whenever the hub is reached over https.
func (l EnrollLink) Validate() error {
	u, err := url.Parse(l.Hub)
	if err != nil {
		return fmt.Errorf("enroll link: hub address: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("enroll link: hub %q: want http://HOST:PORT or https://HOST:PORT", l.Hub)
	}
	if l.Token == "" || len(l.Token) > 128 {
		return fmt.Errorf("enroll link: token of %d characters, want 1 to 128", len(l.Token))
	}
	for _, r := range l.Token {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("enroll link: token has %q: want letters, digits and hyphens", r)
		}
	}
	if u.Scheme == "https" && l.CA == "" {
		return fmt.Errorf("enroll link: an https hub needs its CA fingerprint (ca=SHA256:…)")
	}
	if l.CA != "" && (!strings.HasPrefix(strings.ToUpper(l.CA), "SHA256:") || len(l.CA) > 80) {
		return fmt.Errorf("enroll link: ca %.20q…: want SHA256: and the fingerprint the hub prints", l.CA)
	}
	return nil
}

// ParseEnrollLink reads an enrollment link as scanned from the hub's QR code
// or pasted. Surrounding spaces and line ends are ignored.
func ParseEnrollLink(s string) (EnrollLink, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxEnrollLink {
		return EnrollLink{}, fmt.Errorf("enroll link: %d bytes, longer than %d", len(s), maxEnrollLink)
	}
	u, err := url.Parse(s)
	if err != nil {
		return EnrollLink{}, fmt.Errorf("enroll link: %w", err)
	}
	if !strings.EqualFold(u.Scheme, EnrollScheme) || !strings.EqualFold(u.Host, "enroll") {
		return EnrollLink{}, fmt.Errorf("enroll link: want %s://enroll?hub=…&token=…&ca=…", EnrollScheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return EnrollLink{}, fmt.Errorf("enroll link: %w", err)
	}
	for k, v := range q {
		if k != "hub" && k != "token" && k != "ca" || len(v) != 1 {
			return EnrollLink{}, fmt.Errorf("enroll link: unexpected or repeated field %q", k)
		}
	}
	l := EnrollLink{Hub: q.Get("hub"), Token: q.Get("token"), CA: q.Get("ca")}
	if err := l.Validate(); err != nil {
		return EnrollLink{}, err
	}
	return l, nil
}
