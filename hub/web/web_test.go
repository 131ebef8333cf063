package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/sqlite"
	"github.com/hexiao/hexiao/protocol"
)

const testToken = "test-admin-token-0123456789abcdef"

// fixture is a real hub over SQLite in a temporary directory, served by a
// Server on an httptest server.
type fixture struct {
	tb     testing.TB
	hub    *hub.Hub
	web    *Server
	srv    *httptest.Server
	client *http.Client
	store  *faultStore
	acct   *hub.Accounts
	ready  atomic.Pointer[error]     // what Config.Ready answers
	now    atomic.Pointer[time.Time] // the hub's clock when set; the real one otherwise
}

// faultStore passes everything to the SQLite ledger, but fails Update,
// View or Ping on demand: the fixture's way to show 500s and 503s.
type faultStore struct {
	hub.Store
	failUpdateAfter atomic.Int64 // > 0: Updates after this many fail
	updates         atomic.Int64
	failView        atomic.Bool
	views           atomic.Int64 // Views running
	failPing        atomic.Bool
}

var errInjected = errors.New("injected failure: /secret/path/hub.db is on fire")

func (s *faultStore) Update(ctx context.Context, fn func(hub.Tx) error) error {
	n := s.updates.Add(1)
	if after := s.failUpdateAfter.Load(); after > 0 && n > after {
		return errInjected
	}
	return s.Store.Update(ctx, fn)
}

func (s *faultStore) View(ctx context.Context, fn func(hub.Reader) error) error {
	if s.failView.Load() {
		return errInjected
	}
	s.views.Add(1)
	defer s.views.Add(-1)
	return s.Store.View(ctx, fn)
}

func (s *faultStore) Ping(ctx context.Context) error {
	if s.failPing.Load() {
		return errInjected
	}
	return s.Store.Ping(ctx)
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "hub.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	pepper := sha256.Sum256([]byte("web test pepper"))
	master := sha256.Sum256([]byte("web test master key"))
	sec, err := hub.NewSecrets(pepper[:], master[:])
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{tb: tb, store: &faultStore{Store: db}}
	h, err := hub.New(context.Background(), hub.Config{Store: f.store, Secrets: sec, Now: func() time.Time {
		if t := f.now.Load(); t != nil {
			return *t
		}
		return time.Now()
	}})
	if err != nil {
		tb.Fatal(err)
	}
	f.acct = hub.NewAccounts(h, hub.AccountsConfig{KDF: hub.KDF{Time: 1, Memory: 64, Threads: 1}})
	ws, err := New(Config{Hub: h, Token: testToken, Accounts: f.acct,
		Ready: func(context.Context) error {
			if p := f.ready.Load(); p != nil {
				return *p
			}
			return nil
		},
		Metrics: func(w io.Writer) {
			fmt.Fprintf(w, "# HELP hexiao_mqtt_test_total A counter from another part.\n# TYPE hexiao_mqtt_test_total counter\nhexiao_mqtt_test_total 7\n")
		},
		Enroll: &EnrollInfo{MQTTPort: 8883, MQTTTLS: true, CAPEM: []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"),
			CAFingerprint: "SHA256:TEST"}})
	if err != nil {
		tb.Fatal(err)
	}
	f.hub, f.web = h, ws
	f.srv = httptest.NewServer(ws.Handler())
	f.client = &http.Client{Transport: &http.Transport{}}
	tb.Cleanup(func() {
		f.client.CloseIdleConnections()
		ws.Close()
		f.srv.Close()
	})
	return f
}

// req is one request a test makes.
type req struct {
	method, path string
	body         string
	header       map[string]string // Authorization and Content-Type are set unless given ("" removes)
}

// do sends r and returns the status, headers and body.
func (f *fixture) do(r req) (int, http.Header, []byte) {
	f.tb.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, f.srv.URL+r.path, body)
	if err != nil {
		f.tb.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+testToken)
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	resp, err := f.client.Do(hr)
	if err != nil {
		f.tb.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.tb.Fatalf("%s %s: read: %v", r.method, r.path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// call sends a request, checks the status and decodes the JSON answer into
// out (when not nil).
func (f *fixture) call(method, path, body string, want int, out any) {
	f.tb.Helper()
	code, _, b := f.do(req{method: method, path: path, body: body})
	if code != want {
		f.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.tb.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// apiError decodes the error shape and fails unless b holds exactly it.
func apiError(tb testing.TB, b []byte) errorDetail {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e errorBody
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		tb.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}} (%v)", b, err)
	}
	return e.Error
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// seed makes two stores (s1 in Shanghai, s2) and a single-use campaign
// "coffee" redeemable offline everywhere.
func (f *fixture) seed() {
	f.tb.Helper()
	f.call("POST", "/api/v1/stores", `{"id":"s1","name":"Xuhui","region":"sh","timezone":"Asia/Shanghai"}`, http.StatusCreated, nil)
	f.call("POST", "/api/v1/stores", `{"id":"s2","name":"Jing'an","region":"sh","timezone":"Asia/Shanghai"}`, http.StatusCreated, nil)
	now := time.Now().UTC().Truncate(time.Second)
	f.call("POST", "/api/v1/campaigns", mustJSON(protocol.Campaign{ID: "coffee", Name: "Coffee", FaceValue: 2500, Uses: 1,
		ValidFrom: now.AddDate(-1, 0, 0), ValidUntil: now.AddDate(1, 0, 0), UndoWindow: protocol.Duration(15 * time.Minute), Offline: protocol.OfflinePolicy{Allow: true}}), http.StatusCreated, nil)
}

// term is a counter terminal writing its signed, chained journal.
type term struct {
	id, store string
	priv      ed25519.PrivateKey
	mu        sync.Mutex // guards seq, prev
	seq       uint64
	prev      protocol.Hash
}

// terminal registers a terminal of store with the hub.
func (f *fixture) terminal(id, store string) *term {
	f.tb.Helper()
	seed := sha256.Sum256([]byte("web test terminal " + id))
	priv := ed25519.NewKeyFromSeed(seed[:])
	_, err := f.hub.RegisterTerminal(context.Background(), hub.TerminalSpec{ID: id, Store: store,
		Public: priv.Public().(ed25519.PublicKey), Password: []byte("password-of-" + id + "-long-enough")})
	if err != nil {
		f.tb.Fatal(err)
	}
	return &term{id: id, store: store, priv: priv}
}

// redeem journals an offline redemption of one use of a card-secret code
// at time at and sends it to the hub.
func (f *fixture) redeem(t *term, code, campaign string, at time.Time, orderRef string) {
	f.tb.Helper()
	t.mu.Lock()
	t.seq++
	e := protocol.Event{V: protocol.WireVersion, Terminal: t.id, Seq: t.seq, Prev: t.prev, Kind: protocol.KindRedemption,
		At: at, Store: t.store, Cashier: "c1", Mode: protocol.ModeOffline, Entry: protocol.EntryKeyed,
		Reason: protocol.Accepted, Code: code, Format: protocol.FormatSecret, Campaign: campaign, Uses: 1, Amount: 2500,
		OrderRef: orderRef}
	se, err := protocol.SignEvent(t.priv, &e)
	if err != nil {
		t.mu.Unlock()
		f.tb.Fatal(err)
	}
	t.prev = se.Hash()
	t.mu.Unlock()
	ack, err := f.hub.Ingest(context.Background(), t.id, &protocol.EventBatch{Header: protocol.Header{V: protocol.WireVersion},
		Terminal: t.id, Sent: time.Now(), Events: []protocol.SignedEvent{se}})
	if err != nil {
		f.tb.Fatal(err)
	}
	if ack.Seq != e.Seq || ack.Refused != nil {
		f.tb.Fatalf("ack %+v, want seq %d and nothing refused", ack, e.Seq)
	}
}
