package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
)

const userPW = "a long enough password"

// wantAccess is who may call every route. A route the server has and this
// table lacks fails TestRouteAccess: none is left out.
var wantAccess = map[string]access{
	"GET /healthz": accessPublic, "GET /metrics": accessPublic, "POST /api/v1/enroll": accessPublic,
	"POST /api/v1/terminal/status": accessPublic, "GET /login": accessPublic, "POST /login": accessPublic,
	"GET /assets/{file...}": accessPublic,

	"POST /logout": accessSelf, "GET /api/v1/me": accessSelf, "POST /api/v1/me/password": accessSelf,

	"GET /api/v1/stores": accessRead, "GET /api/v1/stores/{id}": accessRead, "GET /api/v1/campaigns": accessRead,
	"GET /api/v1/campaigns/{id}": accessRead, "GET /api/v1/codes/{code}": accessRead, "GET /api/v1/redemptions": accessRead,
	"GET /api/v1/alerts": accessRead, "GET /api/v1/terminals": accessRead, "GET /api/v1/keys": accessRead,
	"GET /api/v1/stream": accessRead, "GET /api/v1/overview": accessRead, "GET /api/v1/reports": accessRead,
	"GET /api/v1/locks": accessRead,
	"GET /{$}":          accessRead, "GET /overview": accessRead, "GET /feed": accessRead, "GET /alerts": accessRead,
	"GET /codes": accessRead, "GET /codes/{q...}": accessRead, "GET /campaigns": accessRead, "GET /campaigns/{id}": accessRead,
	"GET /stores": accessRead, "GET /stores/{id}": accessRead, "GET /reports": accessRead, "GET /admin": accessRead,

	"POST /api/v1/stores": accessAdmin, "POST /api/v1/campaigns": accessAdmin, "POST /api/v1/campaigns/{id}/codes": accessAdmin,
	"POST /api/v1/campaigns/{id}/codes/import": accessAdmin, "POST /api/v1/codes/{id}/revoke": accessAdmin,
	"POST /api/v1/codes/{id}/block": accessAdmin, "POST /api/v1/codes/{id}/unblock": accessAdmin,
	"POST /api/v1/alerts/{id}/ack": accessAdmin, "POST /api/v1/locks": accessAdmin, "POST /api/v1/enrollments": accessAdmin,
	"GET /api/v1/enrollments/qr.png": accessAdmin, "POST /api/v1/terminals/{id}/revoke": accessAdmin,
	"POST /api/v1/keys/rotate": accessAdmin, "POST /api/v1/keys/{id}/retire": accessAdmin,
	"GET /api/v1/users": accessAdmin, "POST /api/v1/users": accessAdmin, "POST /api/v1/users/{name}": accessAdmin,
	"GET /api/v1/tokens": accessAdmin, "POST /api/v1/tokens": accessAdmin, "POST /api/v1/tokens/{id}/revoke": accessAdmin,
}

// Routes other helpers' files add (reports.go) are read or admin by the
// rule of routeAccess; the table test checks them by that rule.
func TestRouteAccess(t *testing.T) {
	f := newFixture(t)
	for _, p := range f.web.patterns {
		want, ok := wantAccess[p]
		if !ok {
			t.Errorf("route %q is not in wantAccess: say who may call it", p)
			continue
		}
		if got := routeAccess(p); got != want {
			t.Errorf("route %q: access %s, want %s", p, got, want)
		}
	}
}

// concrete turns a pattern into a request path.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`).ReplaceAllString(path, "x1")
	if strings.HasSuffix(path, "qr.png") {
		path += "?token=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	}
	return method, path
}

// token makes an API token and returns its secret.
func (f *fixture) token(role hub.Role, store string) string {
	f.tb.Helper()
	secret, _, err := f.acct.CreateToken(context.Background(), hub.NewAPIToken{Name: "t-" + string(role) + store, Role: role, Store: store, CreatedBy: "test"})
	if err != nil {
		f.tb.Fatal(err)
	}
	return secret
}

// as sends r with the bearer secret.
func (f *fixture) as(secret string, r req) (int, http.Header, []byte) {
	f.tb.Helper()
	if r.header == nil {
		r.header = map[string]string{}
	}
	r.header["Authorization"] = "Bearer " + secret
	return f.do(r)
}

// TestRolesOnEveryRoute: a viewer and a store manager are refused every
// admin route with 403 forbidden before it runs, and reach every read and
// self route.
func TestRolesOnEveryRoute(t *testing.T) {
	f := newFixture(t)
	f.seed()
	for _, who := range []struct {
		name   string
		secret string
	}{{"viewer", f.token(hub.RoleViewer, "")}, {"manager", f.token(hub.RoleStoreManager, "s1")}} {
		for _, p := range f.web.patterns {
			a := routeAccess(p)
			if a == accessPublic || p == "GET /api/v1/stream" {
				continue
			}
			method, path := concrete(p)
			code, _, b := f.as(who.secret, req{method: method, path: path, body: "{}"})
			if a == accessAdmin {
				if code != http.StatusForbidden {
					t.Errorf("%s %s %s: status %d, want 403: %.200s", who.name, method, path, code, b)
				} else if e := apiError(t, b); e.Code != "forbidden" || !strings.Contains(e.Message, "HQ admin") {
					t.Errorf("%s %s %s: %+v", who.name, method, path, e)
				}
				continue
			}
			if code == http.StatusUnauthorized || (code == http.StatusForbidden && !strings.Contains(string(b), "another store") &&
				!strings.Contains(string(b), "API token has no password")) {
				t.Errorf("%s %s %s (%s): status %d: %.200s", who.name, method, path, a, code, b)
			}
		}
	}
	// Nothing changed.
	var stores []map[string]any
	f.call("GET", "/api/v1/stores", "", http.StatusOK, &stores)
	if len(stores) != 2 {
		t.Errorf("stores after the refusals: %d, want 2", len(stores))
	}
}

// browser is a person in a browser: a cookie jar of its own, no
// redirects followed.
type browser struct {
	f    *fixture
	c    *http.Client
	csrf string // the session's, from /api/v1/me
}

func (f *fixture) browser() *browser {
	return &browser{f: f, c: &http.Client{Transport: &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// cookies holds the browser's cookies by hand: Go's jar drops Secure
// cookies on http://127.0.0.1, which browsers keep.
var cookies = map[*browser]map[string]string{}

func (b *browser) send(method, path, ctype, body string, hdr map[string]string) (int, http.Header, string) {
	b.f.tb.Helper()
	r, err := http.NewRequest(method, b.f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.f.tb.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for k, v := range cookies[b] {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := b.c.Do(r)
	if err != nil {
		b.f.tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if cookies[b] == nil {
		cookies[b] = map[string]string{}
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(cookies[b], c.Name)
		} else {
			cookies[b][c.Name] = c.Value
		}
	}
	return resp.StatusCode, resp.Header, string(out)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login signs in through the form and returns the POST's status and
// Location.
func (b *browser) login(name, pw, next string) (int, string, string) {
	b.f.tb.Helper()
	code, _, page := b.send("GET", "/login?next="+url.QueryEscape(next), "", "", nil)
	m := csrfField.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		b.f.tb.Fatalf("GET /login: %d %.300s", code, page)
	}
	form := url.Values{"name": {name}, "password": {pw}, "csrf": {m[1]}, "next": {next}}
	code, h, page := b.send("POST", "/login", "application/x-www-form-urlencoded", form.Encode(), nil)
	if code == http.StatusSeeOther {
		var me meView
		c, _, body := b.send("GET", "/api/v1/me", "", "", nil)
		if c != http.StatusOK || json.Unmarshal([]byte(body), &me) != nil {
			b.f.tb.Fatalf("GET /api/v1/me after sign-in: %d %s", c, body)
		}
		b.csrf = me.CSRFToken
	}
	return code, h.Get("Location"), page
}

func (f *fixture) user(name string, role hub.Role, store string) {
	f.tb.Helper()
	if _, err := f.acct.AddUser(context.Background(), hub.NewUser{Name: name, Role: role, Store: store, Password: userPW}); err != nil {
		f.tb.Fatal(err)
	}
}

func TestSignInAndCSRF(t *testing.T) {
	f := newFixture(t)
	f.user("al", hub.RoleAdmin, "")
	b := f.browser()
	// Without a session: pages go to /login, the API says 401.
	code, h, _ := b.send("GET", "/overview?day=1", "", "", nil)
	if code != http.StatusSeeOther || h.Get("Location") != "/login?next=%2Foverview%3Fday%3D1" {
		t.Fatalf("page without a session: %d %q", code, h.Get("Location"))
	}
	if code, _, _ := b.send("GET", "/api/v1/me", "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("API without a session: %d", code)
	}
	code, loc, _ := b.login("al", userPW, "/codes/X?y=1")
	if code != http.StatusSeeOther || loc != "/codes/X?y=1" {
		t.Fatalf("sign-in: %d to %q", code, loc)
	}
	if _, ok := cookies[b][sessionCookiePlain]; !ok || len(cookies[b]) != 1 {
		t.Fatalf("cookies after sign-in: %v, want only %s", cookies[b], sessionCookiePlain)
	}
	var me meView
	_, _, body := b.send("GET", "/api/v1/me", "", "", nil)
	json.Unmarshal([]byte(body), &me)
	if me.Name != "al" || me.Role != hub.RoleAdmin || me.Via != "session" || !hub.ValidToken(me.CSRFToken) {
		t.Fatalf("me: %s", body)
	}
	store := `{"id":"s1","name":"Xuhui","region":"sh","timezone":"Asia/Shanghai"}`
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
		code string
	}{
		{"no token", nil, http.StatusForbidden, "csrf"},
		{"wrong token", map[string]string{"X-CSRF-Token": strings.Repeat("A", 43)}, http.StatusForbidden, "csrf"},
		{"cross-site", map[string]string{"X-CSRF-Token": b.csrf, "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, "cross_origin"},
		{"other origin", map[string]string{"X-CSRF-Token": b.csrf, "Origin": "http://evil.example"}, http.StatusForbidden, "cross_origin"},
		{"right token", map[string]string{"X-CSRF-Token": b.csrf, "Sec-Fetch-Site": "same-origin"}, http.StatusCreated, ""},
	} {
		code, _, body := b.send("POST", "/api/v1/stores", "application/json", store, c.hdr)
		if code != c.want {
			t.Fatalf("%s: status %d, want %d: %s", c.name, code, c.want, body)
		}
		if c.code != "" {
			if e := apiError(t, []byte(body)); e.Code != c.code {
				t.Errorf("%s: %+v, want %s", c.name, e, c.code)
			}
		}
	}
	// A bearer token needs no CSRF token.
	f.call("POST", "/api/v1/stores", `{"id":"s2","name":"Jing'an","region":"sh","timezone":"Asia/Shanghai"}`, http.StatusCreated, nil)
	// Sign out: the form's csrf field; a wrong one is refused.
	if code, _, _ := b.send("POST", "/logout", "application/x-www-form-urlencoded", "csrf=wrong", nil); code != http.StatusForbidden {
		t.Fatalf("sign-out with a wrong csrf: %d", code)
	}
	tok := cookies[b][sessionCookiePlain]
	code, h, _ = b.send("POST", "/logout", "application/x-www-form-urlencoded", "csrf="+b.csrf, nil)
	if code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("sign-out: %d %q", code, h.Get("Location"))
	}
	if _, _, err := f.acct.Session(context.Background(), tok); err == nil {
		t.Fatal("the session outlived sign-out")
	}
}

// TestSignInRefusals: a wrong password and an unknown name get the same
// page and status; five lock either; the form's double-submit token and
// next are checked.
func TestSignInRefusals(t *testing.T) {
	f := newFixture(t)
	f.user("knownuser", hub.RoleAdmin, "")
	pages := map[string]string{}
	for _, name := range []string{"knownuser", "ghostuser"} {
		b := f.browser()
		for i := range 5 {
			code, _, page := b.login(name, "wrong password!", "/")
			if code != http.StatusUnauthorized || !strings.Contains(page, "Wrong name or password.") {
				t.Fatalf("%s attempt %d: %d %.300s", name, i, code, page)
			}
			pages[name] = strings.ReplaceAll(csrfField.ReplaceAllString(page, ""), `value="`+name+`"`, "NAME")
		}
		code, _, page := b.login(name, userPW, "/")
		if code != http.StatusTooManyRequests || !strings.Contains(page, "Too many wrong passwords") {
			t.Fatalf("%s locked: %d %.300s", name, code, page)
		}
	}
	if pages["knownuser"] != pages["ghostuser"] {
		t.Errorf("a known and an unknown name get different pages:\n%s\n%s", pages["knownuser"], pages["ghostuser"])
	}
	// zh-CN.
	b := f.browser()
	b.send("GET", "/login", "", "", nil)
	_, _, page := b.send("GET", "/login", "", "", map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
	if !strings.Contains(page, "用户名") || !strings.Contains(page, `lang="zh-CN"`) {
		t.Errorf("zh-CN page: %.400s", page)
	}
	// No double-submit cookie: refused, a new form given.
	form := url.Values{"name": {"knownuser"}, "password": {userPW}, "csrf": {strings.Repeat("A", 43)}}
	c := f.browser()
	if code, _, page := c.send("POST", "/login", "application/x-www-form-urlencoded", form.Encode(), nil); code != http.StatusForbidden ||
		!strings.Contains(page, "expired") {
		t.Errorf("sign-in without the cookie: %d %.300s", code, page)
	}
	for _, bad := range []string{"name=al&name=bo&password=x&csrf=y", "name=al&password=x&csrf=y&colour=red", "%zz"} {
		if code, _, _ := c.send("POST", "/login", "application/x-www-form-urlencoded", bad, nil); code != http.StatusBadRequest {
			t.Errorf("form %q: %d, want 400", bad, code)
		}
	}
	// next never leaves the site.
	f.user("bo", hub.RoleViewer, "")
	for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example", "/\t/evil.example", "/login"} {
		d := f.browser()
		if code, loc, _ := d.login("bo", userPW, next); code != http.StatusSeeOther || loc != "/" {
			t.Errorf("next=%q: %d to %q, want 303 to /", next, code, loc)
		}
	}
}

// TestSessionEnds: idle and absolute expiry (the hub's clock), and a role
// change, end a session; the browser is then sent to /login.
func TestSessionEnds(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.user("vi", hub.RoleViewer, "")
	now := time.Now()
	f.now.Store(&now)
	b := f.browser()
	b.login("vi", userPW, "/")
	later := now.Add(11 * time.Hour)
	f.now.Store(&later)
	if code, _, _ := b.send("GET", "/api/v1/stores", "", "", nil); code != http.StatusOK {
		t.Fatalf("after 11 h: %d", code)
	}
	later = later.Add(12 * time.Hour)
	f.now.Store(&later)
	if code, h, _ := b.send("GET", "/overview", "", "", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("idle 12 h: %d %q", code, h.Get("Location"))
	}
	b.login("vi", userPW, "/")
	mgr := "store_manager"
	f.call("POST", "/api/v1/users/vi", `{"role":"`+mgr+`","store":"s1"}`, http.StatusOK, nil)
	if code, _, _ := b.send("GET", "/api/v1/me", "", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("after a role change: %d, want 401", code)
	}
}

// TestStoreManagerScope: a store manager sees their store on every scoped
// route and is refused another store's.
func TestStoreManagerScope(t *testing.T) {
	f := newFixture(t)
	f.seed()
	codes := f.importCodes(2)
	t1, t2 := f.terminal("t1", "s1"), f.terminal("t2", "s2")
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	f.redeem(t2, codes[0], "coffee", at, "o-1")
	f.redeem(t1, codes[1], "coffee", at, "o-2")
	f.redeem(t2, codes[1], "coffee", at, "o-3") // over-redemption: an alert naming s1 and s2
	m := f.token(hub.RoleStoreManager, "s1")
	get := func(path string, want int) []byte {
		t.Helper()
		code, _, b := f.as(m, req{method: "GET", path: path})
		if code != want {
			t.Fatalf("GET %s: %d, want %d: %s", path, code, want, b)
		}
		return b
	}
	for _, p := range []string{"/api/v1/stores/s2", "/api/v1/redemptions?store=s2", "/api/v1/redemptions?store=s2&format=csv",
		"/api/v1/alerts?store=s2"} {
		if e := apiError(t, get(p, http.StatusForbidden)); e.Code != "forbidden" || !strings.Contains(e.Message, "sees only store s1") {
			t.Errorf("GET %s: %+v", p, e)
		}
	}
	if b := get("/api/v1/stores", 200); strings.Contains(string(b), `"s2"`) || !strings.Contains(string(b), `"s1"`) {
		t.Errorf("stores: %s", b)
	}
	var rs []hub.Redemption
	json.Unmarshal(get("/api/v1/redemptions", 200), &rs)
	if len(rs) != 1 || rs[0].Store != "s1" {
		t.Errorf("redemptions: %+v, want t1's one", rs)
	}
	if csv := string(get("/api/v1/redemptions?format=csv", 200)); strings.Count(csv, "\n") != 2 || strings.Contains(csv, ",s2,") {
		t.Errorf("csv: %s", csv)
	}
	var ts []hub.TerminalInfo
	json.Unmarshal(get("/api/v1/terminals", 200), &ts)
	if len(ts) != 1 || ts[0].ID != "t1" {
		t.Errorf("terminals: %+v", ts)
	}
	var as []hub.Alert
	json.Unmarshal(get("/api/v1/alerts", 200), &as)
	for _, a := range as {
		if !strings.Contains(strings.Join(a.Stores, ","), "s1") {
			t.Errorf("alert not naming s1: %+v", a)
		}
	}
	if len(as) == 0 {
		t.Error("no alert naming s1")
	}
	var info scopedCodeInfo
	json.Unmarshal(get("/api/v1/codes/"+codes[1], 200), &info)
	if len(info.Redemptions) != 1 || info.Redemptions[0].Store != "s1" || info.Elsewhere != 1 {
		t.Errorf("code look-up: %+v", info)
	}
	info = scopedCodeInfo{}
	json.Unmarshal(get("/api/v1/codes/"+codes[0], 200), &info)
	if len(info.Redemptions) != 0 || info.Elsewhere != 1 || info.LastUse != nil {
		t.Errorf("code redeemed elsewhere: %+v", info)
	}
	if strings.Contains(string(get("/api/v1/codes/"+codes[0], 200)), "s2") {
		t.Error("the code look-up names the other store")
	}
}

// TestStreamScope: a store manager's stream carries their store's
// redemptions only.
// TestStreamEndsWithItsCredential: an open stream ends soon after its
// token is revoked, or its session's user is given another role.
func TestStreamEndsWithItsCredential(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.web.recheck = 50 * time.Millisecond
	open := func(set func(*http.Request)) *http.Response {
		t.Helper()
		r, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/stream", nil)
		set(r)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		resp, err := f.client.Do(r.WithContext(ctx))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("open the stream: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	ended := func(what string, resp *http.Response) {
		t.Helper()
		done := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, resp.Body); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: the stream broke instead of ending: %v", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: the stream is still open 5 s later", what)
		}
	}

	secret, tok, err := f.acct.CreateToken(context.Background(), hub.NewAPIToken{Name: "wall", Role: hub.RoleViewer, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	resp := open(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) })
	if _, err := f.acct.RevokeToken(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	ended("a revoked token", resp)

	f.user("sam", hub.RoleViewer, "")
	b := f.browser()
	if code, _, page := b.login("sam", userPW, "/"); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %.200s", code, page)
	}
	resp = open(func(r *http.Request) {
		for k, v := range cookies[b] {
			r.AddCookie(&http.Cookie{Name: k, Value: v})
		}
	})
	if _, _, err := f.acct.UpdateUser(context.Background(), "sam", hub.UserChange{Role: ptr(hub.RoleStoreManager), Store: ptr("s1")}); err != nil {
		t.Fatal(err)
	}
	ended("a session whose user became a store manager", resp)

	// The admin token's stream stays.
	resp = open(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) })
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(done) }()
	select {
	case <-done:
		t.Error("the admin token's stream ended")
	case <-time.After(300 * time.Millisecond):
	}
}

func ptr[T any](v T) *T { return &v }

func TestStreamScope(t *testing.T) {
	f := newFixture(t)
	f.seed()
	codes := f.importCodes(2)
	t1, t2 := f.terminal("t1", "s1"), f.terminal("t2", "s2")
	r, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/stream", nil)
	r.Header.Set("Authorization", "Bearer "+f.token(hub.RoleStoreManager, "s1"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.client.Do(r.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Scan() // retry:
	at := time.Now().UTC().Truncate(time.Millisecond)
	f.redeem(t2, codes[0], "coffee", at, "o-1")
	f.redeem(t1, codes[1], "coffee", at, "o-2")
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"seq"`) {
			if !strings.Contains(line, `"store":"s1"`) {
				t.Fatalf("first redemption on s1's stream: %s", line)
			}
			return
		}
	}
	t.Fatalf("stream ended: %v", sc.Err())
}

// TestAccountsAPI: users and tokens through the API; a user changes their
// own password.
func TestAccountsAPI(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var u userView
	f.call("POST", "/api/v1/users", `{"name":"mo","display_name":"莫","role":"store_manager","store":"s1","password":"`+userPW+`"}`, http.StatusCreated, &u)
	if u.Name != "mo" || u.Store != "s1" || u.DisplayName != "莫" {
		t.Fatalf("user: %+v", u)
	}
	code, _, b := f.do(req{method: "POST", path: "/api/v1/users", body: `{"name":"x","role":"viewer","password":"` + userPW + `","hash":"x"}`})
	if code != http.StatusBadRequest || !strings.Contains(string(b), "hash") {
		t.Errorf("unknown field: %d %s", code, b)
	}
	var users []map[string]any
	f.call("GET", "/api/v1/users", "", http.StatusOK, &users)
	if len(users) != 1 || users[0]["password"] != nil || strings.Contains(mustJSON(users), "argon2") {
		t.Errorf("users: %v", users)
	}
	var nt newTokenView
	f.call("POST", "/api/v1/tokens", `{"name":"BI","role":"viewer"}`, http.StatusCreated, &nt)
	if !hub.ParseAPIToken(nt.Secret) || nt.Token.CreatedBy != "admin" {
		t.Fatalf("token: %+v", nt)
	}
	var me meView
	code, _, b = f.as(nt.Secret, req{method: "GET", path: "/api/v1/me"})
	json.Unmarshal(b, &me)
	if code != 200 || me.Via != "token" || me.Role != hub.RoleViewer || me.DisplayName != "BI" || me.CSRFToken != "" {
		t.Errorf("me by token: %d %s", code, b)
	}
	var tl []hub.APIToken
	f.call("GET", "/api/v1/tokens", "", http.StatusOK, &tl)
	if len(tl) != 1 || strings.Contains(mustJSON(tl), nt.Secret) || tl[0].LastUsed.IsZero() {
		t.Errorf("tokens: %+v", tl)
	}
	f.call("POST", "/api/v1/tokens/"+nt.Token.ID+"/revoke", "", http.StatusOK, nil)
	if code, _, _ := f.as(nt.Secret, req{method: "GET", path: "/api/v1/me"}); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", code)
	}
	// Own password.
	br := f.browser()
	br.login("mo", userPW, "/")
	hdr := map[string]string{"X-CSRF-Token": br.csrf}
	if code, _, b := br.send("POST", "/api/v1/me/password", "application/json", `{"old":"nope nope nope","new":"another password"}`, hdr); code != http.StatusForbidden ||
		!strings.Contains(b, "wrong_password") {
		t.Errorf("wrong old: %d %s", code, b)
	}
	if code, _, b := br.send("POST", "/api/v1/me/password", "application/json", `{"old":"`+userPW+`","new":"another password"}`, hdr); code != http.StatusNoContent {
		t.Errorf("change: %d %s", code, b)
	}
	if code, _, _ := br.send("GET", "/api/v1/me", "", "", nil); code != http.StatusOK {
		t.Errorf("the changing session ended: %d", code)
	}
	if code, _, _ := f.browser().login("mo", "another password", "/"); code != http.StatusSeeOther {
		t.Errorf("new password: %d", code)
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/codes/X?y=1", "//evil", "/\\evil", "https://x", "/\t/evil", "/%2F%2Fevil", "/login?next=/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := safeNext(s)
		if out != "/" && out != s {
			t.Fatalf("safeNext(%q) = %q", s, out)
		}
		u, err := url.Parse(out)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") ||
			strings.ContainsAny(out, "\\\t\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the site", s, out)
		}
	})
}

func FuzzSignInForm(f *testing.F) {
	for _, s := range []string{"name=al&password=pw&csrf=x&next=%2F", "name=al&name=al", "%zz", "a=b", "name=&password="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		form, err := parseSignInForm(s)
		if err != nil {
			return
		}
		if form.Name == "" || form.Password == "" || len(form.Name) > 64 || len(form.Password) > hub.MaxPassword {
			t.Fatalf("accepted %q as %+v", s, form)
		}
	})
}

// BenchmarkSessionGET is an authenticated GET /api/v1/me with a session
// cookie, through the whole handler (cookie, session and user read,
// role check).
func BenchmarkSessionGET(b *testing.B) {
	f := newFixture(b)
	f.user("al", hub.RoleAdmin, "")
	tok, _, _, err := f.acct.SignIn(context.Background(), "al", userPW)
	if err != nil {
		b.Fatal(err)
	}
	h := f.web.Handler()
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookiePlain, Value: tok})
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkLogin is POST /login with the default argon2id cost.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b)
	acct := hub.NewAccounts(f.hub, hub.AccountsConfig{})
	f.web.acct = acct
	if _, err := acct.AddUser(context.Background(), hub.NewUser{Name: "al", Role: hub.RoleAdmin, Password: userPW}); err != nil {
		b.Fatal(err)
	}
	h := f.web.Handler()
	tok := strings.Repeat("A", 43)
	body := url.Values{"name": {"al"}, "password": {userPW}, "csrf": {tok}}.Encode()
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: csrfCookiePlain, Value: tok})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// importCodes imports n card secrets into coffee and returns their ids.
func (f *fixture) importCodes(n int) []string {
	f.tb.Helper()
	secrets := make([]string, n)
	for i := range secrets {
		secrets[i] = strings.Repeat(string(rune('A'+i)), 4) + "-2345-6789"
	}
	var imp struct{ IDs []string }
	f.call("POST", "/api/v1/campaigns/coffee/codes/import", mustJSON(map[string]any{"codes": secrets}), http.StatusCreated, &imp)
	return imp.IDs
}
