package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/hexiao/hexiao/hub"
)

// The sign-in page: a small form of its own (no script), so that signing
// in works before, and without, the dashboard's app. Before a session
// exists its CSRF token is a double-submit cookie: GET /login sets a
// random token in a cookie and in the form, POST /login wants both equal.

// loginText is the page's words in one language.
type loginText struct {
	Lang, Title, Heading, Name, Password, Submit, Other, OtherLang      string
	BadSignIn, Locked, Disabled, Expired, BadForm, Internal, OtherLabel string
}

var loginTexts = map[string]loginText{
	"en": {Lang: "en", Title: "Sign in · Hexiao HQ", Heading: "Hexiao HQ", Name: "Name", Password: "Password",
		Submit: "Sign in", Other: "中文", OtherLang: "zh-CN", OtherLabel: "切换到中文",
		BadSignIn: "Wrong name or password.", Locked: "Too many wrong passwords. Try again after %s.",
		Disabled: "This account is disabled. Ask an HQ admin.", Expired: "The form had expired. Please sign in again.",
		BadForm: "The form could not be read: %s.", Internal: "The hub could not sign you in. Try again; the hub logged the detail."},
	"zh-CN": {Lang: "zh-CN", Title: "登录 · 核销总部", Heading: "核销总部", Name: "用户名", Password: "密码",
		Submit: "登录", Other: "English", OtherLang: "en", OtherLabel: "Switch to English",
		BadSignIn: "用户名或密码错误。", Locked: "密码错误次数过多，请在 %s 之后再试。",
		Disabled: "此账户已停用，请联系总部管理员。", Expired: "表单已过期，请重新登录。",
		BadForm: "无法读取表单：%s。", Internal: "登录失败，请重试（详情已记录在总部服务日志中）。"},
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="{{.T.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}}</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body class="login-page">
<main class="login">
<h1>{{.T.Heading}}</h1>
{{if .Message}}<p class="login-message{{if .Error}} error{{end}}" role="{{if .Error}}alert{{else}}status{{end}}">{{.Message}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<p><label for="name">{{.T.Name}}</label><br>
<input id="name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="{{.Name}}"{{if not .Name}} autofocus{{end}}></p>
<p><label for="password">{{.T.Password}}</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Name}} autofocus{{end}}></p>
<p><button type="submit">{{.T.Submit}}</button></p>
</form>
<p class="login-lang"><a href="/login?lang={{.T.OtherLang}}&amp;next={{.Next}}" lang="{{.T.OtherLang}}" title="{{.T.OtherLabel}}">{{.T.Other}}</a></p>
</main>
</body>
</html>
`))

type loginView struct {
	T       loginText
	CSRF    string
	Next    string
	Name    string
	Message string
	Error   bool
}

// loginLang picks the page's language: lang= when given, else the first
// of Accept-Language's languages the page has, else English.
func loginLang(r *http.Request) loginText {
	if t, ok := loginTexts[r.URL.Query().Get("lang")]; ok {
		return t
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		switch primary {
		case "zh":
			return loginTexts["zh-CN"]
		case "en":
			return loginTexts["en"]
		}
	}
	return loginTexts["en"]
}

// safeNext returns next when it is a path on this site to go to after
// signing in, and "/" otherwise: never another site (//host, /\host,
// https:…), never the sign-in page itself, nothing with control
// characters (browsers drop tabs and line breaks, which would turn
// "/\t/host" into "//host").
func safeNext(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		u.Path == "/login" || u.Path == "/logout" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// newFormToken returns a double-submit token: 32 random bytes, base64url.
func newFormToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// renderLogin sends the sign-in page with status, setting a form token
// cookie when the request has none.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	csrf := cookieValue(r, csrfCookieName(r))
	if !hub.ValidToken(csrf) {
		csrf = newFormToken()
	}
	setCookie(w, csrfCookieName(r), csrf, 2*3600)
	v.CSRF = csrf
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := loginPage.Execute(w, v); err != nil {
		s.log.Warn("login page", "err", err)
	}
}

// loginForm serves GET /login: the form, or straight on to next for a
// browser already signed in.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if tok := cookieValue(r, sessionCookieName(r)); tok != "" {
		if _, _, err := s.acct.Session(r.Context(), tok); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	s.renderLogin(w, r, http.StatusOK, loginView{T: loginLang(r), Next: next})
}

// signInForm is what POST /login reads.
type signInForm struct {
	Name, Password, CSRF, Next string
}

// parseSignInForm reads the url-encoded sign-in form: name, password,
// csrf and next, each at most once, nothing else.
func parseSignInForm(body string) (signInForm, error) {
	vals, err := url.ParseQuery(body)
	if err != nil {
		return signInForm{}, errors.New("the form does not parse")
	}
	var f signInForm
	fields := map[string]*string{"name": &f.Name, "password": &f.Password, "csrf": &f.CSRF, "next": &f.Next}
	for k, v := range vals {
		dst, ok := fields[k]
		if !ok {
			return signInForm{}, fmt.Errorf("unexpected field %.20q", k)
		}
		if len(v) != 1 {
			return signInForm{}, fmt.Errorf("field %s given %d times", k, len(v))
		}
		*dst = v[0]
	}
	switch {
	case f.Name == "" || f.Password == "":
		return signInForm{}, errors.New("give a name and a password")
	case len(f.Name) > 64:
		return signInForm{}, errors.New("the name is longer than 64 bytes")
	case len(f.Password) > hub.MaxPassword:
		return signInForm{}, fmt.Errorf("the password is longer than %d bytes", hub.MaxPassword)
	}
	return f, nil
}

// signIn serves POST /login.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	t := loginLang(r)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		s.renderLogin(w, r, http.StatusUnsupportedMediaType, loginView{T: t, Next: "/", Error: true,
			Message: fmt.Sprintf(t.BadForm, "Content-Type must be application/x-www-form-urlencoded")})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForm))
	if err != nil {
		s.renderLogin(w, r, http.StatusRequestEntityTooLarge, loginView{T: t, Next: "/", Error: true,
			Message: fmt.Sprintf(t.BadForm, "larger than "+sizeText(maxForm))})
		return
	}
	f, err := parseSignInForm(string(body))
	if err != nil {
		s.renderLogin(w, r, http.StatusBadRequest, loginView{T: t, Next: "/", Error: true, Message: fmt.Sprintf(t.BadForm, err)})
		return
	}
	next := safeNext(f.Next)
	v := loginView{T: t, Next: next, Name: f.Name, Error: true}
	cookie := cookieValue(r, csrfCookieName(r))
	if !hub.ValidToken(cookie) || subtle.ConstantTimeCompare([]byte(cookie), []byte(f.CSRF)) != 1 {
		setCookie(w, csrfCookieName(r), "", -1)
		r.Header.Del("Cookie") // render with a new token
		v.Message = t.Expired
		s.renderLogin(w, r, http.StatusForbidden, v)
		return
	}
	tok, _, u, err := s.acct.SignIn(r.Context(), f.Name, f.Password)
	var locked *hub.LockedError
	switch {
	case err == nil:
	case errors.Is(err, hub.ErrBadSignIn):
		v.Message = t.BadSignIn
		s.renderLogin(w, r, http.StatusUnauthorized, v)
		return
	case errors.As(err, &locked):
		v.Message = fmt.Sprintf(t.Locked, locked.Until.UTC().Format("15:04:05 UTC"))
		s.renderLogin(w, r, http.StatusTooManyRequests, v)
		return
	case errors.Is(err, hub.ErrDisabled):
		v.Message = t.Disabled
		s.renderLogin(w, r, http.StatusForbidden, v)
		return
	case r.Context().Err() != nil:
		return // the browser went away
	default:
		s.log.Error("sign in", "err", err)
		v.Message = t.Internal
		s.renderLogin(w, r, http.StatusInternalServerError, v)
		return
	}
	s.log.Info("signed in", "user", u.Name, "role", u.Role)
	setCookie(w, sessionCookieName(r), tok, int(s.acct.Config().MaxAge.Seconds()))
	setCookie(w, csrfCookieName(r), "", -1)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut serves POST /logout (its CSRF token, in the form's csrf field
// or X-CSRF-Token, was checked by authorize): the session ends and the
// browser goes to the sign-in page.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	sess, ok := sessionOf(r)
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "invalid", "only a dashboard session signs out; an API token is revoked with POST /api/v1/tokens/{id}/revoke")
		return
	}
	if err := s.acct.SignOut(r.Context(), sess.token); err != nil {
		s.internal(w, r, err)
		return
	}
	setCookie(w, sessionCookieName(r), "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
