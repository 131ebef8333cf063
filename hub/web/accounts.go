package web

// accountRoutes registers the routes of accounts.go.
func (s *Server) accountRoutes() {}
