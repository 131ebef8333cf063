package web

// reportRoutes registers the routes of reports.go.
func (s *Server) reportRoutes() {}
