package web

// dashboardRoutes registers the routes of dashboard.go.
func (s *Server) dashboardRoutes() {}
