package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/hexiao/hexiao/hub"
)

// Who may call what. Every route is public, self (anyone signed in or
// holding a token), read (every role; store managers are scoped by the
// handler) or admin; routeAccess decides from the pattern alone, so a
// route added later is admin when it changes something and read when it
// does not — never public by accident.

type access int

const (
	accessAdmin  access = iota // HQ admins only
	accessRead                 // every role: GET and HEAD
	accessSelf                 // every principal, about themselves
	accessPublic               // no credentials
)

func (a access) String() string {
	return [...]string{"admin", "read", "self", "public"}[a]
}

// publicRoutes answer without credentials.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /metrics": true,
	"POST /api/v1/enroll": true, "POST /api/v1/terminal/status": true,
	"GET /login": true, "POST /login": true,
	"GET /assets/{file...}": true,
}

// publicPaths are the paths of publicRoutes other than assets: any method
// on them goes without credentials, so a wrong one is a plain 405.
var publicPaths = map[string]bool{
	"/healthz": true, "/metrics": true, "/api/v1/enroll": true, "/api/v1/terminal/status": true, "/login": true,
}

// selfRoutes are what every signed-in person or token may do about
// themselves: sign out, read who they are, change their own password.
var selfRoutes = map[string]bool{
	"GET /api/v1/me": true, "POST /api/v1/me/password": true, "POST /logout": true,
}

// adminReads are reads only HQ admins may make: accounts, and the
// enrollment QR code (it carries a live enrollment token).
var adminReads = map[string]bool{
	"GET /api/v1/users": true, "GET /api/v1/tokens": true, "GET /api/v1/enrollments/qr.png": true,
}

// routeAccess is who may call the route registered as pattern.
func routeAccess(pattern string) access {
	switch {
	case publicRoutes[pattern]:
		return accessPublic
	case selfRoutes[pattern]:
		return accessSelf
	case adminReads[pattern]:
		return accessAdmin
	case strings.HasPrefix(pattern, "GET ") || strings.HasPrefix(pattern, "HEAD "):
		return accessRead
	}
	return accessAdmin
}

// isPublic reports whether r goes without credentials.
func isPublic(r *http.Request, pattern string) bool {
	return publicPaths[r.URL.Path] || (pattern != "" && routeAccess(pattern) == accessPublic)
}

// isAPI reports whether path answers JSON (401) rather than a page (303 to
// /login) when credentials are missing.
func isAPI(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/metrics"
}

// Cookie names: __Host- over TLS (the browser then insists on Secure,
// Path=/ and no Domain); a plain name on plain HTTP, which the hub serves
// only on loopback, where Chromium and Firefox treat http://127.0.0.1 and
// localhost as secure contexts and keep Secure cookies.
const (
	sessionCookieTLS   = "__Host-hexiao"
	sessionCookiePlain = "hexiao_session"
	csrfCookieTLS      = "__Host-hexiao-csrf"
	csrfCookiePlain    = "hexiao_csrf"
)

func sessionCookieName(r *http.Request) string {
	if r.TLS != nil {
		return sessionCookieTLS
	}
	return sessionCookiePlain
}

func csrfCookieName(r *http.Request) string {
	if r.TLS != nil {
		return csrfCookieTLS
	}
	return csrfCookiePlain
}

// cookieValue returns the value of the cookie name, or "".
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie sets a cookie the way every hub cookie is set: HttpOnly,
// Secure, SameSite=Lax, Path=/. maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// session is the dashboard session a request came with.
type session struct {
	token string // the cookie's value
	s     hub.Session
	u     hub.User
}

type sessionKey struct{}

// sessionOf returns r's session, if it came with one.
func sessionOf(r *http.Request) (session, bool) {
	s, ok := r.Context().Value(sessionKey{}).(session)
	return s, ok
}

// authenticate finds who made r: a bearer token (DATA/admin.token or a
// managed API token) or a session cookie. It answers itself and reports
// false when the request may not go on: 401 on /api/ paths, 303 to the
// sign-in page elsewhere.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		p, ok := s.bearer(w, r, h)
		if !ok {
			return r, false
		}
		if !p.Role.Valid() {
			s.fail(w, r, http.StatusForbidden, "forbidden", "this token's role is not one this hub knows; make a new token")
			return r, false
		}
		return withPrincipal(r, p), true
	}
	if tok := cookieValue(r, sessionCookieName(r)); tok != "" {
		sess, u, err := s.acct.Session(r.Context(), tok)
		switch {
		case err == nil && !u.Role.Valid():
			s.fail(w, r, http.StatusForbidden, "forbidden", "your account's role is not one this hub knows; ask an HQ admin to set it")
			return r, false
		case err == nil:
			p := Principal{Name: u.Name, Role: u.Role, Store: u.Store, Session: true}
			r = withPrincipal(r, p)
			return r.WithContext(context.WithValue(r.Context(), sessionKey{}, session{token: tok, s: sess, u: u})), true
		case errors.Is(err, hub.ErrNoSession):
			setCookie(w, sessionCookieName(r), "", -1) // stale: forget it
		default:
			s.internal(w, r, err)
			return r, false
		}
	}
	if !isAPI(r.URL.Path) {
		s.toLogin(w, r)
		return r, false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="hexiao"`)
	s.fail(w, r, http.StatusUnauthorized, "unauthorized",
		"missing Authorization header; send Authorization: Bearer TOKEN with the token from DATA/admin.token or an API token, or sign in at /login")
	return r, false
}

// bearer checks a bearer token: the admin token, compared in constant
// time, or a managed API token (hxt_…).
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, h string) (Principal, bool) {
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hexiao", error="invalid_request"`)
		s.fail(w, r, http.StatusUnauthorized, "unauthorized",
			"Authorization header is not a bearer token; send Authorization: Bearer TOKEN")
		return Principal{}, false
	}
	p, err := s.tokenPrincipal(r.Context(), tok)
	if err == nil {
		return p, true
	}
	if !errors.Is(err, hub.ErrBadToken) {
		s.internal(w, r, err)
		return Principal{}, false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="hexiao", error="invalid_token"`)
	s.fail(w, r, http.StatusUnauthorized, "unauthorized",
		"wrong bearer token; use the token in DATA/admin.token or a live API token (hxt_…)")
	return Principal{}, false
}

// stillStands reports whether the credential r came with still gives p.
// A long request (the event stream) asks now and then, so a revoked token,
// a session signed out, expired or ended by a change to its user, and a
// user disabled or given another role or store all end it. An error
// reading the ledger ends it too: the client connects again.
func (s *Server) stillStands(r *http.Request, p Principal) bool {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		_, tok, _ := strings.Cut(h, " ")
		q, err := s.tokenPrincipal(ctx, strings.TrimSpace(tok))
		return err == nil && q.Role == p.Role && q.Store == p.Store
	}
	tok := cookieValue(r, sessionCookieName(r))
	if tok == "" {
		return false
	}
	_, u, err := s.acct.Session(ctx, tok)
	return err == nil && u.Role == p.Role && u.Store == p.Store
}

// tokenPrincipal is who a bearer token stands for: the admin token
// (compared in constant time) or a live API token; hub.ErrBadToken when
// it is neither.
func (s *Server) tokenPrincipal(ctx context.Context, tok string) (Principal, error) {
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1 {
		return Principal{Name: "admin", Role: hub.RoleAdmin}, nil
	}
	t, err := s.acct.Token(ctx, tok) // ErrBadToken for anything not a live hxt_ token
	if err != nil {
		return Principal{}, err
	}
	return Principal{Name: t.ID, Role: t.Role, Store: t.Store}, nil
}

// toLogin sends a browser to the sign-in page, to come back to where it
// was.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Path
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(next)), http.StatusSeeOther)
}

// authorize checks that p may call pattern and, for a session's unsafe
// request, that it carries the session's CSRF token. It answers 403 itself
// and reports false when the request may not go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, pattern string) bool {
	p := principal(r)
	if pattern != "" && routeAccess(pattern) == accessAdmin && !p.Writes() {
		what := "this changes the hub"
		if adminReads[pattern] {
			what = "this is for HQ admins"
		}
		s.fail(w, r, http.StatusForbidden, "forbidden",
			fmt.Sprintf("%s and needs an HQ admin; %s is %s", what, p.Name, roleText(p)))
		return false
	}
	if !p.Session || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return true
	}
	sess, _ := sessionOf(r)
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && r.URL.Path == "/logout" {
		got = formValue(w, r, "csrf")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(sess.s.CSRF)) != 1 || got == "" {
		s.fail(w, r, http.StatusForbidden, "csrf",
			"missing or wrong X-CSRF-Token header: send the csrf_token GET /api/v1/me answers")
		return false
	}
	return true
}

// roleText says what p may see, for refusals.
func roleText(p Principal) string {
	if p.Role == hub.RoleStoreManager {
		return "the store manager of " + p.Store
	}
	if p.Role == "" {
		return "nobody"
	}
	return "a " + string(p.Role)
}

// maxForm bounds the sign-in and sign-out forms.
const maxForm = 8 << 10

// formValue reads one field of a url-encoded form body ("" when the body
// is not one or does not parse).
func formValue(w http.ResponseWriter, r *http.Request, name string) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return ""
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get(name)
}

// forbidStore answers 403 to a store manager asking for another store's
// data, naming the one they may see.
func (s *Server) forbidStore(w http.ResponseWriter, r *http.Request, what string) {
	p := principal(r)
	s.fail(w, r, http.StatusForbidden, "forbidden",
		fmt.Sprintf("%s belongs to another store; %s sees only store %s", what, p.Name, p.Store))
}

// scopeStore applies r's principal's scope to a store parameter: for a
// store manager "" becomes their store and another store is a 403; HQ
// roles keep what they asked for.
func (s *Server) scopeStore(w http.ResponseWriter, r *http.Request, store string) (string, bool) {
	p := principal(r)
	if p.SeesAll() {
		return store, true
	}
	if store == "" && p.Store != "" {
		return p.Store, true
	}
	if !p.Sees(store) {
		s.forbidStore(w, r, "store "+store)
		return "", false
	}
	return store, true
}
