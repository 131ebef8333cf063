package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// Redemptions, alerts and settlement locks: reading the ledger back.

// checkQuery refuses a query string that does not parse, or that has a
// parameter not in allowed or one given twice, so a misspelt filter is an
// error rather than a silently wider answer. It answers the refusal itself
// and reports whether the handler may go on.
func (s *Server) checkQuery(w http.ResponseWriter, r *http.Request, allowed []string) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "invalid", "query string is malformed: "+err.Error())
		return false
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names) // the same answer every time
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			takes := "this route takes no query parameters"
			if len(allowed) > 0 {
				takes = "accepted: " + strings.Join(allowed, ", ")
			}
			s.fail(w, r, http.StatusBadRequest, "invalid",
				fmt.Sprintf("unknown query parameter %q; remove it or fix its spelling (%s)", k, takes))
			return false
		}
		if n := len(q[k]); n > 1 {
			s.fail(w, r, http.StatusBadRequest, "invalid", fmt.Sprintf("query parameter %q is given %d times; give it once", k, n))
			return false
		}
	}
	return true
}

// parseTime reads a time parameter: RFC 3339, or a date YYYY-MM-DD meaning
// midnight at the start of that day in loc; with end set a date means the
// midnight after it, so from=D&to=D selects the whole day D.
func parseTime(name, v string, loc *time.Location, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s=%q is not a date; use YYYY-MM-DD or RFC 3339 such as 2025-01-31T08:00:00+08:00", name, v)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// parseCount reads a non-negative whole-number parameter (0 when absent).
func parseCount(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number, 0 or more", name, v)
	}
	return n, nil
}

// listRedemptions streams the redemptions and voids a filter selects, in
// ingest order, as a JSON array or (format=csv) CSV with a header row.
// Dates in from and to are days in the store's time zone when store is
// given, in UTC otherwise. The status goes out with the first row; a
// failure after it aborts the connection, so a truncated answer never
// looks complete.
func (s *Server) listRedemptions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // checked by handle
	f := hub.EventFilter{Store: q.Get("store"), Terminal: q.Get("terminal")}
	var ok bool
	if f.Store, ok = s.scopeStore(w, r, f.Store); !ok { // a store manager: their store only
		return
	}
	loc := time.UTC
	if f.Store != "" {
		st, err := s.hub.StoreByID(f.Store)
		if err != nil {
			s.hubError(w, r, err)
			return
		}
		if l, err := time.LoadLocation(st.Timezone); err == nil {
			loc = l
		}
	}
	bad := func(err error) { s.fail(w, r, http.StatusBadRequest, "invalid", err.Error()) }
	var err error
	if f.From, err = parseTime("from", q.Get("from"), loc, false); err != nil {
		bad(err)
		return
	}
	if f.To, err = parseTime("to", q.Get("to"), loc, true); err != nil {
		bad(err)
		return
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		bad(fmt.Errorf("to=%s is not after from=%s", q.Get("to"), q.Get("from")))
		return
	}
	if f.AfterID, err = parseCount("after", q.Get("after")); err != nil {
		bad(err)
		return
	}
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		bad(fmt.Errorf("order=%q: want oldest (ingest order, the default) or newest", q.Get("order")))
		return
	}
	limit, err := parseCount("limit", q.Get("limit"))
	if err != nil {
		bad(err)
		return
	}
	f.Limit = int(min(limit, 1<<31-1))
	if k := q.Get("kind"); k != "" {
		for _, name := range strings.Split(k, ",") {
			kind := protocol.EventKind(strings.TrimSpace(name))
			if kind != protocol.KindRedemption && kind != protocol.KindVoid && kind != protocol.KindAttempt && kind != protocol.KindZReport {
				bad(fmt.Errorf("kind=%q: want redemption, void, attempt or z_report (comma-separated)", name))
				return
			}
			f.Kinds = append(f.Kinds, kind)
		}
	}
	if c := q.Get("code"); c != "" {
		var ok bool
		if f.Code, ok = s.codeID(w, r, c); !ok {
			return
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		bad(fmt.Errorf("format=%q: want json or csv", format))
		return
	}

	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // stallWriter's deadline must not outlive this request
	bw := bufio.NewWriterSize(stallWriter{w, rc}, 64<<10)
	var row func(hub.Redemption) error
	var finish func() error
	started := false
	if format == "csv" {
		cw := csv.NewWriter(bw)
		start := func() error {
			started = true
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="redemptions.csv"`)
			w.WriteHeader(http.StatusOK)
			return cw.Write(csvHeader)
		}
		row = func(x hub.Redemption) error {
			if !started {
				if err := start(); err != nil {
					return err
				}
			}
			return cw.Write(csvRow(x))
		}
		finish = func() error {
			if !started {
				if err := start(); err != nil {
					return err
				}
			}
			cw.Flush()
			return cw.Error()
		}
	} else {
		start := func() error {
			started = true
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, err := bw.WriteString("[")
			return err
		}
		row = func(x hub.Redemption) error {
			sep := ",\n"
			if !started {
				if err := start(); err != nil {
					return err
				}
				sep = "\n"
			}
			b, err := json.Marshal(x)
			if err != nil {
				return err
			}
			bw.WriteString(sep)
			_, err = bw.Write(b)
			return err
		}
		finish = func() error {
			if !started {
				if err := start(); err != nil {
					return err
				}
			}
			_, err := bw.WriteString("]\n")
			return err
		}
	}
	// The hub reads a page at a time and hands it over between its read
	// transactions: a slow client never holds the ledger open.
	err = s.hub.RedemptionPages(r.Context(), f, int(s.exportPage.Load()), func(page []hub.Redemption) error {
		for _, x := range page {
			if err := row(x); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		if err = finish(); err == nil {
			err = bw.Flush()
		}
	}
	if err != nil {
		if !started {
			s.hubError(w, r, err)
			return
		}
		s.log.Warn("redemptions export ended early", "err", err)
		panic(http.ErrAbortHandler) // the status is out: cut the stream
	}
}

// codeID resolves a code parameter (an id, HX1:/HXD: text or a card
// secret) to a code id. An id the ledger does not hold is kept as given:
// terminals may have redeemed codes the hub does not know.
func (s *Server) codeID(w http.ResponseWriter, r *http.Request, q string) (string, bool) {
	info, err := s.hub.LookupCode(r.Context(), q)
	if err == nil {
		return info.ID, true
	}
	if e := hub.AsError(err); e != nil && e.Kind == hub.NotFound {
		if id := strings.ToUpper(strings.TrimSpace(q)); protocol.ValidCodeID(id) == nil {
			return id, true
		}
	}
	s.hubError(w, r, err)
	return "", false
}

// csvHeader is the header row of the redemptions CSV export.
var csvHeader = []string{"terminal", "seq", "kind", "at", "received", "store", "cashier", "mode", "entry",
	"code", "campaign", "uses", "amount", "order_ref", "voids", "flags"}

// csvRow shows a redemption as a CSV row: times in RFC 3339 UTC, amounts in
// fen, voids as terminal:seq, flags separated by ';'.
func csvRow(x hub.Redemption) []string {
	voids := ""
	if x.Voids != nil {
		voids = x.Voids.String()
	}
	flags := make([]string, len(x.Flags))
	for i, f := range x.Flags {
		flags[i] = string(f)
	}
	return []string{x.Terminal, strconv.FormatUint(x.Seq, 10), string(x.Kind),
		x.At.UTC().Format(time.RFC3339Nano), x.Received.UTC().Format(time.RFC3339Nano), x.Store, x.Cashier,
		string(x.Mode), string(x.Entry), x.Code, x.Campaign, strconv.Itoa(x.Uses), strconv.FormatInt(x.Amount, 10),
		x.OrderRef, voids, strings.Join(flags, ";")}
}

// listAlerts returns the alerts a filter selects, newest first. since takes
// RFC 3339 or a date (midnight UTC); open=true keeps unacknowledged ones.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // checked by handle
	f := hub.AlertFilter{Kind: hub.AlertKind(q.Get("kind")), Store: q.Get("store")}
	var ok bool
	if f.Store, ok = s.scopeStore(w, r, f.Store); !ok { // a store manager: alerts naming their store
		return
	}
	bad := func(err error) { s.fail(w, r, http.StatusBadRequest, "invalid", err.Error()) }
	var err error
	if f.Since, err = parseTime("since", q.Get("since"), time.UTC, false); err != nil {
		bad(err)
		return
	}
	switch q.Get("open") {
	case "", "false":
	case "true":
		f.Open = true
	default:
		bad(fmt.Errorf("open=%q: want true or false", q.Get("open")))
		return
	}
	limit, err := parseCount("limit", q.Get("limit"))
	if err != nil {
		bad(err)
		return
	}
	f.Limit = int(min(limit, 1<<31-1))
	if f.Store != "" {
		if _, err := s.hub.StoreByID(f.Store); err != nil {
			s.hubError(w, r, err)
			return
		}
	}
	alerts, err := s.hub.Alerts(r.Context(), f)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	out := make([]hub.Alert, len(alerts))
	for i, a := range alerts {
		out[i] = alertView(a)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// alertView is an alert as the API shows it: its lists are [] when empty,
// never null (the ledger may read an empty list back as nil).
func alertView(a hub.Alert) hub.Alert {
	if a.Stores == nil {
		a.Stores = []string{}
	}
	if a.Terminals == nil {
		a.Terminals = []string{}
	}
	return a
}

// ackRequest is the body of POST /api/v1/alerts/{id}/ack; it may be left
// out.
type ackRequest struct {
	Note string `json:"note"`
}

func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request) {
	var req ackRequest
	if !s.readJSON(w, r, &req, maxBody, true) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, http.StatusNotFound, "not_found",
			fmt.Sprintf("no alert %q; alert ids are the numbers GET /api/v1/alerts shows", r.PathValue("id")))
		return
	}
	a, err := s.hub.AckAlert(r.Context(), id, principal(r).Name, req.Note)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, alertView(a))
}

// lockRequest is the body of POST /api/v1/locks.
type lockRequest struct {
	Store string `json:"store"`
	Day   string `json:"day"`
}

// lock settles a store's business day: 201 with the new lock, or 200 with
// the lock as it was first made when the day was locked before.
func (s *Server) lock(w http.ResponseWriter, r *http.Request) {
	var req lockRequest
	if !s.readJSON(w, r, &req, maxBody, false) {
		return
	}
	l, made, err := s.hub.LockDay(r.Context(), req.Store, req.Day)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	status := http.StatusOK
	if made {
		status = http.StatusCreated
	}
	s.writeJSON(w, r, status, l)
}
