package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// ndjsonAbove is the issuance size above which codes are streamed as
// NDJSON whatever the Accept header says.
const ndjsonAbove = 1000

// writeStall is how long one write to a client may block before the
// connection is given up: a stuck reader must not pin a handler.
const writeStall = 30 * time.Second

// issueCodes makes new signed or dynamic codes: a JSON object for up to
// 1000 codes, an NDJSON stream (one hub.IssuedCode a line, flushed as the
// hub commits them) above that or when the client accepts
// application/x-ndjson.
func (s *Server) issueCodes(w http.ResponseWriter, r *http.Request) {
	var req hub.IssueRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	campaign := r.PathValue("id")
	if req.Count > ndjsonAbove || accepts(r, "application/x-ndjson") {
		s.streamIssue(w, r, campaign, req)
		return
	}
	codes := make([]hub.IssuedCode, 0, max(0, min(req.Count, ndjsonAbove)))
	err := s.hub.Issue(r.Context(), campaign, req, func(c hub.IssuedCode) error {
		codes = append(codes, c)
		return nil
	})
	if err != nil {
		if len(codes) > 0 {
			s.log.Error("issuance failed part way", "campaign", campaign, "issued", len(codes), "err", err)
		}
		s.hubError(w, r, err)
		return
	}
	s.log.Info("codes issued", "campaign", campaign, "format", req.Format, "count", len(codes))
	s.writeJSON(w, r, http.StatusCreated, struct {
		Codes []hub.IssuedCode `json:"codes"`
	}{codes})
}

// streamIssue runs the issuance in a goroutine it owns and writes each code
// as the hub hands it over, flushing whenever it has caught up with the
// hub. Nothing but the codes in flight is held, so a million codes stream
// in constant memory. The status (201) goes out with the first code; an
// error before it is a normal error answer, an error after it is a last
// line {"error":{...}}.
func (s *Server) streamIssue(w http.ResponseWriter, r *http.Request, campaign string, req hub.IssueRequest) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch := make(chan hub.IssuedCode, 4096)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		errc <- s.hub.Issue(ctx, campaign, req, func(c hub.IssuedCode) error {
			select {
			case ch <- c:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // stallWriter's deadline must not outlive this request
	bw := bufio.NewWriterSize(stallWriter{w, rc}, 64<<10)
	enc := json.NewEncoder(bw)
	var werr error
	n := 0
	flush := func() {
		if werr == nil && n > 0 {
			if werr = bw.Flush(); werr == nil {
				rc.SetWriteDeadline(time.Now().Add(writeStall))
				werr = rc.Flush()
			}
			if werr != nil {
				cancel()
			}
		}
	}
	for {
		var c hub.IssuedCode
		var ok bool
		select {
		case c, ok = <-ch:
		default:
			flush() // caught up with the hub: send what there is
			c, ok = <-ch
		}
		if !ok {
			break
		}
		if werr != nil {
			continue // the client is gone: drain until the hub stops
		}
		if n == 0 {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusCreated)
		}
		n++
		if werr = enc.Encode(c); werr != nil {
			cancel()
		}
	}
	err := <-errc
	switch {
	case werr != nil:
		s.log.Warn("issuance stream: client went away", "campaign", campaign, "sent", n, "err", werr)
		return
	case err != nil && n == 0:
		s.hubError(w, r, err)
		return
	case err != nil:
		_, code, msg := errorFor(err)
		s.log.Error("issuance failed part way", "campaign", campaign, "issued", n, "err", err)
		enc.Encode(errorBody{Error: errorDetail{Code: code, Message: fmt.Sprintf("%s (%d codes were issued and sent above)", msg, n)}})
	default:
		s.log.Info("codes issued", "campaign", campaign, "format", req.Format, "count", n)
	}
	bw.Flush()
	rc.Flush()
}

// stallWriter gives every write to the client a deadline, so a reader that
// stops reading ends the stream instead of pinning it.
type stallWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s stallWriter) Write(p []byte) (int, error) {
	s.rc.SetWriteDeadline(time.Now().Add(writeStall))
	return s.w.Write(p)
}

// accepts reports whether r's Accept header names media type mt.
func accepts(r *http.Request, mt string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == mt {
			return true
		}
	}
	return false
}

// importRequest is the body of POST .../codes/import.
type importRequest struct {
	Codes    []string `json:"codes"`
	OrderRef string   `json:"order_ref"`
}

// importCodes registers card secrets bought from a supplier (201). The
// secrets are never logged or echoed: errors name them by index.
func (s *Server) importCodes(w http.ResponseWriter, r *http.Request) {
	var req importRequest
	if !s.readJSON(w, r, &req, maxImport, false) {
		return
	}
	campaign := r.PathValue("id")
	ids, err := s.hub.Import(r.Context(), campaign, req.Codes, req.OrderRef)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.log.Info("card secrets imported", "campaign", campaign, "count", len(ids))
	s.writeJSON(w, r, http.StatusCreated, struct {
		Imported int      `json:"imported"`
		IDs      []string `json:"ids"`
	}{len(ids), ids})
}

// lookupCode finds a code by id, HX1:/HXD: text or card secret.
func (s *Server) lookupCode(w http.ResponseWriter, r *http.Request) {
	info, err := s.hub.LookupCode(r.Context(), r.PathValue("code"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	p := principal(r)
	if p.SeesAll() {
		s.writeJSON(w, r, http.StatusOK, info)
		return
	}
	// A store manager sees their store's redemptions and voids, and how
	// many there are elsewhere, never where.
	v := scopedCodeInfo{CodeInfo: info}
	v.Redemptions = []hub.Redemption{}
	for _, x := range info.Redemptions {
		if p.Sees(x.Store) {
			v.Redemptions = append(v.Redemptions, x)
		} else {
			v.Elsewhere++
		}
	}
	if v.LastUse != nil && !p.Sees(v.LastUse.Store) {
		v.LastUse = nil
	}
	s.writeJSON(w, r, http.StatusOK, v)
}

// scopedCodeInfo is a code as a store manager sees it.
type scopedCodeInfo struct {
	hub.CodeInfo
	// Elsewhere counts the code's redemptions and voids at other stores,
	// which are left out.
	Elsewhere int `json:"redemptions_elsewhere"`
}

// statusRequest is the body of POST /api/v1/codes/{id}/revoke, /block and
// /unblock; it may be left out.
type statusRequest struct {
	Reason string `json:"reason"`
}

// setCodeStatus serves revoke, block or unblock with the hub method set.
func (s *Server) setCodeStatus(set func(ctx context.Context, id, reason string) (hub.CodeInfo, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req statusRequest
		if !s.readJSON(w, r, &req, maxBody, true) {
			return
		}
		info, err := set(r.Context(), r.PathValue("id"), req.Reason)
		if err != nil {
			s.hubError(w, r, err)
			return
		}
		s.writeJSON(w, r, http.StatusOK, info)
	}
}
