package hublink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hexiao/hexiao/internal/tlsca"
)

// hubClient returns an HTTP client for the hub's address in c: pinned to
// the hub's CA for https, plain only on loopback.
func (c Config) hubClient() (*http.Client, error) {
	u, err := url.Parse(c.Hub)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("hub address %q in %s: want http(s)://HOST:PORT", c.Hub, ConfigFile)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	switch u.Scheme {
	case "https":
		tc, err := tlsca.ClientConfig([]byte(c.CACert), c.CAFingerprint)
		if err != nil {
			return nil, err
		}
		tc.ServerName = u.Hostname()
		client.Transport = &http.Transport{TLSClientConfig: tc, Proxy: nil}
	case "http":
		if !tlsca.Loopback(u.Hostname()) {
			return nil, fmt.Errorf("hub %s: plain http is allowed only on loopback", c.Hub)
		}
	default:
		return nil, fmt.Errorf("hub address %q: want http(s)://", c.Hub)
	}
	return client, nil
}

// askRevoked asks the hub whether this terminal is revoked, after the
// broker refused its login. It answers true only on the hub's explicit
// word; any other answer (unreachable, wrong password, error) is false with
// the reason, and the terminal keeps its cache.
func (c Config) askRevoked(ctx context.Context) (bool, error) {
	client, err := c.hubClient()
	if err != nil {
		return false, err
	}
	body, _ := json.Marshal(map[string]string{"terminal": c.Terminal, "password": c.Password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Hub, "/")+"/api/v1/terminal/status", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("ask the hub: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("the hub answered %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var st struct {
		Terminal string `json:"terminal"`
		Status   string `json:"status"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return false, fmt.Errorf("the hub's answer: %w", err)
	}
	return st.Terminal == c.Terminal && st.Status == "revoked", nil
}
