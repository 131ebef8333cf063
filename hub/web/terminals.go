package web

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hexiao/hexiao/hub"
)

// Terminals and their enrollment.

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request) {
	ts, err := s.hub.Terminals(r.Context())
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	if ts == nil {
		ts = []hub.TerminalInfo{}
	}
	s.writeJSON(w, r, http.StatusOK, ts)
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

// enrollmentRequest is the body of POST /api/v1/enrollments.
type enrollmentRequest struct {
	Store    string `json:"store"`
	Terminal string `json:"terminal"`
}

// enrollment is the answer to POST /api/v1/enrollments.
type enrollment struct {
	hub.EnrollmentToken
	QRPNGURL string `json:"qr_png_url"`
}

// qrPath is where the QR image of an enrollment token is served.
const qrPath = "/api/v1/enrollments/qr.png"

// createEnrollment makes a one-time token for a new terminal (201). The
// answer is the only place the token appears: the hub keeps its hash.
func (s *Server) createEnrollment(w http.ResponseWriter, r *http.Request) {
	var req enrollmentRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	tok, err := s.hub.CreateEnrollment(r.Context(), req.Store, req.Terminal)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("enrollment token created", "store", tok.Store, "terminal", tok.Terminal, "expires", tok.ExpiresAt)
	s.writeJSON(w, r, http.StatusCreated, enrollment{EnrollmentToken: tok,
		QRPNGURL: qrPath + "?" + url.Values{"token": {tok.Token}}.Encode()})
}

// enrollRequest is a new terminal's: its one-time token and its own
// event-signing public key (base64).
type enrollRequest struct {
	Token     string `json:"token"`
	PublicKey []byte `json:"public_key"`
}

// enrolled is the answer: hub.Enrolled, where MQTT is and the CA to trust.
type enrolled struct {
	hub.Enrolled
	MQTTURL       string `json:"mqtt_url,omitempty"`
	CACert        string `json:"ca_cert,omitempty"`
	CAFingerprint string `json:"ca_fingerprint,omitempty"`
}

// enrollTerminal is the one route a terminal calls without the admin
// token: the enrollment token in the body is its credential, good once.
func (s *Server) enrollTerminal(w http.ResponseWriter, r *http.Request) {
	var req enrollRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	got, err := s.hub.Enroll(r.Context(), req.Token, req.PublicKey)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	out := enrolled{Enrolled: got}
	if e := s.enroll; e != nil {
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		scheme := "mqtt"
		if e.MQTTTLS {
			scheme = "mqtts"
		}
		out.MQTTURL = fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, strconv.Itoa(e.MQTTPort)))
		if e.MQTTURL != "" {
			out.MQTTURL = e.MQTTURL
		}
		out.CACert, out.CAFingerprint = string(e.CAPEM), e.CAFingerprint
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// QR image sizes in pixels.
const (
	qrDefault = 320
	qrMin     = 64
	qrMax     = 2048
)

// enrollmentQR draws the token given in the query as a QR code (PNG), for
// the counter's camera or a printed sheet. It does not look the token up:
// the hub holds only hashes, and the caller already has the token. So that
// it cannot be used to draw arbitrary text, the token must look like one
// (upper-case base32, as CreateEnrollment makes).
func (s *Server) enrollmentQR(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // checked by handle
	tok := q.Get("token")
	if !validToken(tok) {
		s.fail(w, r, http.StatusBadRequest, "invalid",
			"token: give the enrollment token POST /api/v1/enrollments returned (32 characters of A-Z and 2-7)")
		return
	}
	size := qrDefault
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < qrMin || n > qrMax {
			s.fail(w, r, http.StatusBadRequest, "invalid", fmt.Sprintf("size=%q: want pixels from %d to %d", v, qrMin, qrMax))
			return
		}
		size = n
	}
	b, err := qrPNG(tok, size)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// validToken reports whether tok has the shape of an enrollment token.
func validToken(tok string) bool {
	if len(tok) != 32 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
