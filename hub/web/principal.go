package web

import (
	"context"
	"net/http"

	"github.com/hexiao/hexiao/hub"
)

// Principal is who made a request: a person signed in to the dashboard
// (a session cookie) or the holder of an API token.
type Principal struct {
	Name  string   // the user's or the token's name; "admin" for DATA/admin.token
	Role  hub.Role // what they may do
	Store string   // hub.RoleStoreManager: the one store they see
	// Session is true for a dashboard session (a cookie): its unsafe
	// requests must carry the session's CSRF token.
	Session bool
}

// Writes reports whether p may change anything (only HQ admins may).
func (p Principal) Writes() bool { return p.Role == hub.RoleAdmin }

// Sees reports whether p may see what belongs to store: HQ roles see every
// store, a store manager only theirs.
func (p Principal) Sees(store string) bool {
	switch p.Role {
	case hub.RoleAdmin, hub.RoleViewer:
		return true
	case hub.RoleStoreManager:
		return p.Store != "" && p.Store == store
	}
	return false // no role, or one this build does not know: nothing
}

// SeesAll reports whether p sees every store (the HQ roles).
func (p Principal) SeesAll() bool { return p.Role == hub.RoleAdmin || p.Role == hub.RoleViewer }

// Scope is the one store p is limited to, or "" for every store.
func (p Principal) Scope() string {
	if p.Role == hub.RoleStoreManager {
		return p.Store
	}
	return ""
}

type principalKey struct{}

// withPrincipal returns r carrying p.
func withPrincipal(r *http.Request, p Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// principal returns who made r. Every authenticated route has one; a
// public route gets a principal with no role, which sees nothing.
func principal(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}
