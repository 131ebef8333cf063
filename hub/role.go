package hub

// Role is what a signed-in person or an API token may do. The list is
// closed.
type Role string

// The roles.
const (
	RoleAdmin        Role = "admin"         // HQ admin: everything
	RoleViewer       Role = "viewer"        // HQ viewer: reads everything, changes nothing
	RoleStoreManager Role = "store_manager" // a store's manager: reads that one store, changes nothing
)

// Roles returns every role.
func Roles() []Role { return []Role{RoleAdmin, RoleViewer, RoleStoreManager} }

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleViewer || r == RoleStoreManager
}
