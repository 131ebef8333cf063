package web

import (
	"net/http"

	"github.com/hexiao/hexiao/hub"
)

// terminalStatusRequest is the body of POST /api/v1/terminal/status: a
// terminal's id and its MQTT password, which is the credential.
type terminalStatusRequest struct {
	Terminal string `json:"terminal"`
	Password string `json:"password"`
}

// terminalStatus answers a terminal the broker refused: is it revoked? It
// needs no admin token; a wrong password and an unknown terminal both get
// 404.
func (s *Server) terminalStatus(w http.ResponseWriter, r *http.Request) {
	var req terminalStatusRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	st, err := s.hub.TerminalStatus(r.Context(), req.Terminal, []byte(req.Password))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		Terminal string             `json:"terminal"`
		Status   hub.TerminalStatus `json:"status"`
	}{req.Terminal, st})
}
