package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser the dashboard tests drive: Debian's Chromium, headless, over
// the DevTools protocol (chromedp, on a pipe: no debugging port is opened).
//
// A page's console.error calls, its uncaught exceptions (also unhandled
// promise rejections) and its same-origin requests answered 4xx or 5xx (or
// failed outright) are collected while the test runs and fail it at
// cleanup, with their text, unless the test declared them expected
// (expectStatus, expectConsole). So a dashboard test asserts what it looks
// for, and a broken script or a route it forgot fails it anyway.
//
// Cookies on plain HTTP loopback: the hub serves http://127.0.0.1:PORT, and
// Chromium 156 counts 127.0.0.1 (and localhost) as a potentially
// trustworthy origin, so it keeps a cookie set there with
// `Secure; HttpOnly; SameSite=Lax` and sends it back on the same origin;
// JavaScript cannot read it (document.cookie is empty). TestBrowserSmoke's
// "secure cookie on loopback" sub-test checks this on every run.

// chromiumPath is Debian's Chromium (package chromium, installed by make
// deps).
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds each helper (a click, a read, a page load); waitText
// takes its own.
const browserTimeout = 15 * time.Second

// browser is one headless Chromium browser context (its own cookies and
// storage) with one tab. startBrowser makes the first; newContext another
// in the same process.
type browser struct {
	t    testing.TB
	name string          // "browser", "context 2", … in messages
	ctx  context.Context // the tab's chromedp context
	root *browserProc

	mu       sync.Mutex
	reqs     map[network.RequestID]request // in flight, for the origin checks
	problems []string                      // what fails the test at cleanup
	statuses []expectedStatus              // declared by expectStatus
	consoles []string                      // declared by expectConsole: substrings
	origin   string                        // of the last open, when a request's document is unknown
}

// browserProc is the Chromium process shared by a test's browser contexts.
type browserProc struct {
	first    context.Context // the first tab: it owns the process
	contexts int
}

type request struct{ url, doc string }

type expectedStatus struct {
	path   string // URL path prefix
	status int64  // 0: a request that failed without an answer
}

// browserOption changes how startBrowser starts Chromium.
type browserOption func(*browserConfig)

type browserConfig struct {
	lang string // the UI language and Accept-Language
}

// withLang starts the browser in the language lang ("zh-CN"; "en-US"
// unless given): navigator.language and the Accept-Language header.
func withLang(lang string) browserOption {
	return func(c *browserConfig) { c.lang = lang }
}

// checkChromium says what to do when the browser is not at path.
func checkChromium(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("browser: no Chromium at %s (%w); install Debian's chromium with make deps (scripts/deps.sh; as root, or the apt-get line it prints)", path, err)
	}
	return nil
}

// startBrowser starts headless Chromium with a fresh profile in a temporary
// directory and a 1440×900 window, and opens a blank tab. The browser stops
// at t's cleanup, after which the page problems collected are reported as
// errors. A missing Chromium fails the test (run make deps). With
// HEXIAO_BROWSER_LOG=1 and -v, Chromium's own stderr goes to the test log.
func startBrowser(t testing.TB, options ...browserOption) *browser {
	t.Helper()
	cfg := browserConfig{lang: "en-US"}
	for _, o := range options {
		o(&cfg)
	}
	if err := checkChromium(chromiumPath); err != nil {
		t.Fatal(err)
	}
	profile, err := os.MkdirTemp("", "hexiao-chromium-")
	if err != nil {
		t.Fatalf("browser: profile dir: %v", err)
	}
	blog := &browserLog{t: t}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", cfg.lang),
		chromedp.Flag("accept-lang", cfg.lang),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1440, 900),
		chromedp.CombinedOutput(blog),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := newBrowser(t, "browser")
	// The listener is given before the tab exists, so it sees every event.
	first, cancelFirst := chromedp.NewContext(allocCtx, chromedp.WithListener(b.onEvent))
	b.ctx = first
	b.root = &browserProc{first: first, contexts: 1}
	t.Cleanup(func() {
		cancelFirst()
		cancelAlloc()
		blog.stop()
		// The allocator waited for Chromium to exit; its helpers may hold
		// the profile a moment longer.
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.report()
	})
	start := time.Now()
	// The first run's context must be the tab's own: the browser lives as
	// long as it. A timer bounds the start instead.
	timer := time.AfterFunc(60*time.Second, cancelFirst)
	err = chromedp.Do(first, chromedp.Navigate("about:blank"))
	timer.Stop()
	if err != nil {
		t.Fatalf("browser: start %s: %v", chromiumPath, err)
	}
	t.Logf("browser: Chromium started in %s", time.Since(start).Round(time.Millisecond))
	return b
}

// newContext opens a second, separate browser context in the same Chromium:
// its own cookies and storage (another user signed in at the same time).
// It closes at the test's cleanup, before the browser stops, and reports
// its own page problems.
func (b *browser) newContext() *browser {
	b.t.Helper()
	b.root.contexts++
	name := fmt.Sprintf("context %d", b.root.contexts)
	nb := newBrowser(b.t, name)
	ctx, cancel := chromedp.NewContext(b.root.first, chromedp.WithNewBrowserContext(), chromedp.WithListener(nb.onEvent))
	nb.ctx, nb.root = ctx, b.root
	b.t.Cleanup(func() {
		cancel()
		nb.report()
	})
	timer := time.AfterFunc(browserTimeout, cancel)
	err := chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	timer.Stop()
	if err != nil {
		b.t.Fatalf("%s: open: %v", name, err)
	}
	return nb
}

func newBrowser(t testing.TB, name string) *browser {
	return &browser{t: t, name: name, reqs: make(map[network.RequestID]request)}
}

// onEvent runs on chromedp's reading goroutine: it only records.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		text := consoleText(ev.Args)
		if b.expectedConsole(text) {
			return
		}
		b.problems = append(b.problems, fmt.Sprintf("console.%s: %s%s", ev.Type, text, stackPlace(ev.StackTrace)))
	case *runtime.EventExceptionThrown:
		text := exceptionText(ev.ExceptionDetails)
		if b.expectedConsole(text) {
			return
		}
		b.problems = append(b.problems, "uncaught exception: "+text)
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			b.reqs[ev.RequestID] = request{url: ev.Request.URL, doc: ev.DocumentURL}
		}
	case *network.EventResponseReceived:
		r := b.reqs[ev.RequestID]
		if ev.Response == nil || ev.Response.Status < 400 {
			return
		}
		if !b.sameOrigin(ev.Response.URL, r.doc) || b.expectedStatus(ev.Response.URL, ev.Response.Status) {
			return
		}
		b.problems = append(b.problems, fmt.Sprintf("HTTP %d %s for %s %s", ev.Response.Status, ev.Response.StatusText, ev.Type, ev.Response.URL))
	case *network.EventLoadingFinished:
		delete(b.reqs, ev.RequestID)
	case *network.EventLoadingFailed:
		r, ok := b.reqs[ev.RequestID]
		delete(b.reqs, ev.RequestID)
		// A cancelled or aborted load (a navigation away, an EventSource
		// closed, the tab closing) is not a failure of the page.
		if !ok || ev.Canceled || ev.ErrorText == "net::ERR_ABORTED" {
			return
		}
		if !b.sameOrigin(r.url, r.doc) || b.expectedStatus(r.url, 0) {
			return
		}
		b.problems = append(b.problems, fmt.Sprintf("request failed (%s) for %s %s", ev.ErrorText, ev.Type, r.url))
	}
}

// sameOrigin reports whether u is on the origin of the document doc (of
// the last open when doc is unknown).
func (b *browser) sameOrigin(u, doc string) bool {
	if doc == "" {
		doc = b.origin
	}
	return origin(u) != "" && origin(u) == origin(doc)
}

func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (b *browser) expectedStatus(u string, status int64) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	for _, e := range b.statuses {
		if e.status == status && strings.HasPrefix(p.Path, e.path) {
			return true
		}
	}
	return false
}

func (b *browser) expectedConsole(text string) bool {
	for _, s := range b.consoles {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// expectStatus declares that same-origin requests whose path starts with
// pathPrefix may be answered with status (a wrong password's 401, say), or
// fail without an answer when status is 0; they are then not reported.
func (b *browser) expectStatus(pathPrefix string, status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.statuses = append(b.statuses, expectedStatus{path: pathPrefix, status: int64(status)})
}

// expectConsole declares that console errors and exceptions whose text
// contains substring are expected; they are then not reported.
func (b *browser) expectConsole(substring string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.consoles = append(b.consoles, substring)
}

// takeProblems returns the page problems collected so far and forgets
// them (so a test can assert on them; cleanup reports only later ones).
func (b *browser) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// report fails the test with every page problem collected.
func (b *browser) report() {
	if p := b.takeProblems(); len(p) > 0 {
		b.t.Errorf("%s: %d page problem(s):\n\t%s", b.name, len(p), strings.Join(p, "\n\t"))
	}
}

func consoleText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, remoteText(a))
	}
	return strings.Join(parts, " ")
}

func remoteText(a *runtime.RemoteObject) string {
	if a == nil {
		return ""
	}
	if a.Type == "string" {
		var s string
		if json.Unmarshal(a.Value, &s) == nil {
			return s
		}
	}
	if a.Description != "" {
		return a.Description
	}
	if len(a.Value) > 0 {
		return string(a.Value)
	}
	if a.UnserializableValue != "" {
		return string(a.UnserializableValue)
	}
	return string(a.Type)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil {
		// The description is the error with its stack, for an Error; the
		// value itself for a thrown string or a rejection with one.
		if desc := remoteText(d.Exception); desc != "" {
			text += " " + desc
		}
	}
	if d.URL != "" && !strings.Contains(text, d.URL) {
		text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

func stackPlace(s *runtime.StackTrace) string {
	if s == nil || len(s.CallFrames) == 0 {
		return ""
	}
	f := s.CallFrames[0]
	return fmt.Sprintf(" (%s:%d:%d)", f.URL, f.LineNumber+1, f.ColumnNumber+1)
}

// browserLog passes Chromium's own stderr to the test log, in verbose runs
// only: it is noisy (dbus, GPU) and rarely the cause.
// It stops at cleanup: a test's log is closed once the test ends.
type browserLog struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *browserLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped && testing.Verbose() && os.Getenv("HEXIAO_BROWSER_LOG") != "" {
		l.t.Logf("chromium: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *browserLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

// do runs actions on the tab within browserTimeout.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// open navigates to u and waits for the load event.
func (b *browser) open(u string) {
	b.t.Helper()
	b.mu.Lock()
	b.origin = origin(u)
	b.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(u))
	if err != nil {
		b.t.Fatalf("%s: open %s: %v", b.name, u, err)
	}
	status := int64(0)
	if resp != nil {
		status = resp.Status
	}
	b.t.Logf("%s: opened %s (HTTP %d) in %s", b.name, u, status, time.Since(start).Round(time.Millisecond))
}

// url returns the address of the page the tab shows.
func (b *browser) url() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.name, err)
	}
	return u
}

// waitVisible waits until the first element matching the CSS selector sel
// is visible.
func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	if err := b.do(chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("%s: wait for %s to be visible: %v", b.name, sel, err)
	}
}

// textJS reads the visible text of the first element matching the selector
// (an argument), or null when none does.
const textJS = `(sel) => { const e = document.querySelector(sel); return e ? e.innerText : null; }`

// waitText waits until the first element matching sel has substring in its
// visible text, and returns that text. It fails the test after timeout with
// the text it last saw.
func (b *browser) waitText(sel, substring string, timeout time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	last, lastErr := "(no element matched)", error(nil)
	for {
		text, err := b.readText(sel)
		switch {
		case err != nil:
			lastErr = err
		case text != nil:
			last, lastErr = *text, nil
			if strings.Contains(*text, substring) {
				return *text
			}
		default:
			last, lastErr = "(no element matched)", nil
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				b.t.Fatalf("%s: %s: no text %q within %s; last error: %v", b.name, sel, substring, timeout, lastErr)
			}
			b.t.Fatalf("%s: %s: no text %q within %s; last text: %q", b.name, sel, substring, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readText returns the visible text of the first element matching sel, or
// nil when there is none.
func (b *browser) readText(sel string) (*string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[*string](fmt.Sprintf("(%s)(%s)", textJS, jsString(sel))))
}

// text returns the visible text (innerText) of the first element matching
// sel, failing the test when there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	text, err := b.readText(sel)
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	if text == nil {
		b.t.Fatalf("%s: text of %s: no element matches", b.name, sel)
	}
	return *text
}

// count returns how many elements match sel now.
func (b *browser) count(sel string) int {
	b.t.Helper()
	var n int
	b.eval(fmt.Sprintf("document.querySelectorAll(%s).length", jsString(sel)), &n)
	return n
}

// click waits for the first element matching sel to be visible and clicks
// it with the mouse.
func (b *browser) click(sel string) {
	b.t.Helper()
	if err := b.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.t.Fatalf("%s: click %s: %v", b.name, sel, err)
	}
}

// clearJS empties an input or textarea the way a user's deletion would: the
// native value setter (so frameworks that track the value see it) and an
// input event.
const clearJS = `(sel) => {
	const e = document.querySelector(sel);
	if (!e) throw new Error("no element matches " + sel);
	e.focus();
	const proto = Object.getPrototypeOf(e);
	const d = Object.getOwnPropertyDescriptor(proto, "value");
	if (d && d.set) d.set.call(e, ""); else e.value = "";
	e.dispatchEvent(new Event("input", {bubbles: true}));
	return true;
}`

// fill clears the input matching sel and types text into it, key by key.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	err := b.do(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf("(%s)(%s)", clearJS, jsString(sel))),
		chromedp.SendKeys(chromedp.CSS(sel), text),
	)
	if err != nil {
		b.t.Fatalf("%s: fill %s: %v", b.name, sel, err)
	}
}

// keyNames are the key names press takes besides literal text.
var keyNames = map[string]string{
	"Enter": kb.Enter, "Tab": kb.Tab, "Escape": kb.Escape, "Backspace": kb.Backspace, "Delete": kb.Delete,
	"ArrowUp": kb.ArrowUp, "ArrowDown": kb.ArrowDown, "ArrowLeft": kb.ArrowLeft, "ArrowRight": kb.ArrowRight,
	"Home": kb.Home, "End": kb.End, "PageUp": kb.PageUp, "PageDown": kb.PageDown,
}

// press sends key to the focused element: a DOM key name ("Enter",
// "Escape", "Tab", "ArrowDown", …) or literal text.
func (b *browser) press(key string) {
	b.t.Helper()
	k, ok := keyNames[key]
	if !ok {
		k = key
	}
	if err := b.do(chromedp.KeyEvent(k)); err != nil {
		b.t.Fatalf("%s: press %q: %v", b.name, key, err)
	}
}

// eval evaluates the JavaScript expression js (a promise is awaited) and
// decodes its JSON value into out (nil to drop it).
func (b *browser) eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](js, chromedp.EvalAwaitPromise, chromedp.EvalAsValue))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, truncate(js, 200), err)
	}
	if out == nil {
		return
	}
	value := []byte(raw.Value)
	if len(value) == 0 {
		value = []byte("null")
	}
	if err := json.Unmarshal(value, out); err != nil {
		b.t.Fatalf("%s: eval %s: decode %s into %T: %v", b.name, truncate(js, 200), truncate(string(value), 200), out, err)
	}
}

// screenshot saves a full-page PNG at path, making its directory.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
}

// shot saves a full-page screenshot as NAME.png in $HEXIAO_SCREENSHOTS when
// it is set (the README's pictures), in a temporary directory otherwise,
// and returns the path.
func (b *browser) shot(name string) string {
	b.t.Helper()
	dir := os.Getenv("HEXIAO_SCREENSHOTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	path := filepath.Join(dir, name+".png")
	b.screenshot(path)
	b.t.Logf("%s: screenshot %s", b.name, path)
	return path
}

// cookies returns the cookies the browser context would send to the
// current page's URL.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("%s: cookies: %v", b.name, err)
	}
	return res.Cookies
}

// cookie returns the cookie named name of the current page, or nil.
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	for _, c := range b.cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, err := json.Marshal(s)
	if err != nil {
		panic(errors.New("e2e: a Go string always encodes")) // unreachable
	}
	return string(q)
}
