package web

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// Enrolling terminals: the one-time token and its QR code (admin), and the
// exchange of the token for a terminal's credentials (the terminal).

// enrollmentRequest is the body of POST /api/v1/enrollments.
type enrollmentRequest struct {
	Store    string `json:"store"`
	Terminal string `json:"terminal"`
}

// enrollment is the answer to POST /api/v1/enrollments.
type enrollment struct {
	hub.EnrollmentToken
	Link     string `json:"link"` // the protocol.EnrollLink the QR code holds
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
	base, ok := s.hubURL(w, r) // before the token is made: a refusal spends none
	if !ok {
		return
	}
	tok, err := s.hub.CreateEnrollment(r.Context(), req.Store, req.Terminal)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("enrollment token created", "store", tok.Store, "terminal", tok.Terminal, "expires", tok.ExpiresAt)
	s.writeJSON(w, r, http.StatusCreated, enrollment{EnrollmentToken: tok,
		Link:     s.enrollLink(r, base, tok.Token).String(),
		QRPNGURL: qrPath + "?" + url.Values{"token": {tok.Token}}.Encode()})
}

// maxHost bounds the Host a link is built from, so that the link stays
// well inside what protocol.ParseEnrollLink reads (1024 bytes).
const maxHost = 255

// hubURL returns the hub's base URL as the caller reached it: https when
// the request came over TLS (the hub serves TLS off loopback), http
// otherwise, and the request's Host. A Host that cannot name the hub in an
// enrollment link is a 400.
func (s *Server) hubURL(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	// Checked as a plain-http link, which needs no CA: only the address is
	// in question here.
	err := protocol.EnrollLink{Hub: "http://" + r.Host, Token: "T"}.Validate()
	if err != nil || len(r.Host) > maxHost {
		s.fail(w, r, http.StatusBadRequest, "invalid",
			fmt.Sprintf("Host %.40q: the enrollment link names the hub by the address it was reached at; call it as HOST:PORT", r.Host))
		return "", false
	}
	return base, true
}

// enrollLink is what the enrollment QR code holds for token: the hub's
// base URL (hubURL), the token and, when the hub was reached over TLS, the
// fingerprint of the CA the terminal pins. A plain-HTTP hub is on loopback
// and needs none. Without Config.Enroll the hub knows no CA: an https link
// then lacks ca=, and a terminal refuses it.
func (s *Server) enrollLink(r *http.Request, base, token string) protocol.EnrollLink {
	l := protocol.EnrollLink{Hub: base, Token: token}
	if r.TLS != nil && s.enroll != nil {
		l.CA = s.enroll.CAFingerprint
	}
	return l
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

// enrollmentQR draws the enrollment link of the token given in the query
// as a QR code (PNG), for the counter's camera or a printed sheet; the link
// is built from this request as POST /api/v1/enrollments builds it. The
// token is not looked up: the hub holds only hashes, and the caller already
// has the token. So that it cannot be used to draw arbitrary text, the
// token must look like one (upper-case base32, as CreateEnrollment makes).
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
	base, ok := s.hubURL(w, r)
	if !ok {
		return
	}
	b, err := qrPNG(s.enrollLink(r, base, tok).String(), size)
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

// qrPalette: index 0 light, 1 dark; two colours make a 1-bit PNG.
var qrPalette = color.Palette{color.Gray{Y: 0xff}, color.Gray{}}

// qrPNG draws text as a QR code (gozxing's encoder, error correction level
// M) with a quiet zone of four modules, scaled by a whole number of pixels
// per module and centred in a size×size PNG (larger when size cannot hold
// one pixel per module).
func qrPNG(text string, size int) ([]byte, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_M,
		gozxing.EncodeHintType_MARGIN:           4,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size, hints)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewPaletted(image.Rect(0, 0, w, h), qrPalette)
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		for x := range w {
			if m.Get(x, y) {
				row[x] = 1
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return buf.Bytes(), nil
}
