package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// Accounts: signing in and out, who am I, users and API tokens. Who may
// call each route is in auth.go.

// accountRoutes registers the routes of accounts.go and login.go.
func (s *Server) accountRoutes() {
	s.handle("GET /login", s.loginForm, "next", "lang")
	s.handle("POST /login", s.signIn, "lang")
	s.handle("POST /logout", s.signOut)
	s.handle("GET /api/v1/me", s.me)
	s.handle("POST /api/v1/me/password", s.changePassword)
	s.handle("GET /api/v1/users", s.listUsers)
	s.handle("POST /api/v1/users", s.addUser)
	s.handle("POST /api/v1/users/{name}", s.updateUser)
	s.handle("GET /api/v1/tokens", s.listTokens)
	s.handle("POST /api/v1/tokens", s.createToken)
	s.handle("POST /api/v1/tokens/{id}/revoke", s.revokeToken)
}

// meView is GET /api/v1/me.
type meView struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Role        hub.Role `json:"role"`
	Store       string   `json:"store,omitempty"`
	CSRFToken   string   `json:"csrf_token,omitempty"` // sessions only: X-CSRF-Token of unsafe requests
	Via         string   `json:"via"`                  // "session" or "token"
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	v := meView{Name: p.Name, DisplayName: p.Name, Role: p.Role, Store: p.Store, Via: "token"}
	if sess, ok := sessionOf(r); ok {
		v.DisplayName, v.CSRFToken, v.Via = sess.u.DisplayName, sess.s.CSRF, "session"
	} else if p.Name == "admin" && p.Role == hub.RoleAdmin {
		v.DisplayName = "admin (DATA/admin.token)"
	} else if t, err := s.acct.Tokens(r.Context()); err == nil {
		for _, x := range t {
			if x.ID == p.Name {
				v.DisplayName = x.Name
			}
		}
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

// passwordRequest is POST /api/v1/me/password.
type passwordRequest struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// changePassword changes the signed-in user's own password; their other
// sessions end, this one stays.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var req passwordRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	sess, ok := sessionOf(r)
	if !ok {
		s.fail(w, r, http.StatusForbidden, "forbidden", "an API token has no password; sign in to the dashboard to change yours")
		return
	}
	err := s.acct.ChangePassword(r.Context(), sess.u.Name, req.Old, req.New, sess.token)
	var locked *hub.LockedError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, hub.ErrBadSignIn):
		s.fail(w, r, http.StatusForbidden, "wrong_password", "old: wrong password")
	case errors.As(err, &locked):
		s.fail(w, r, http.StatusTooManyRequests, "locked", locked.Error())
	default:
		s.hubError(w, r, err)
	}
}

// userView is a user as the API shows it: never the password hash.
type userView struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Role        hub.Role  `json:"role"`
	Store       string    `json:"store,omitempty"`
	Disabled    bool      `json:"disabled"`
	Created     time.Time `json:"created"`
	LastSignIn  time.Time `json:"last_sign_in,omitzero"`
	// SessionsEnded is how many sessions a change ended (POST
	// /api/v1/users/{name} only).
	SessionsEnded *int `json:"sessions_ended,omitempty"`
}

func viewUser(u hub.User) userView {
	return userView{Name: u.Name, DisplayName: u.DisplayName, Role: u.Role, Store: u.Store, Disabled: u.Disabled,
		Created: u.Created, LastSignIn: u.LastSignIn}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.acct.Users(r.Context())
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	out := make([]userView, len(us))
	for i, u := range us {
		out[i] = viewUser(u)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// newUserRequest is POST /api/v1/users.
type newUserRequest struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Role        hub.Role `json:"role"`
	Store       string   `json:"store"`
	Password    string   `json:"password"`
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	var req newUserRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	u, err := s.acct.AddUser(r.Context(), hub.NewUser{Name: req.Name, DisplayName: req.DisplayName, Role: req.Role,
		Store: req.Store, Password: req.Password})
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("user added", "user", u.Name, "role", u.Role, "by", principal(r).Name)
	s.writeJSON(w, r, http.StatusCreated, viewUser(u))
}

// userChangeRequest is POST /api/v1/users/{name}: fields left out stay as
// they are; password is a reset.
type userChangeRequest struct {
	DisplayName *string   `json:"display_name"`
	Role        *hub.Role `json:"role"`
	Store       *string   `json:"store"`
	Disabled    *bool     `json:"disabled"`
	Password    *string   `json:"password"`
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	var req userChangeRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	name := r.PathValue("name")
	u, ended, err := s.acct.UpdateUser(r.Context(), name, hub.UserChange{DisplayName: req.DisplayName, Role: req.Role,
		Store: req.Store, Disabled: req.Disabled, Password: req.Password})
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("user changed", "user", u.Name, "role", u.Role, "disabled", u.Disabled, "sessions_ended", ended,
		"by", principal(r).Name)
	v := viewUser(u)
	v.SessionsEnded = &ended
	s.writeJSON(w, r, http.StatusOK, v)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.acct.Tokens(r.Context())
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	if ts == nil {
		ts = []hub.APIToken{}
	}
	s.writeJSON(w, r, http.StatusOK, ts)
}

// newTokenRequest is POST /api/v1/tokens.
type newTokenRequest struct {
	Name  string   `json:"name"`
	Role  hub.Role `json:"role"`
	Store string   `json:"store"`
}

// newTokenView is the answer to POST /api/v1/tokens: the only time the
// secret is shown.
type newTokenView struct {
	Token  hub.APIToken `json:"token"`
	Secret string       `json:"secret"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req newTokenRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	secret, t, err := s.acct.CreateToken(r.Context(), hub.NewAPIToken{Name: req.Name, Role: req.Role, Store: req.Store,
		CreatedBy: principal(r).Name})
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("api token created", "token", t.ID, "role", t.Role, "by", t.CreatedBy)
	s.writeJSON(w, r, http.StatusCreated, newTokenView{Token: t, Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if !s.readJSON(w, r, &struct{}{}, maxBody, true) {
		return
	}
	t, err := s.acct.RevokeToken(r.Context(), r.PathValue("id"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("api token revoked", "token", t.ID, "by", principal(r).Name)
	s.writeJSON(w, r, http.StatusOK, t)
}
