package web

import (
	"net/http"
	"strings"
	"testing"
)

// routes lists every API route with a valid-looking path, for the tests
// that every route refuses the same things.
var routes = []struct{ method, path string }{
	{"GET", "/api/v1/overview"},
	{"GET", "/api/v1/reports"},
	{"GET", "/api/v1/locks"},
	{"GET", "/api/v1/stores"},
	{"POST", "/api/v1/stores"},
	{"GET", "/api/v1/stores/s1"},
	{"GET", "/api/v1/campaigns"},
	{"POST", "/api/v1/campaigns"},
	{"GET", "/api/v1/campaigns/coffee"},
	{"POST", "/api/v1/campaigns/coffee/codes"},
	{"POST", "/api/v1/campaigns/coffee/codes/import"},
	{"GET", "/api/v1/codes/ABCDEFGHIJKL"},
	{"POST", "/api/v1/codes/ABCDEFGHIJKL/revoke"},
	{"POST", "/api/v1/codes/ABCDEFGHIJKL/block"},
	{"POST", "/api/v1/codes/ABCDEFGHIJKL/unblock"},
	{"GET", "/api/v1/redemptions"},
	{"GET", "/api/v1/alerts"},
	{"POST", "/api/v1/alerts/1/ack"},
	{"POST", "/api/v1/locks"},
	{"POST", "/api/v1/enrollments"},
	{"GET", "/api/v1/enrollments/qr.png?token=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"},
	{"GET", "/api/v1/terminals"},
	{"POST", "/api/v1/terminals/t1/revoke"},
	{"GET", "/api/v1/keys"},
	{"POST", "/api/v1/keys/rotate"},
	{"POST", "/api/v1/keys/k1/retire"},
	{"GET", "/api/v1/stream"},
	{"GET", "/api/v1/me"},
	{"POST", "/api/v1/me/password"},
	{"GET", "/api/v1/users"},
	{"POST", "/api/v1/users"},
	{"POST", "/api/v1/users/al"},
	{"GET", "/api/v1/tokens"},
	{"POST", "/api/v1/tokens"},
	{"POST", "/api/v1/tokens/tok-1/revoke"},
	{"GET", "/api/v1/no-such-route"},
}

// pageRoutes are the routes outside /api/v1 that need a session: without
// one a browser is sent to /login.
var pageRoutes = []struct{ method, path string }{
	{"POST", "/logout"}, {"GET", "/"}, {"GET", "/overview"}, {"GET", "/feed"}, {"GET", "/alerts"}, {"GET", "/codes"},
	{"GET", "/codes/X"}, {"GET", "/campaigns"}, {"GET", "/campaigns/c"}, {"GET", "/stores"}, {"GET", "/stores/s"},
	{"GET", "/reports"}, {"GET", "/admin"},
}

func TestAuthRequired(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, auth, wantAuthenticate, wantMsg string
	}{
		{"missing", "", `Bearer realm="hexiao"`, "missing Authorization header"},
		{"wrong", "Bearer not-the-token-at-all-000000", `Bearer realm="hexiao", error="invalid_token"`, "wrong bearer token"},
		{"not bearer", "Basic YWRtaW46YWRtaW4=", `Bearer realm="hexiao", error="invalid_request"`, "not a bearer token"},
		{"token prefix", "Bearer " + testToken[:10], `Bearer realm="hexiao", error="invalid_token"`, "wrong bearer token"},
	}
	for _, rt := range routes {
		for _, c := range cases {
			t.Run(rt.method+" "+rt.path+"/"+c.name, func(t *testing.T) {
				code, h, b := f.do(req{method: rt.method, path: rt.path, body: "{}", header: map[string]string{"Authorization": c.auth}})
				if code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401: %s", code, b)
				}
				if got := h.Get("WWW-Authenticate"); got != c.wantAuthenticate {
					t.Errorf("WWW-Authenticate %q, want %q", got, c.wantAuthenticate)
				}
				e := apiError(t, b)
				if e.Code != "unauthorized" || !strings.Contains(e.Message, c.wantMsg) {
					t.Errorf("error %+v, want unauthorized saying %q", e, c.wantMsg)
				}
				if strings.Contains(string(b), testToken) {
					t.Errorf("answer echoes the token: %s", b)
				}
			})
		}
	}
	// The public endpoints need none.
	for _, p := range []string{"/healthz", "/metrics"} {
		code, _, b := f.do(req{method: "GET", path: p, header: map[string]string{"Authorization": ""}})
		if code != http.StatusOK {
			t.Errorf("GET %s without a token: status %d, want 200: %s", p, code, b)
		}
	}
}

// Every route refuses a query parameter it does not take, one it takes
// given twice and a query string that does not parse, with a 400 naming
// what to fix, before it does anything.
func TestBadQueries(t *testing.T) {
	f := newFixture(t)
	f.seed()
	all := []struct{ method, path string }{{"GET", "/healthz"}, {"GET", "/metrics"}, {"POST", "/api/v1/enroll"}, {"POST", "/api/v1/terminal/status"},
		{"GET", "/login"}, {"POST", "/login"}, {"GET", "/assets/app.css"}}
	all = append(all, pageRoutes...)
	for _, rt := range routes {
		if !strings.Contains(rt.path, "no-such-route") {
			all = append(all, rt)
		}
	}
	if len(all) != len(f.web.patterns) {
		t.Fatalf("%d routes in the table, the server has %d: %v", len(all), len(f.web.patterns), f.web.patterns)
	}
	cases := []struct{ name, query, msg string }{
		{"unknown", "colour=red", `unknown query parameter "colour"`},
		{"unknown and empty", "verbose", `unknown query parameter "verbose"`},
		{"malformed", "a=%zz", "query string is malformed"},
	}
	for _, rt := range all {
		for _, c := range cases {
			t.Run(rt.method+" "+rt.path+"/"+c.name, func(t *testing.T) {
				path := rt.path + "?" + c.query
				if strings.Contains(rt.path, "?") {
					path = rt.path + "&" + c.query
				}
				code, _, b := f.do(req{method: rt.method, path: path, body: "{}"})
				if code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %.300s", code, b)
				}
				if e := apiError(t, b); e.Code != "invalid" || !strings.Contains(e.Message, c.msg) {
					t.Errorf("error %+v, want invalid saying %q", e, c.msg)
				}
			})
		}
	}
	for _, c := range []struct{ path, msg string }{
		{"/api/v1/stores?id=s1", `unknown query parameter "id"; remove it or fix its spelling (this route takes no query parameters)`},
		{"/api/v1/alerts?kind=a&kind=b", `query parameter "kind" is given 2 times`},
		{"/api/v1/redemptions?stor=s1", `unknown query parameter "stor"; remove it or fix its spelling (accepted: store, terminal,`},
		{"/api/v1/redemptions?store=s1&store=s2", `query parameter "store" is given 2 times`},
	} {
		code, _, b := f.do(req{method: "GET", path: c.path})
		if e := apiError(t, b); code != http.StatusBadRequest || !strings.Contains(e.Message, c.msg) {
			t.Errorf("GET %s: %d %s, want 400 saying %q", c.path, code, b, c.msg)
		}
	}
	// Refused before anything is done.
	code, _, b := f.do(req{method: "POST", path: "/api/v1/stores?dry_run=1", body: `{"id":"s9","name":"N","region":"sh","timezone":"UTC"}`})
	if code != http.StatusBadRequest {
		t.Fatalf("POST with an unknown parameter: %d %s, want 400", code, b)
	}
	if code, _, b := f.do(req{method: "GET", path: "/api/v1/stores/s9"}); code != http.StatusNotFound {
		t.Errorf("store s9 after a refused POST: %d %s, want 404", code, b)
	}
}

// bodyRoutes are the routes that take a JSON body, with a body holding a
// field of the wrong type (the field named) and the body limit.
var bodyRoutes = []struct {
	path      string
	optional  bool
	wrongType string
	field     string
	limit     string
}{
	{"/api/v1/stores", false, `{"id":"s9","name":7}`, "name", "1 MiB"},
	{"/api/v1/campaigns", false, `{"id":"c","name":"C","uses":"one"}`, "uses", "1 MiB"},
	{"/api/v1/campaigns/coffee/codes", false, `{"count":"5","format":"signed"}`, "count", "1 MiB"},
	{"/api/v1/campaigns/coffee/codes/import", false, `{"codes":[12345678]}`, "codes", "16 MiB"},
	{"/api/v1/codes/ABCDEFGHIJKL/revoke", true, `{"reason":false}`, "reason", "1 MiB"},
	{"/api/v1/codes/ABCDEFGHIJKL/block", true, `{"reason":["x"]}`, "reason", "1 MiB"},
	{"/api/v1/codes/ABCDEFGHIJKL/unblock", true, `{"reason":{}}`, "reason", "1 MiB"},
	{"/api/v1/alerts/1/ack", true, `{"note":1}`, "note", "1 MiB"},
	{"/api/v1/locks", false, `{"store":"s1","day":20250101}`, "day", "1 MiB"},
	{"/api/v1/enrollments", false, `{"store":"s1","terminal":true}`, "terminal", "1 MiB"},
	{"/api/v1/terminals/t1/revoke", true, ``, "", "1 MiB"},
	{"/api/v1/keys/rotate", true, ``, "", "1 MiB"},
	{"/api/v1/keys/k1/retire", true, ``, "", "1 MiB"},
}

func TestBadBodies(t *testing.T) {
	f := newFixture(t)
	f.seed()
	for _, rt := range bodyRoutes {
		type bad struct {
			name, body, contentType string
			status                  int
			code, msg               string
		}
		cases := []bad{
			{"malformed", `{"id":`, "application/json", 400, "malformed_json", "ends in the middle"},
			{"syntax", `{"id" "x"}`, "application/json", 400, "malformed_json", "not valid JSON at byte"},
			{"not an object", `[1,2]`, "application/json", 400, "wrong_type", "send a JSON object"},
			{"trailing", `{} {}`, "application/json", 400, "malformed_json", "data after the JSON object"},
			{"unknown field", `{"colour":"red"}`, "application/json", 400, "unknown_field", `unknown field "colour"`},
			{"text/plain", `{}`, "text/plain", 415, "unsupported_media_type", "Content-Type: application/json"},
			{"form", `a=b`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", "application/json"},
			{"latin1", `{}`, "application/json; charset=latin1", 415, "unsupported_media_type", "application/json"},
			{"too large", `{"x":"` + strings.Repeat("a", limitBytes(rt.limit)) + `"}`, "application/json", 413, "too_large", rt.limit},
		}
		if rt.wrongType != "" {
			cases = append(cases, bad{"wrong type", rt.wrongType, "application/json", 400, "wrong_type", `"` + rt.field + `"`})
		}
		if !rt.optional {
			cases = append(cases,
				bad{"empty", ``, "application/json", 400, "malformed_json", "body is empty"},
				bad{"no content type", `{}`, "", 415, "unsupported_media_type", "application/json"})
		} else {
			cases = append(cases, bad{"body without type", `{}`, "", 415, "unsupported_media_type", "application/json"})
		}
		for _, c := range cases {
			t.Run(rt.path+"/"+c.name, func(t *testing.T) {
				r := req{method: "POST", path: rt.path, body: c.body, header: map[string]string{"Content-Type": c.contentType}}
				code, _, b := f.do(r)
				if code != c.status {
					t.Fatalf("status %d, want %d: %.300s", code, c.status, b)
				}
				e := apiError(t, b)
				if e.Code != c.code || !strings.Contains(e.Message, c.msg) {
					t.Errorf("error %+v, want code %s saying %q", e, c.code, c.msg)
				}
			})
		}
	}
}

func limitBytes(limit string) int {
	if limit == "16 MiB" {
		return 16 << 20
	}
	return 1 << 20
}

func TestWrongTypeNamesField(t *testing.T) {
	f := newFixture(t)
	f.seed()
	cases := []struct {
		path, body, want string
	}{
		{"/api/v1/campaigns", `{"id":"c","name":"C","uses":1,"valid_from":"next tuesday"}`, `field "valid_from": want an RFC 3339 time`},
		{"/api/v1/campaigns", `{"id":"c","name":"C","uses":1,"valid_until":5}`, `field "valid_until": want an RFC 3339 time`},
		{"/api/v1/campaigns", `{"id":"c","name":"C","uses":1,"offline":{"allow":true,"max_age":"a while"}}`, `field "offline.max_age": want a duration`},
		{"/api/v1/campaigns", `{"id":"c","name":"C","uses":1,"offline":{"allow":"yes"}}`, `field "offline.allow": got a JSON string, want true or false`},
		{"/api/v1/campaigns", `{"id":"c","name":"C","uses":1,"offline":{"alow":true}}`, `unknown field "alow"`},
		{"/api/v1/campaigns", `{"id":"c","name":"C","uses":1.5}`, `field "uses": got a JSON number 1.5, want a whole number`},
		{"/api/v1/campaigns/coffee/codes", `{"count":1,"format":"signed","stores":"s1"}`, `field "stores": got a JSON string, want an array of strings`},
		{"/api/v1/campaigns/coffee/codes", `{"count":1,"format":"signed","valid_until":"2025-13-01"}`, `field "valid_until"`},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			code, _, b := f.do(req{method: "POST", path: c.path, body: c.body})
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", code, b)
			}
			if e := apiError(t, b); !strings.Contains(e.Message, c.want) {
				t.Errorf("message %q, want it to say %q", e.Message, c.want)
			}
		})
	}
}

func TestUnknownIDs(t *testing.T) {
	f := newFixture(t)
	f.seed()
	cases := []struct {
		method, path, body, msg string
	}{
		{"GET", "/api/v1/stores/nope", "", `no store "nope"`},
		{"GET", "/api/v1/campaigns/nope", "", `no campaign "nope"`},
		{"POST", "/api/v1/campaigns/nope/codes", `{"count":1,"format":"signed"}`, `no campaign "nope"`},
		{"POST", "/api/v1/campaigns/nope/codes", `{"count":5000,"format":"signed"}`, `no campaign "nope"`},
		{"POST", "/api/v1/campaigns/nope/codes/import", `{"codes":["12345678"]}`, `no campaign "nope"`},
		{"GET", "/api/v1/codes/ZZZZZZZZZZZZ", "", "no code matches"},
		{"GET", "/api/v1/codes/9999-8888-7777", "", "no code matches"},
		{"POST", "/api/v1/codes/ZZZZZZZZZZZZ/revoke", `{"reason":"x"}`, "no code ZZZZZZZZZZZZ"},
		{"POST", "/api/v1/codes/ZZZZZZZZZZZZ/block", "", "no code ZZZZZZZZZZZZ"},
		{"POST", "/api/v1/codes/ZZZZZZZZZZZZ/unblock", "", "no code ZZZZZZZZZZZZ"},
		{"POST", "/api/v1/alerts/999/ack", `{"note":"x"}`, "no alert 999"},
		{"POST", "/api/v1/alerts/abc/ack", "", `no alert "abc"`},
		{"POST", "/api/v1/terminals/nope/revoke", "", `no terminal "nope"`},
		{"POST", "/api/v1/keys/nope/retire", "", `no issuing key "nope"`},
		{"POST", "/api/v1/locks", `{"store":"nope","day":"2025-01-01"}`, `no store "nope"`},
		{"POST", "/api/v1/enrollments", `{"store":"nope","terminal":"t9"}`, `no store "nope"`},
		{"GET", "/api/v1/redemptions?store=nope", "", `no store "nope"`},
		{"GET", "/api/v1/redemptions?terminal=nope", "", `no terminal "nope"`},
		{"GET", "/api/v1/redemptions?code=HX1:AAAA", "", "malformed code: 2 bytes, too short for a signed code"},
		{"GET", "/api/v1/alerts?store=nope", "", `no store "nope"`},
		{"GET", "/api/v1/nope", "", "no route GET /api/v1/nope"},
		{"GET", "/api/v1/stores/s1/extra", "", "no route"},
		{"GET", "/nope", "", "no route GET /nope"},
	}
	for _, c := range cases {
		if c.msg == "" {
			t.Fatalf("suite bug: %s %s has no message to check", c.method, c.path)
		}
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			code, _, b := f.do(req{method: c.method, path: c.path, body: c.body})
			want := http.StatusNotFound
			if strings.Contains(c.path, "HX1:") {
				want = http.StatusBadRequest // a malformed code is bad input, not an unknown one
			}
			if code != want {
				t.Fatalf("status %d, want %d: %s", code, want, b)
			}
			if e := apiError(t, b); !strings.Contains(e.Message, c.msg) {
				t.Errorf("message %q, want it to say %q", e.Message, c.msg)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/stores", "GET, HEAD, POST"},
		{"PUT", "/api/v1/stores/s1", "GET, HEAD"},
		{"PATCH", "/api/v1/campaigns", "GET, HEAD, POST"},
		{"GET", "/api/v1/campaigns/c/codes", "POST"},
		{"GET", "/api/v1/campaigns/c/codes/import", "POST"},
		{"DELETE", "/api/v1/codes/ABC", "GET, HEAD"},
		{"GET", "/api/v1/codes/ABC/revoke", "POST"},
		{"POST", "/api/v1/redemptions", "GET, HEAD"},
		{"POST", "/api/v1/alerts", "GET, HEAD"},
		{"GET", "/api/v1/alerts/1/ack", "POST"},
		{"DELETE", "/api/v1/locks", "GET, HEAD, POST"},
		{"GET", "/api/v1/enrollments", "POST"},
		{"POST", "/api/v1/enrollments/qr.png", "GET, HEAD"},
		{"POST", "/api/v1/terminals", "GET, HEAD"},
		{"GET", "/api/v1/terminals/t1/revoke", "POST"},
		{"DELETE", "/api/v1/keys", "GET, HEAD"},
		{"GET", "/api/v1/keys/rotate", "POST"},
		{"POST", "/api/v1/stream", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
		{"POST", "/metrics", "GET, HEAD"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			code, h, b := f.do(req{method: c.method, path: c.path, body: "{}"})
			if code != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405: %s", code, b)
			}
			if got := h.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
			e := apiError(t, b)
			if e.Code != "method_not_allowed" || !strings.Contains(e.Message, "use "+c.allow) {
				t.Errorf("error %+v, want method_not_allowed naming %s", e, c.allow)
			}
		})
	}
}

func TestInternalErrorHidesDetail(t *testing.T) {
	f := newFixture(t)
	f.seed()
	f.store.failView.Store(true)
	for _, p := range []string{"/api/v1/terminals", "/api/v1/alerts", "/api/v1/redemptions", "/api/v1/codes/ABCDEFGHIJKL"} {
		code, _, b := f.do(req{method: "GET", path: p})
		if code != http.StatusInternalServerError {
			t.Fatalf("GET %s: status %d, want 500: %s", p, code, b)
		}
		e := apiError(t, b)
		if e.Code != "internal" || strings.Contains(string(b), "secret/path") || strings.Contains(string(b), "goroutine") {
			t.Errorf("GET %s: %s, want a generic internal error", p, b)
		}
	}
}
