package web

import (
	"net/http"

	"github.com/hexiao/hexiao/hub"
)

// Terminals (their enrollment is in enrollment.go).

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request) {
	ts, err := s.hub.Terminals(r.Context())
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	p := principal(r)
	out := []hub.TerminalInfo{} // a store manager's: their store's
	for _, t := range ts {
		if p.Sees(t.Store) {
			out = append(out, t)
		}
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func (s *Server) revokeTerminal(w http.ResponseWriter, r *http.Request) {
	if !s.readJSON(w, r, &struct{}{}, maxBody, true) {
		return
	}
	t, err := s.hub.RevokeTerminal(r.Context(), r.PathValue("id"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, t)
}
