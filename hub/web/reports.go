package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hexiao/hexiao/hub"
)

// The dashboard's overview, the day × store × campaign reports and the
// settlement locks they mark, each scoped by the caller's role.

// reportRoutes registers the routes of reports.go.
func (s *Server) reportRoutes() {
	s.handle("GET /api/v1/overview", s.overview, "day", "store")
	s.handle("GET /api/v1/reports", s.report, "from", "to", "store", "campaign", "format")
	s.handle("GET /api/v1/locks", s.listLocks, "store", "from", "to")
}

// overview answers GET /api/v1/overview: hub.Overview of day (default:
// each store's today) for store (default: every store the caller sees).
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // checked by handle
	store, ok := s.scopeStore(w, r, q.Get("store"))
	if !ok {
		return
	}
	o, err := s.hub.Overview(r.Context(), store, q.Get("day"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, o)
}

// report answers GET /api/v1/reports: hub.Report's rows as JSON, or CSV
// with format=csv.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // checked by handle
	store, ok := s.scopeStore(w, r, q.Get("store"))
	if !ok {
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		s.fail(w, r, http.StatusBadRequest, "invalid", fmt.Sprintf("format=%q: want json or csv", format))
		return
	}
	f := hub.ReportFilter{From: q.Get("from"), To: q.Get("to"), Store: store, Campaign: q.Get("campaign")}
	rows, err := s.hub.Report(r.Context(), f)
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	if format != "csv" {
		s.writeJSON(w, r, http.StatusOK, rows)
		return
	}
	var b strings.Builder
	b.WriteString("\uFEFF") // a BOM: spreadsheets then read the names as UTF-8
	cw := csv.NewWriter(&b)
	cw.Write(reportHeader)
	for _, x := range rows {
		cw.Write(s.reportRow(x))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.internal(w, r, fmt.Errorf("report csv: %w", err))
		return
	}
	name := "report-" + f.From + "-" + f.To + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(b.String()))
}

// reportHeader is the header row of the report CSV.
var reportHeader = []string{"day", "store", "store_name", "campaign", "campaign_name", "redemptions", "voids",
	"uses", "value", "online", "offline", "locked"}

// reportRow shows a report row as CSV: counts as integers, value in fen,
// names as HQ entered them but never as a formula.
func (s *Server) reportRow(x hub.ReportRow) []string {
	var storeName, campName string
	if st, err := s.hub.StoreByID(x.Store); err == nil {
		storeName = st.Name
	}
	if c, err := s.hub.CampaignByID(x.Campaign); err == nil {
		campName = c.Name
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{x.Day, cell(x.Store), cell(storeName), cell(x.Campaign), cell(campName), n(x.Redemptions),
		n(x.Voids), n(x.Uses), n(x.Value), n(x.Online), n(x.Offline), strconv.FormatBool(x.Locked)}
}

// cell keeps a text cell from being read as a formula by a spreadsheet: one
// starting with = + - @, a tab or a carriage return gets a leading '.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// listLocks answers GET /api/v1/locks: the settlement locks of store
// (default: every store the caller sees) from and to days, inclusive.
func (s *Server) listLocks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query() // checked by handle
	store, ok := s.scopeStore(w, r, q.Get("store"))
	if !ok {
		return
	}
	locks, err := s.hub.Locks(r.Context(), store, q.Get("from"), q.Get("to"))
	if err != nil {
		s.hubError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, locks)
}
