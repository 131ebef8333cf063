package e2e

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
)

// The smoke tests of the browser harness (browser_test.go) run against a
// small server of their own, not the hub: they prove the helpers, the
// cookies, server-sent events and the page-problem catcher, so that a
// dashboard test failing means the dashboard.

// smokePage has a form whose submit fetches a greeting and adds it to a
// list, and an EventSource whose messages are added to the page.
const smokePage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>smoke</title>
<style>body { font: 16px sans-serif; margin: 2em; } .tall { height: 1400px; }</style></head>
<body>
<h1>核销 Hexiao smoke 测试</h1>
<form id="f"><input id="name" name="name" autocomplete="off"> <button id="go" type="submit">Greet</button></form>
<ul id="list"></ul>
<p id="status">connecting</p>
<div id="events"></div>
<div class="tall">bottom below the fold</div>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
	e.preventDefault();
	const name = document.getElementById("name").value;
	const r = await fetch("/api/greet?name=" + encodeURIComponent(name));
	const j = await r.json();
	const li = document.createElement("li");
	li.className = "item";
	li.textContent = j.greeting;
	document.getElementById("list").appendChild(li);
});
const es = new EventSource("/events");
es.onopen = () => { document.getElementById("status").textContent = "connected"; };
es.onmessage = (m) => {
	const p = document.createElement("p");
	p.className = "event";
	p.textContent = m.data;
	document.getElementById("events").appendChild(p);
};
</script>
</body></html>`

// badPage does each thing the catcher must report, and some it must not.
// OTHER is replaced by another server's origin.
const badPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>bad</title></head><body>
<p>bad page</p>
<img src="OTHER/missing.png" alt="">
<script>
console.log("a log line is fine");
console.warn("a warning is fine");
console.error("deliberate console error", 42);
console.error("known noise from a library");
Promise.reject(new Error("deliberate rejection"));
Promise.allSettled([fetch("/api/missing"), fetch("/api/broken"), fetch("/api/expected-missing")]).then(() => {
	const p = document.createElement("p");
	p.id = "done";
	p.textContent = "done";
	document.body.appendChild(p);
});
throw new Error("deliberate uncaught");
</script></body></html>`

// smokeServer is the test's site. push sends one server-sent event to
// the page listening on /events.
type smokeServer struct {
	*httptest.Server
	push chan string
}

func startSmokeServer(t testing.TB) *smokeServer {
	s := &smokeServer{push: make(chan string)}
	other := httptest.NewServer(http.NotFoundHandler()) // another origin
	t.Cleanup(other.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, smokePage)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/greet", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"greeting":%s}`, jsString("Hello "+r.URL.Query().Get("name")))
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		fl := w.(http.Flusher)
		fmt.Fprint(w, ": hello\n\n")
		fl.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case msg := <-s.push:
				fmt.Fprintf(w, "data: %s\n\n", msg)
				fl.Flush()
			}
		}
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		// As the hub's session cookie will be: Secure, HttpOnly, Lax,
		// served over plain HTTP on loopback.
		w.Header().Set("Set-Cookie", "sid="+r.URL.Query().Get("user")+"-token; Path=/; Secure; HttpOnly; SameSite=Lax")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><p id="who">signed in</p>`)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		if c, err := r.Cookie("sid"); err == nil {
			who = c.Value
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><p id="who">%s</p>`, who)
	})
	mux.HandleFunc("GET /lang", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><p id="lang">%s</p>`, html.EscapeString(r.Header.Get("Accept-Language")))
	})
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, strings.ReplaceAll(badPage, "OTHER", other.URL))
	})
	mux.HandleFunc("GET /api/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "deliberately broken", http.StatusInternalServerError)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// send pushes msg to the page's EventSource.
func (s *smokeServer) send(t testing.TB, msg string) {
	t.Helper()
	select {
	case s.push <- msg:
	case <-time.After(wait):
		t.Fatalf("no page listens on /events")
	}
}

func TestBrowserSmoke(t *testing.T) {
	srv := startSmokeServer(t)

	t.Run("helpers and SSE", func(t *testing.T) {
		b := startBrowser(t)
		b.open(srv.URL + "/")
		b.waitVisible("#name")
		if got := b.text("h1"); got != "核销 Hexiao smoke 测试" {
			t.Errorf("h1 = %q", got)
		}

		b.fill("#name", "世界")
		b.press("Enter")
		b.waitText("#list", "Hello 世界", 5*time.Second)

		// fill clears first: the second greeting has only the new name.
		b.fill("#name", "Ana")
		b.click("#go")
		if got := b.waitText("#list li:nth-child(2)", "Hello", 5*time.Second); got != "Hello Ana" {
			t.Errorf("second greeting = %q, want %q (fill did not clear)", got, "Hello Ana")
		}
		if n := b.count(".item"); n != 2 {
			t.Errorf("count(.item) = %d, want 2", n)
		}
		if n := b.count(".nothing"); n != 0 {
			t.Errorf("count(.nothing) = %d, want 0", n)
		}
		var value string
		b.eval(`document.getElementById("name").value`, &value)
		if value != "Ana" {
			t.Errorf("input value = %q, want Ana", value)
		}
		var sum int
		b.eval(`Promise.resolve(20 + 22)`, &sum)
		if sum != 42 {
			t.Errorf("eval of a promise = %d, want 42", sum)
		}
		var size struct{ W, H int }
		b.eval(`({W: window.innerWidth, H: window.innerHeight})`, &size)
		if size.W != 1440 {
			t.Errorf("window is %d×%d, want 1440 wide", size.W, size.H)
		}

		// A server-sent event reaches the page.
		b.waitText("#status", "connected", 5*time.Second)
		srv.send(t, "redeemed 8800-1234-5678")
		b.waitText("#events", "redeemed 8800-1234-5678", 5*time.Second)
		srv.send(t, "second event")
		b.waitText("#events .event:nth-child(2)", "second event", 5*time.Second)

		// A full-page screenshot: the whole width and the part below the
		// fold.
		path := b.shot("browser-smoke")
		img, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("screenshot %s is not a PNG: %v", path, err)
		}
		if cfg.Width != 1440 || cfg.Height <= 1400 {
			t.Errorf("screenshot is %d×%d, want 1440 wide and the full page (>1400 high)", cfg.Width, cfg.Height)
		}
	})

	t.Run("secure cookie on loopback and separate contexts", func(t *testing.T) {
		b := startBrowser(t)
		b.open(srv.URL + "/login?user=ana")
		// The answer for the hub: Chromium keeps a Secure; HttpOnly;
		// SameSite=Lax cookie set over plain http://127.0.0.1:PORT (a
		// potentially trustworthy origin) and sends it back.
		c := b.cookie("sid")
		if c == nil {
			t.Fatalf("Chromium dropped the Secure cookie set by %s; cookies: %v", srv.URL, cookieNames(b.cookies()))
		}
		if c.Value != "ana-token" || !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
			t.Errorf("cookie sid = %q secure=%v httponly=%v samesite=%q", c.Value, c.Secure, c.HTTPOnly, c.SameSite)
		}
		t.Logf("cookie on %s: %s=%s Secure=%v HttpOnly=%v SameSite=%s", srv.URL, c.Name, c.Value, c.Secure, c.HTTPOnly, c.SameSite)
		var jsCookies string
		b.eval(`document.cookie`, &jsCookies)
		if strings.Contains(jsCookies, "sid") {
			t.Errorf("document.cookie = %q: an HttpOnly cookie is readable by scripts", jsCookies)
		}
		b.open(srv.URL + "/whoami")
		if got := b.text("#who"); got != "ana-token" {
			t.Errorf("server got sid %q back, want ana-token", got)
		}
		if got := b.url(); got != srv.URL+"/whoami" {
			t.Errorf("url() = %q, want %q", got, srv.URL+"/whoami")
		}

		// Another browser context: no cookie, then its own.
		b2 := b.newContext()
		b2.open(srv.URL + "/whoami")
		if got := b2.text("#who"); got != "nobody" {
			t.Errorf("a new context sent sid %q, want none", got)
		}
		b2.open(srv.URL + "/login?user=bo")
		b2.open(srv.URL + "/whoami")
		if got := b2.text("#who"); got != "bo-token" {
			t.Errorf("second context: sid %q, want bo-token", got)
		}
		b.open(srv.URL + "/whoami")
		if got := b.text("#who"); got != "ana-token" {
			t.Errorf("first context after the second signed in: sid %q, want ana-token", got)
		}
	})

	t.Run("page problems fail the test", func(t *testing.T) {
		rec := &recorder{TB: t}
		b := startBrowser(rec)
		b.expectStatus("/api/expected-missing", http.StatusNotFound)
		b.expectConsole("known noise")
		b.open(srv.URL + "/bad")
		b.waitText("#done", "done", 5*time.Second)
		// The network events come from the browser process, the page's
		// from the renderer: they may trail "done" by a moment.
		eventually(t, 5*time.Second, "five page problems", func() (bool, string) {
			b.mu.Lock()
			defer b.mu.Unlock()
			return len(b.problems) >= 5, strings.Join(b.problems, "; ")
		})
		rec.finish()

		if len(rec.errors) != 1 {
			t.Fatalf("the catcher reported %d errors, want 1: %q", len(rec.errors), rec.errors)
		}
		report := rec.errors[0]
		for _, want := range []string{
			"console.error: deliberate console error 42",
			"deliberate uncaught",
			"deliberate rejection",
			"HTTP 404", "/api/missing",
			"HTTP 500", "/api/broken",
		} {
			if !strings.Contains(report, want) {
				t.Errorf("the catcher's report lacks %q:\n%s", want, report)
			}
		}
		for _, unwanted := range []string{"a log line", "a warning", "known noise", "expected-missing", "missing.png", "favicon"} {
			if strings.Contains(report, unwanted) {
				t.Errorf("the catcher reported %q, which it must not:\n%s", unwanted, report)
			}
		}
		t.Logf("the catcher's report:\n%s", report)
	})
}

func TestBrowserLang(t *testing.T) {
	srv := startSmokeServer(t)
	for _, tc := range []struct {
		opts []browserOption
		want string
	}{
		{nil, "en-US"},
		{[]browserOption{withLang("zh-CN")}, "zh-CN"},
	} {
		b := startBrowser(t, tc.opts...)
		b.open(srv.URL + "/lang")
		if got := b.text("#lang"); !strings.HasPrefix(got, tc.want) {
			t.Errorf("Accept-Language = %q, want %s first", got, tc.want)
		}
		var lang string
		b.eval(`navigator.language`, &lang)
		if lang != tc.want {
			t.Errorf("navigator.language = %q, want %s", lang, tc.want)
		}
	}
}

func TestCheckChromium(t *testing.T) {
	if err := checkChromium(chromiumPath); err != nil {
		t.Errorf("checkChromium(%s): %v", chromiumPath, err)
	}
	err := checkChromium(filepath.Join(t.TempDir(), "chromium"))
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("checkChromium of a missing browser = %v, want an error that says to run make deps", err)
	}
}

func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

// recorder is a testing.TB whose Errorf calls are recorded rather than
// failing the test, and whose cleanups run at finish: it watches what the
// browser harness reports. Fatalf and everything else go to the real test.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// finish runs the cleanups, last first, as testing does.
func (r *recorder) finish() {
	r.mu.Lock()
	fs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// BenchmarkBrowserStart is a headless Chromium's start (a blank tab ready)
// and stop.
func BenchmarkBrowserStart(b *testing.B) {
	for b.Loop() {
		rec := &recorder{TB: quietTB{b}}
		startBrowser(rec)
		rec.finish()
		if len(rec.errors) > 0 {
			b.Fatal(rec.errors)
		}
	}
}

// BenchmarkBrowserOpen is one load of the smoke page (its script, fetch and
// EventSource included) in a running browser.
func BenchmarkBrowserOpen(b *testing.B) {
	srv := startSmokeServer(b)
	br := startBrowser(&quietTB{b})
	for b.Loop() {
		br.open(srv.URL + "/")
		br.waitText("#status", "connected", 5*time.Second)
	}
}

// quietTB drops Logf (open logs each load).
type quietTB struct{ testing.TB }

func (quietTB) Logf(string, ...any) {}

// The profile directory is removed at cleanup.
func TestBrowserProfileRemoved(t *testing.T) {
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "hexiao-chromium-*"))
	rec := &recorder{TB: t}
	startBrowser(rec)
	during, _ := filepath.Glob(filepath.Join(os.TempDir(), "hexiao-chromium-*"))
	rec.finish()
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "hexiao-chromium-*"))
	if len(during) != len(before)+1 || len(after) != len(before) {
		t.Errorf("profile dirs: %d before, %d while running, %d after; want n, n+1, n", len(before), len(during), len(after))
	}
}
