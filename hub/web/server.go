package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// Config is what a Server is made of.
type Config struct {
	Hub *hub.Hub
	// Token is the built-in HQ admin's bearer token (see AdminToken);
	// managed API tokens and dashboard sessions are in Accounts.
	Token string
	Log   *slog.Logger // nil: discard
	// Ready is an extra readiness check for /healthz (the broker, say);
	// nil: none.
	Ready func(ctx context.Context) error
	// Metrics writes extra Prometheus text lines for /metrics (the MQTT
	// link's counters, say); nil: none.
	Metrics func(w io.Writer)
	// Enroll is what POST /api/v1/enroll tells a new terminal besides its
	// credentials: where MQTT is and the CA to trust; nil: nothing more.
	Enroll *EnrollInfo
	// Accounts are the dashboard's users, sessions and API tokens; nil:
	// hub.NewAccounts over Hub with the defaults.
	Accounts *hub.Accounts
}

// EnrollInfo describes the hub's MQTT listener and CA to enrolling
// terminals.
type EnrollInfo struct {
	MQTTURL       string // told as is when set (an external broker); else MQTTPort and MQTTTLS say
	MQTTPort      int    // the broker's port; the host is the one the terminal reached HTTP on
	MQTTTLS       bool   // mqtts:// rather than mqtt://
	CAPEM         []byte // the hub CA certificate
	CAFingerprint string
}

// Server is the hub's HTTP API. Make one with New, serve its Handler and
// call Close on shutdown so long-lived streams end.
type Server struct {
	hub      *hub.Hub
	token    [sha256.Size]byte // SHA-256 of the admin token
	log      *slog.Logger
	ready    func(ctx context.Context) error
	metrics  func(w io.Writer)
	enroll   *EnrollInfo
	acct     *hub.Accounts
	cop      *http.CrossOriginProtection
	mux      *http.ServeMux
	patterns []string // every route, as registered

	ctx    context.Context // ends when Close is called
	cancel context.CancelFunc

	mu      sync.Mutex // guards closed and the Add side of streams
	closed  bool
	streams sync.WaitGroup // event streams still running

	heartbeat  time.Duration // between comments on an idle stream; 0: 15 s
	recheck    time.Duration // between checks that a stream's credential still stands; 0: 5 s
	exportPage atomic.Int64  // rows of a redemptions export per ledger read; 0: hub.RedemptionPage
	sseClients atomic.Int64
	requests   requestCounts
}

// New makes a Server over cfg.Hub.
func New(cfg Config) (*Server, error) {
	if cfg.Hub == nil {
		return nil, errors.New("web: a hub is required")
	}
	if len(cfg.Token) < 16 {
		return nil, errors.New("web: an admin token of at least 16 characters is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Accounts == nil {
		cfg.Accounts = hub.NewAccounts(cfg.Hub, hub.AccountsConfig{})
	}
	s := &Server{
		hub: cfg.Hub, token: sha256.Sum256([]byte(cfg.Token)), log: cfg.Log,
		ready: cfg.Ready, metrics: cfg.Metrics, enroll: cfg.Enroll, acct: cfg.Accounts,
		cop: http.NewCrossOriginProtection(), mux: http.NewServeMux(),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close ends every event stream and waits for their handlers to return.
// Requests that arrive afterwards are still served, but a new stream is
// refused with 503. Register it with http.Server.RegisterOnShutdown:
// Shutdown does not wait for streaming handlers by itself.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.streams.Wait()
	return nil
}

// startStream registers a long-lived handler with Close; it reports false
// once the server is closing.
func (s *Server) startStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.streams.Add(1)
	return true
}

// Request body limits.
const (
	maxBody   = 1 << 20  // every JSON body but imports
	maxImport = 16 << 20 // POST .../codes/import
)

func (s *Server) routes() {
	// Public: no token (load balancers and Prometheus scrape these). Who
	// may call every other route is decided in auth.go.
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /metrics", s.serveMetrics)

	s.handle("GET /api/v1/stores", s.listStores)
	s.handle("POST /api/v1/stores", s.putStore)
	s.handle("GET /api/v1/stores/{id}", s.getStore)
	s.handle("GET /api/v1/campaigns", s.listCampaigns)
	s.handle("POST /api/v1/campaigns", s.putCampaign)
	s.handle("GET /api/v1/campaigns/{id}", s.getCampaign)
	s.handle("POST /api/v1/campaigns/{id}/codes", s.issueCodes)
	s.handle("POST /api/v1/campaigns/{id}/codes/import", s.importCodes)
	s.handle("GET /api/v1/codes/{code}", s.lookupCode)
	s.handle("POST /api/v1/codes/{id}/revoke", s.setCodeStatus(s.hub.Revoke))
	s.handle("POST /api/v1/codes/{id}/block", s.setCodeStatus(s.hub.Block))
	s.handle("POST /api/v1/codes/{id}/unblock", s.setCodeStatus(s.hub.Unblock))
	s.handle("GET /api/v1/redemptions", s.listRedemptions,
		"store", "terminal", "code", "from", "to", "kind", "format", "after", "order", "limit")
	s.handle("GET /api/v1/alerts", s.listAlerts, "kind", "since", "store", "open", "limit")
	s.handle("POST /api/v1/alerts/{id}/ack", s.ackAlert)
	s.handle("POST /api/v1/locks", s.lock)
	s.handle("POST /api/v1/enrollments", s.createEnrollment)
	s.handle("POST /api/v1/enroll", s.enrollTerminal)
	s.handle("POST /api/v1/terminal/status", s.terminalStatus)
	s.handle("GET /api/v1/enrollments/qr.png", s.enrollmentQR, "token", "size")
	s.handle("GET /api/v1/terminals", s.listTerminals)
	s.handle("POST /api/v1/terminals/{id}/revoke", s.revokeTerminal)
	s.handle("GET /api/v1/keys", s.listKeys)
	s.handle("POST /api/v1/keys/rotate", s.rotateKey)
	s.handle("POST /api/v1/keys/{id}/retire", s.retireKey)
	s.handle("GET /api/v1/stream", s.stream)

	s.accountRoutes()   // accounts.go: users, sessions, API tokens
	s.reportRoutes()    // reports.go: overview and day × store × campaign reports
	s.dashboardRoutes() // dashboard.go: the HQ dashboard's pages and assets
}

// handle registers a route that takes the query parameters named in params
// and no others: a misspelt or unsupported parameter is a 400 before h
// runs, never a silently wider answer. h reads them with r.URL.Query().
func (s *Server) handle(pattern string, h http.HandlerFunc, params ...string) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if s.checkQuery(w, r, params) {
			h(w, r)
		}
	})
}

// serveHTTP is the one entry point: it recovers panics, counts the request,
// refuses cross-origin browser requests that change something
// (http.CrossOriginProtection), authenticates everything but the public
// routes (auth.go), checks the principal's role and a session's CSRF
// token, and answers unknown routes and wrong methods in the API's error
// shape.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	sw := &statusWriter{ResponseWriter: w}
	defer func() { s.requests.add(pattern, sw.status()) }()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("http handler panic", "route", pattern, "panic", fmt.Sprint(v))
			if !sw.wrote {
				s.fail(sw, r, http.StatusInternalServerError, "internal", "internal error; the hub logged the detail")
			}
		}
	}()
	sw.Header().Set("X-Content-Type-Options", "nosniff")
	if err := s.cop.Check(r); err != nil {
		s.fail(sw, r, http.StatusForbidden, "cross_origin",
			"a cross-origin request may not change anything here; use the dashboard on this hub's own address")
		return
	}
	if !isPublic(r, pattern) {
		sw.Header().Set("Cache-Control", "no-store")
		var ok bool
		if r, ok = s.authenticate(sw, r); !ok {
			return
		}
		if !s.authorize(sw, r, pattern) {
			return
		}
	}
	if pattern == "" {
		s.unrouted(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// unrouted answers a request no route matches: 404, or 405 with Allow
// when the path exists for other methods. The mux decides which; its plain
// text answer is replaced by the API's error shape.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	p := &probe{header: http.Header{}}
	h.ServeHTTP(p, r)
	switch p.code {
	case http.StatusMethodNotAllowed:
		allow := p.header.Get("Allow")
		w.Header().Set("Allow", allow)
		s.fail(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow))
	case http.StatusNotFound, 0:
		s.fail(w, r, http.StatusNotFound, "not_found",
			fmt.Sprintf("no route %s %s; the routes are listed in the API docs (GET /api/v1/stores, ...)", r.Method, r.URL.Path))
	default: // a redirect to the cleaned path
		for k, v := range p.header {
			w.Header()[k] = v
		}
		w.WriteHeader(p.code)
	}
}

// probe records what the mux's own not-found and not-allowed handlers
// answer, without sending it.
type probe struct {
	header http.Header
	code   int
}

func (p *probe) Header() http.Header { return p.header }
func (p *probe) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}
func (p *probe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// statusWriter remembers the status sent, for the request counters and the
// panic handler. Unwrap lets http.ResponseController reach the flusher and
// write deadlines underneath.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// requestCounts counts answered requests by route pattern and status.
type requestCounts struct {
	mu sync.Mutex // guards n
	n  map[requestKey]int64
}

type requestKey struct {
	route string
	code  int
}

func (c *requestCounts) add(route string, code int) {
	if route == "" {
		route = "unmatched"
	}
	c.mu.Lock()
	if c.n == nil {
		c.n = map[requestKey]int64{}
	}
	c.n[requestKey{route, code}]++
	c.mu.Unlock()
}

func (c *requestCounts) snapshot() map[requestKey]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[requestKey]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}
