package web

import (
	"testing"

	"github.com/hexiao/hexiao/hub"
)

// TestPrincipalSees: HQ roles see every store, a store manager theirs, and
// a principal with no role or an unknown one nothing.
func TestPrincipalSees(t *testing.T) {
	for _, c := range []struct {
		p      Principal
		s1, s2 bool
		all    bool
		writes bool
		scope  string
	}{
		{Principal{Role: hub.RoleAdmin}, true, true, true, true, ""},
		{Principal{Role: hub.RoleViewer}, true, true, true, false, ""},
		{Principal{Role: hub.RoleStoreManager, Store: "s1"}, true, false, false, false, "s1"},
		{Principal{Role: hub.RoleStoreManager}, false, false, false, false, ""},
		{Principal{}, false, false, false, false, ""},
		{Principal{Role: "owner"}, false, false, false, false, ""},
	} {
		if got := [4]bool{c.p.Sees("s1"), c.p.Sees("s2"), c.p.SeesAll(), c.p.Writes()}; got != [4]bool{c.s1, c.s2, c.all, c.writes} {
			t.Errorf("%+v: sees s1, s2, all, writes = %v, want %v", c.p, got, [4]bool{c.s1, c.s2, c.all, c.writes})
		}
		if got := c.p.Scope(); got != c.scope {
			t.Errorf("%+v: scope %q, want %q", c.p, got, c.scope)
		}
	}
}
