package hublink

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hexiao/hexiao/internal/atomicfile"
	"github.com/hexiao/hexiao/internal/tlsca"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// ConfigFile is where an enrolled terminal keeps how to reach its hub, under
// its data directory (0600: it holds the MQTT password).
const ConfigFile = "hub.json"

// Config is how a terminal reaches its hub, as enrollment left it.
type Config struct {
	Hub           string `json:"hub"`      // the hub's HTTP(S) address
	Broker        string `json:"mqtt_url"` // mqtt://host:port on loopback, mqtts://host:port elsewhere
	Terminal      string `json:"terminal"`
	Password      string `json:"mqtt_password"`
	CACert        string `json:"ca_cert,omitempty"` // PEM of the hub's CA
	CAFingerprint string `json:"ca_fingerprint,omitempty"`
}

// TLS returns the client TLS configuration that trusts only the hub's CA,
// or nil for a plain mqtt:// broker (loopback only).
func (c Config) TLS() (*tls.Config, error) {
	u, err := url.Parse(c.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker %q: %w", c.Broker, err)
	}
	switch u.Scheme {
	case "mqtts", "ssl", "tls":
		if c.CACert == "" {
			return nil, fmt.Errorf("broker %s is TLS but %s has no CA certificate: enroll again", c.Broker, ConfigFile)
		}
		tc, err := tlsca.ClientConfig([]byte(c.CACert), c.CAFingerprint)
		if err != nil {
			return nil, err
		}
		tc.ServerName = u.Hostname()
		return tc, nil
	case "mqtt", "tcp":
		if !tlsca.Loopback(u.Hostname()) {
			return nil, fmt.Errorf("broker %s: plain MQTT is allowed only on loopback; the hub serves mqtts:// elsewhere", c.Broker)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("broker %q: want mqtt:// or mqtts://", c.Broker)
}

// LoadConfig reads DIR/hub.json.
func LoadConfig(dir string) (Config, error) {
	var c Config
	path := filepath.Join(dir, ConfigFile)
	st, err := os.Stat(path)
	if err != nil {
		return c, fmt.Errorf("hub link: %w (enroll the terminal first: hexiao-terminal enroll)", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("%s is mode %o: make it 0600 (chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("hub link: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.Broker == "" || c.Terminal == "" || c.Password == "" {
		return c, fmt.Errorf("%s lacks mqtt_url, terminal or mqtt_password: enroll again", path)
	}
	return c, nil
}

func saveConfig(dir string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o600)
}

// EnrollInput is what the person enrolling gives: either the enrollment
// link scanned from the hub's QR code (which carries all three), or the
// hub's address, the token and the CA fingerprint the hub prints.
type EnrollInput struct {
	Link          string // hexiao://enroll?... as scanned; overrides the others
	Hub           string
	Token         string
	CAFingerprint string
	Timezone      string // until the first snapshot brings the store's
}

// ReadEnrollInput resolves what was given into one enrollment link. A token
// that is itself a scanned link (the QR code read into the token field) is
// taken as the link.
func ReadEnrollInput(in EnrollInput) (protocol.EnrollLink, error) {
	if in.Link == "" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(in.Token)), protocol.EnrollScheme+"://") {
		in.Link, in.Token = in.Token, ""
	}
	if in.Link != "" {
		l, err := protocol.ParseEnrollLink(in.Link)
		if err != nil {
			return l, err
		}
		if in.Hub != "" && strings.TrimRight(in.Hub, "/") != strings.TrimRight(l.Hub, "/") {
			return l, fmt.Errorf("--hub %s differs from the hub in the scanned link (%s): give one", in.Hub, l.Hub)
		}
		return l, nil
	}
	l := protocol.EnrollLink{Hub: strings.TrimRight(in.Hub, "/"), Token: strings.TrimSpace(in.Token), CA: strings.TrimSpace(in.CAFingerprint)}
	if l.Hub == "" {
		return l, errors.New("no hub: give --hub URL (the hub's http address) or scan the enrollment QR code")
	}
	if err := l.Validate(); err != nil {
		return l, err
	}
	return l, nil
}

// enrollAnswer is the hub's answer to POST /api/v1/enroll.
type enrollAnswer struct {
	Terminal      string                `json:"terminal"`
	Store         protocol.Store        `json:"store"`
	Password      string                `json:"mqtt_password"`
	Pepper        []byte                `json:"pepper"`
	IssuingKeys   []protocol.IssuingKey `json:"issuing_keys"`
	MQTTURL       string                `json:"mqtt_url"`
	CACert        string                `json:"ca_cert"`
	CAFingerprint string                `json:"ca_fingerprint"`
}

// Enrolled says who the terminal became.
type Enrolled struct {
	Terminal string
	Store    protocol.Store
	Broker   string
}

// Enroll exchanges the one-time token in l at the hub for this terminal's
// identity and credentials and sets up dir: it makes the terminal's own
// signing key, sends its public half, and on success writes the store
// (sqlite.Init) and hub.json. An https hub is pinned to the CA fingerprint
// from the first byte. dir must not hold a terminal already.
func Enroll(ctx context.Context, dir string, l protocol.EnrollLink, timezone string) (Enrolled, error) {
	if _, err := os.Stat(filepath.Join(dir, sqlite.DBFile)); err == nil {
		return Enrolled{}, fmt.Errorf("%s already holds a terminal: use a new --data directory", dir)
	}
	if err := l.Validate(); err != nil {
		return Enrolled{}, err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if strings.HasPrefix(l.Hub, "https://") {
		tc, err := tlsca.PinConfig(l.CA)
		if err != nil {
			return Enrolled{}, err
		}
		client.Transport = &http.Transport{TLSClientConfig: tc, Proxy: nil}
	} else if u, _ := url.Parse(l.Hub); !tlsca.Loopback(u.Hostname()) {
		return Enrolled{}, fmt.Errorf("hub %s: plain http is allowed only on loopback; use the https address the hub prints", l.Hub)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return Enrolled{}, err
	}
	body, _ := json.Marshal(map[string]any{"token": l.Token, "public_key": []byte(pub)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(l.Hub, "/")+"/api/v1/enroll", bytes.NewReader(body))
	if err != nil {
		return Enrolled{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Enrolled{}, fmt.Errorf("reach the hub at %s: %w", l.Hub, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Enrolled{}, fmt.Errorf("read the hub's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return Enrolled{}, fmt.Errorf("the hub refused the enrollment (%s): %s", e.Error.Code, e.Error.Message)
		}
		return Enrolled{}, fmt.Errorf("the hub answered %s", resp.Status)
	}
	var a enrollAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return Enrolled{}, fmt.Errorf("the hub's answer: %w", err)
	}
	if err := protocol.ValidID(a.Terminal); err != nil || a.Password == "" || a.MQTTURL == "" {
		return Enrolled{}, fmt.Errorf("the hub's answer lacks terminal, mqtt_password or mqtt_url (is the hub running with an external broker? then set up hub.json by hand)")
	}
	if l.CA != "" && a.CAFingerprint != "" {
		if fp, err := tlsca.ParseFingerprint(a.CAFingerprint); err != nil || fp != mustFP(l.CA) {
			return Enrolled{}, fmt.Errorf("the hub sent CA %s, the QR code pins %s: not enrolling", a.CAFingerprint, l.CA)
		}
	}
	cfg := Config{Hub: l.Hub, Broker: a.MQTTURL, Terminal: a.Terminal, Password: a.Password, CACert: a.CACert, CAFingerprint: a.CAFingerprint}
	if _, err := cfg.TLS(); err != nil {
		return Enrolled{}, err
	}
	tz := a.Store.Timezone
	if tz == "" {
		tz = timezone
	}
	if err := sqlite.Init(ctx, dir, sqlite.Setup{Terminal: a.Terminal, Store: a.Store.ID, Region: a.Store.Region,
		Timezone: tz, Pepper: a.Pepper, Key: priv}); err != nil {
		return Enrolled{}, err
	}
	if err := saveConfig(dir, cfg); err != nil {
		return Enrolled{}, err
	}
	return Enrolled{Terminal: a.Terminal, Store: a.Store, Broker: a.MQTTURL}, nil
}

func mustFP(s string) string {
	fp, _ := tlsca.ParseFingerprint(s)
	return fp
}
