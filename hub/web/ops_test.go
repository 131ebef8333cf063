package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
)

func TestIssueNDJSON(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ring := f.keyRing()
	hr, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/campaigns/coffee/codes",
		strings.NewReader(`{"count":5000,"format":"signed","order_ref":"bulk-1"}`))
	hr.Header.Set("Authorization", "Bearer "+testToken)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, type %q; want 201 NDJSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	seen := map[string]bool{}
	now := time.Now()
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var c hub.IssuedCode
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("line %d %q: %v", len(seen)+1, sc.Text(), err)
		}
		sc, err := ring.ParseVerify(c.Code, now)
		if err != nil || sc.ID != c.ID || sc.Campaign != "coffee" {
			t.Fatalf("line %d: code %+v does not verify: %v", len(seen)+1, c, err)
		}
		if seen[c.ID] {
			t.Fatalf("code %s twice", c.ID)
		}
		seen[c.ID] = true
	}
	if err := sc.Err(); err != nil || len(seen) != 5000 {
		t.Fatalf("read %d codes (%v), want 5000", len(seen), err)
	}

	// A small issuance streams too when the client asks for NDJSON.
	code, h, b := f.do(req{method: "POST", path: "/api/v1/campaigns/coffee/codes", body: `{"count":2,"format":"dynamic"}`,
		header: map[string]string{"Accept": "application/x-ndjson"}})
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if code != http.StatusCreated || h.Get("Content-Type") != "application/x-ndjson" || len(lines) != 2 {
		t.Errorf("NDJSON of 2: %d %q %q", code, h.Get("Content-Type"), b)
	}
}

func TestIssueNDJSONFailsMidStream(t *testing.T) {
	f := newFixture(t)
	f.seed()
	// The first transaction of 5000 codes commits, the second fails.
	f.store.failUpdateAfter.Store(f.store.updates.Load() + 1)
	code, h, b := f.do(req{method: "POST", path: "/api/v1/campaigns/coffee/codes", body: `{"count":12000,"format":"signed"}`})
	if code != http.StatusCreated || h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d %q, want 201 NDJSON", code, h.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	e := apiError(t, []byte(last))
	if e.Code != "internal" || !strings.Contains(e.Message, "5000 codes were issued") || strings.Contains(last, "on fire") {
		t.Errorf("last line %s, want an internal error counting 5000 codes", last)
	}
	if len(lines) != 5001 {
		t.Errorf("%d lines, want 5000 codes and the error", len(lines))
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	event, id, data string
}

// readEvent reads lines up to the next event of kind (skipping others and
// comments).
func readEvent(t *testing.T, r *bufio.Reader, kind string) sseEvent {
	t.Helper()
	var e sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before a %s event: %v", kind, err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.event == kind {
				return e
			}
			e = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			e.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			e.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			e.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// waitFor waits until cond holds, failing the test with what after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// streamsEnded waits until no stream handler is running: none counted, and
// no goroutine anywhere in Server.stream (its deferred unsubscribe
// included).
func streamsEnded(t *testing.T, f *fixture) {
	t.Helper()
	running := func() string {
		buf := make([]byte, 1<<20)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				return string(buf[:n])
			}
			buf = make([]byte, 2*len(buf))
		}
	}
	inStream := func(stacks string) bool { return strings.Contains(stacks, "hub/web.(*Server).stream(") }
	deadline := time.Now().Add(10 * time.Second)
	for f.web.sseClients.Load() != 0 || inStream(running()) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, %d streams counted, still running:\n%s", f.web.sseClients.Load(), running())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openStream(t *testing.T, f *fixture, ctx context.Context) (*http.Response, *bufio.Reader) {
	t.Helper()
	hr, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/stream", nil)
	hr.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := f.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "retry: 3000\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	return resp, r
}

func TestStream(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.web.heartbeat = 50 * time.Millisecond
	var imp struct{ IDs []string }
	f.call("POST", "/api/v1/campaigns/coffee/codes/import", `{"codes":["5555-6666-7777"]}`, http.StatusCreated, &imp)

	ctx, cancel := context.WithCancel(context.Background())
	resp, r := openStream(t, f, ctx)
	t1 := f.terminal("t1", "s1")
	pres := readEvent(t, r, "presence")
	var ti hub.TerminalInfo
	if err := json.Unmarshal([]byte(pres.data), &ti); err != nil || ti.ID != "t1" || ti.Store != "s1" || pres.id != "1" {
		t.Errorf("presence %+v: %+v %v", pres, ti, err)
	}
	t2 := f.terminal("t2", "s2")
	f.redeem(t1, imp.IDs[0], "coffee", time.Now(), "")
	ev := readEvent(t, r, "redemption")
	var red hub.Redemption
	if err := json.Unmarshal([]byte(ev.data), &red); err != nil || red.Terminal != "t1" || red.Code != imp.IDs[0] || atoi(ev.id) <= atoi(pres.id) {
		t.Errorf("redemption %+v: %+v %v", ev, red, err)
	}
	f.redeem(t2, imp.IDs[0], "coffee", time.Now(), "")
	al := readEvent(t, r, "alert")
	var a hub.Alert
	if err := json.Unmarshal([]byte(al.data), &a); err != nil || a.Kind != hub.AlertOverRedemption {
		t.Errorf("alert %+v: %+v %v", al, a, err)
	}
	// Heartbeats keep coming while nothing happens.
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": heartbeat\n" {
			break
		}
	}
	cancel()
	resp.Body.Close()
	streamsEnded(t, f)
}

func TestStreamEndsOnClose(t *testing.T) {
	f := newFixture(t)
	resp, r := openStream(t, f, context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		done <- err
	}()
	if err := f.web.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stream ended with %v, want a clean end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
	resp.Body.Close()
	code, _, b := f.do(req{method: "GET", path: "/api/v1/stream"})
	if code != http.StatusServiceUnavailable || apiError(t, b).Code != "unavailable" {
		t.Errorf("stream after Close: %d %s, want 503", code, b)
	}
	streamsEnded(t, f)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// blockedWriter is a client that has stopped reading: every write waits
// until release is closed.
type blockedWriter struct {
	header  http.Header
	release chan struct{}
}

func (w *blockedWriter) Header() http.Header { return w.header }
func (w *blockedWriter) WriteHeader(int)     {}
func (w *blockedWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// A client that stops reading must not hold the hub back: the hub drops
// its notices and goes on.
func TestStreamSlowClientDoesNotBlockHub(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &blockedWriter{header: http.Header{}, release: make(chan struct{})}
	r, _ := http.NewRequestWithContext(ctx, "GET", "/api/v1/stream", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		f.web.Handler().ServeHTTP(w, r)
	}()
	waitFor(t, "the stream has not started", func() bool { return f.web.sseClients.Load() == 1 })
	dropped := f.hub.Stats().Dropped.Load()
	for i := range sseBuffer + 50 {
		f.terminal(fmt.Sprintf("t%d", i), "s1") // each a presence notice
	}
	if f.hub.Stats().Dropped.Load() == dropped {
		t.Error("no notice dropped for a client that reads nothing")
	}
	close(w.release)
	cancel()
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("stream handler still running after its client went away")
	}
}

var metricLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? -?[0-9][0-9.e+-]*$`)

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.do(req{method: "GET", path: "/api/v1/nope"})
	code, h, b := f.do(req{method: "GET", path: "/metrics", header: map[string]string{"Authorization": ""}})
	if code != http.StatusOK || h.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("metrics: %d %q", code, h.Get("Content-Type"))
	}
	types := map[string]string{}
	values := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if typ != "counter" && typ != "gauge" {
				t.Errorf("line %d: type %q", i+1, typ)
			}
			if strings.HasSuffix(name, "_total") != (typ == "counter") {
				t.Errorf("line %d: %s is a %s; counters and only counters end in _total", i+1, name, typ)
			}
			types[name] = typ
			continue
		}
		if !metricLine.MatchString(line) {
			t.Errorf("line %d %q is not `name{labels} value`", i+1, line)
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if types[name] == "" {
			t.Errorf("line %d: %s has no # TYPE before it", i+1, name)
		}
		values[line[:strings.LastIndex(line, " ")]] = line[strings.LastIndex(line, " ")+1:]
	}
	for _, want := range []string{"hexiao_hub_events_ingested_total", `hexiao_hub_claims_total{result="accepted"}`,
		"hexiao_hub_notices_dropped_total", "go_goroutines", "go_memstats_heap_alloc_bytes", "hexiao_mqtt_test_total",
		`hexiao_web_requests_total{route="POST /api/v1/stores",code="201"}`, `hexiao_web_requests_total{route="unmatched",code="404"}`} {
		if values[want] == "" {
			t.Errorf("no %s in\n%s", want, b)
		}
	}
	if values[`hexiao_web_requests_total{route="POST /api/v1/stores",code="201"}`] != "2" {
		t.Errorf("store creations counted %s, want 2", values[`hexiao_web_requests_total{route="POST /api/v1/stores",code="201"}`])
	}
}

func TestPromEscaping(t *testing.T) {
	var sb strings.Builder
	p := promWriter{w: &sb}
	p.header("m_total", "a \\ help\nline", "counter")
	p.sample("m_total", []string{"l", "a\"b\\c\nd"}, 3)
	want := "# HELP m_total a \\\\ help\\nline\n# TYPE m_total counter\nm_total{l=\"a\\\"b\\\\c\\nd\"} 3\n"
	if sb.String() != want {
		t.Errorf("got %q, want %q", sb.String(), want)
	}
	if !metricLine.MatchString("m_total{l=\"a\\\"b\\\\c\\nd\"} 3") {
		t.Error("the escaped line does not parse")
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	var h health
	code, _, b := f.do(req{method: "GET", path: "/healthz", header: map[string]string{"Authorization": ""}})
	if err := json.Unmarshal(b, &h); code != 200 || err != nil || h.Status != "ok" || h.Checks["ledger"] != "ok" || h.Checks["ready"] != "ok" {
		t.Errorf("healthz: %d %s", code, b)
	}
	broker := errors.New("broker down at 10.0.0.7")
	f.ready.Store(&broker)
	code, _, b = f.do(req{method: "GET", path: "/healthz"})
	if err := json.Unmarshal(b, &h); code != 503 || err != nil || h.Status != "unavailable" || h.Checks["ready"] == "ok" ||
		h.Checks["ledger"] != "ok" || strings.Contains(string(b), "10.0.0.7") {
		t.Errorf("healthz with the broker down: %d %s", code, b)
	}
	f.ready.Store(nil)
	f.store.failPing.Store(true)
	code, _, b = f.do(req{method: "GET", path: "/healthz"})
	if err := json.Unmarshal(b, &h); code != 503 || err != nil || h.Checks["ledger"] == "ok" || strings.Contains(string(b), "secret/path") {
		t.Errorf("healthz with the ledger down: %d %s", code, b)
	}
}

func TestAdminToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, err := AdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 {
		t.Errorf("token %q, want 43 base64url characters", tok)
	}
	fi, err := os.Stat(filepath.Join(dir, AdminTokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v, want mode 0600", fi, err)
	}
	again, err := AdminToken(dir)
	if err != nil || again != tok {
		t.Errorf("second start: %q %v, want %q", again, err, tok)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".admin.token-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// Processes starting together agree on one token.
	dir2 := t.TempDir()
	var wg sync.WaitGroup
	toks := make([]string, 8)
	errs := make([]error, 8)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = AdminToken(dir2)
		}()
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Errorf("start %d: %q %v, want %q", i, toks[i], errs[i], toks[0])
		}
	}

	os.Chmod(filepath.Join(dir, AdminTokenFile), 0o644)
	if _, err := AdminToken(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token: %v, want an error saying chmod 600", err)
	}
	os.WriteFile(filepath.Join(dir2, AdminTokenFile), []byte("\n"), 0o600)
	if _, err := AdminToken(dir2); err == nil {
		t.Error("empty token file: no error")
	}
}

// BenchmarkIssueNDJSON issues b.N×1000 signed codes through the HTTP
// endpoint as one NDJSON stream and reports codes per second.
func BenchmarkIssueNDJSON(b *testing.B) {
	f := newFixture(b)
	f.seed()
	n := b.N * 1000
	b.ResetTimer()
	start := time.Now()
	hr, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/campaigns/coffee/codes",
		strings.NewReader(fmt.Sprintf(`{"count":%d,"format":"signed"}`, n)))
	hr.Header.Set("Authorization", "Bearer "+testToken)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/x-ndjson")
	resp, err := f.client.Do(hr)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	for sc.Scan() {
		lines++
	}
	if lines != n || resp.StatusCode != http.StatusCreated {
		b.Fatalf("%d lines, status %d; want %d codes", lines, resp.StatusCode, n)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "codes/s")
}

// smallBuffers is a listener whose connections have a small send buffer,
// so a client that stops reading blocks the server's writes soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// A dashboard that stops reading loses the newest notices, and is told:
// once it reads again the stream sends event: reset with how many it
// missed, then goes on. Nothing is lost silently: every presence change
// comes as an event or is counted in a reset.
func TestStreamSlowClientGetsReset(t *testing.T) {
	f := newFixture(t)
	f.call("POST", "/api/v1/stores", `{"id":"s1","name":"Xuhui","region":"sh","timezone":"Asia/Shanghai"}`, http.StatusCreated, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f.web.Handler())
	srv.Listener.Close()
	srv.Listener = smallBuffers{ln}
	srv.Start()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4 << 10)
		}
		return c, err
	}}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a stream that never accounts for everything fails here
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/stream", nil)
	hr.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "retry: 3000\n" {
		t.Fatalf("first line %q, %v", line, err)
	}

	// Presence changes, one a commit, while the client reads nothing,
	// until the hub has dropped some for it.
	dropped := f.hub.Stats().Dropped.Load()
	made := 0
	for f.hub.Stats().Dropped.Load() == dropped {
		if made == 5000 {
			t.Fatalf("%d presence changes and none dropped for a client that reads nothing", made)
		}
		f.terminal(fmt.Sprintf("t%d", made), "s1")
		made++
	}
	for range 10 { // and some more, dropped too
		f.terminal(fmt.Sprintf("t%d", made), "s1")
		made++
	}
	t.Logf("%d presence changes before the hub dropped one", made-10)

	// Read again: every change comes as an event or is counted missed.
	ids, seen, missed, resets := 0, map[string]bool{}, int64(0), 0
	for len(seen)+int(missed) < made {
		e := readAnyEvent(t, r)
		ids++
		if e.id != strconv.Itoa(ids) {
			t.Fatalf("event %d has id %s, want %d", ids, e.id, ids)
		}
		switch e.event {
		case "presence":
			var ti hub.TerminalInfo
			if err := json.Unmarshal([]byte(e.data), &ti); err != nil || seen[ti.ID] {
				t.Fatalf("presence %s: %v, or a terminal twice", e.data, err)
			}
			seen[ti.ID] = true
		case "reset":
			var rs struct{ Missed int64 }
			if err := json.Unmarshal([]byte(e.data), &rs); err != nil || rs.Missed <= 0 {
				t.Fatalf("reset %q: %v, want a count of what was missed", e.data, err)
			}
			missed += rs.Missed
			resets++
		default:
			t.Fatalf("event %+v, want presence or reset", e)
		}
	}
	if resets == 0 || len(seen)+int(missed) != made {
		t.Fatalf("%d presence events and %d missed in %d resets, want %d changes in all, some missed", len(seen), missed, resets, made)
	}
	if d := f.hub.Stats().Dropped.Load() - dropped; d != missed {
		t.Errorf("resets count %d missed, the hub dropped %d", missed, d)
	}
	// The stream goes on.
	f.terminal("after", "s1")
	e := readAnyEvent(t, r)
	if e.event != "presence" || !strings.Contains(e.data, `"id":"after"`) || e.id != strconv.Itoa(ids+1) {
		t.Errorf("after catching up: %+v, want the presence of terminal after", e)
	}
}

// readAnyEvent reads lines up to the next event, skipping comments.
func readAnyEvent(t *testing.T, r *bufio.Reader) sseEvent {
	t.Helper()
	var e sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before an event: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && e.event != "":
			return e
		case strings.HasPrefix(line, "event: "):
			e.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			e.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			e.data = strings.TrimPrefix(line, "data: ")
		}
	}
}
