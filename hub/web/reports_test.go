package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// reportsFixture is a hub at 12:00 on 22 Nov 2026 in Shanghai with s1, s2
// and s3 (whose name a spreadsheet would read as a formula), three
// redemptions on the 22nd and one on the 21st, a void, and s1's 22nd
// locked.
func reportsFixture(t *testing.T) *fixture {
	f := newFixture(t)
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	f.now.Store(&now)
	f.seed()
	f.call("POST", "/api/v1/stores", `{"id":"s3","name":"=HYPERLINK(\"http://x\")","timezone":"Asia/Shanghai"}`, http.StatusCreated, nil)
	t1, t2 := f.terminal("t1", "s1"), f.terminal("t2", "s2")
	f.redeem(t1, "CODE-1", "coffee", now.Add(-24*time.Hour), "")
	f.redeem(t1, "CODE-2", "coffee", now, "")
	f.redeem(t2, "CODE-3", "coffee", now.Add(time.Hour), "")
	f.redeem(t2, "CODE-4", "tea", now.Add(time.Hour), "")
	f.call("POST", "/api/v1/locks", `{"store":"s1","day":"2026-11-22"}`, http.StatusCreated, nil)
	return f
}

func TestOverviewRoute(t *testing.T) {
	f := reportsFixture(t)
	var o hub.Overview
	f.call("GET", "/api/v1/overview", "", http.StatusOK, &o)
	if o.Totals.Redemptions != 3 || o.Totals.Value != 7500 || o.Totals.Offline != 3 || len(o.Stores) != 3 || len(o.Hours) != 24 {
		t.Errorf("overview of the chain: totals %+v, %d stores, %d hours; want 3 redemptions worth 7500 offline, 3 stores, 24 hours",
			o.Totals, len(o.Stores), len(o.Hours))
	}
	if o.Hours[12].Redemptions != 1 || o.Hours[13].Redemptions != 2 {
		t.Errorf("hours 12 and 13: %+v %+v, want 1 and 2 redemptions", o.Hours[12], o.Hours[13])
	}
	if len(o.Campaigns) != 2 || o.Campaigns[0].ID != "coffee" || o.Campaigns[0].Name != "Coffee" || o.Campaigns[0].Value != 5000 {
		t.Errorf("campaigns %+v, want coffee (5000) first, then tea", o.Campaigns)
	}
	if o.Terminals != 2 || o.TerminalsOffline != 2 || len(o.Offline) != 2 || o.Offline[0].ID != "s1" ||
		o.Offline[0].Terminals[0].ID != "t1" || !o.Offline[0].Terminals[0].LastSeen.IsZero() {
		t.Errorf("terminals %d, %d offline: %+v; want t1 and t2 offline, never seen", o.Terminals, o.TerminalsOffline, o.Offline)
	}
	f.call("GET", "/api/v1/overview?store=s1&day=2026-11-21", "", http.StatusOK, &o)
	if o.Store != "s1" || o.Day != "2026-11-21" || len(o.Stores) != 1 || o.Totals.Redemptions != 1 {
		t.Errorf("s1 on the 21st: %+v, want its one redemption", o)
	}
	// The JSON names the dashboard reads.
	_, _, b := f.do(req{method: "GET", path: "/api/v1/overview?store=s2"})
	for _, name := range []string{`"day":"2026-11-22"`, `"timezone":"Asia/Shanghai"`, `"terminals_offline":1`,
		`"offline_for":`, `"online":0`, `"campaigns":[{"id":"coffee","name":"Coffee","redemptions":1`} {
		if !strings.Contains(string(b), name) {
			t.Errorf("overview JSON lacks %s: %s", name, b)
		}
	}
	for _, c := range []struct {
		path, code string
		status     int
	}{
		{"/api/v1/overview?day=22-11-2026", "invalid", http.StatusBadRequest},
		{"/api/v1/overview?store=nope", "not_found", http.StatusNotFound},
		{"/api/v1/overview?from=2026-11-22", "invalid", http.StatusBadRequest},
	} {
		code, _, b := f.do(req{method: "GET", path: c.path})
		if e := apiError(t, b); code != c.status || e.Code != c.code {
			t.Errorf("GET %s: %d %+v, want %d %s", c.path, code, e, c.status, c.code)
		}
	}
}

func TestReportsRoute(t *testing.T) {
	f := reportsFixture(t)
	var rows []hub.ReportRow
	f.call("GET", "/api/v1/reports?from=2026-11-21&to=2026-11-22", "", http.StatusOK, &rows)
	want := []hub.ReportRow{
		{Day: "2026-11-21", Store: "s1", Campaign: "coffee", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
		{Day: "2026-11-22", Store: "s1", Campaign: "coffee", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}, Locked: true},
		{Day: "2026-11-22", Store: "s2", Campaign: "coffee", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
		{Day: "2026-11-22", Store: "s2", Campaign: "tea", Counts: hub.Counts{Redemptions: 1, Uses: 1, Value: 2500, Offline: 1}},
	}
	if mustJSON(rows) != mustJSON(want) {
		t.Errorf("report\n got %s\nwant %s", mustJSON(rows), mustJSON(want))
	}
	f.call("GET", "/api/v1/reports?from=2026-11-21&to=2026-11-22&store=s2&campaign=tea", "", http.StatusOK, &rows)
	if mustJSON(rows) != mustJSON(want[3:]) {
		t.Errorf("report of s2's tea: %s", mustJSON(rows))
	}
	f.call("GET", "/api/v1/reports?from=2026-11-23&to=2026-11-23", "", http.StatusOK, &rows)
	if rows == nil || len(rows) != 0 {
		t.Errorf("a day without events: %+v, want []", rows)
	}

	for _, c := range []struct{ path, code string }{
		{"/api/v1/reports", "invalid"},
		{"/api/v1/reports?from=2026-11-21", "invalid"},
		{"/api/v1/reports?from=2026-11-22&to=2026-11-21", "invalid"},
		{"/api/v1/reports?from=2025-01-01&to=2026-11-21", "invalid"},
		{"/api/v1/reports?from=2026-11-21&to=2026-11-22&format=xml", "invalid"},
		{"/api/v1/reports?from=2026-11-21&to=2026-11-22&campaign=a%20b", "invalid"},
		{"/api/v1/reports?from=2026-11-21&to=2026-11-22&store=nope", "not_found"},
	} {
		code, _, b := f.do(req{method: "GET", path: c.path})
		if e := apiError(t, b); e.Code != c.code || (code != http.StatusBadRequest && code != http.StatusNotFound) {
			t.Errorf("GET %s: %d %+v, want %s", c.path, code, e, c.code)
		}
	}
}

func TestReportsCSV(t *testing.T) {
	f := reportsFixture(t)
	// s3's formula-like name shows in a row of s3.
	t3 := f.terminal("t3", "s3")
	f.redeem(t3, "CODE-5", "coffee", time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC), "")
	code, h, b := f.do(req{method: "GET", path: "/api/v1/reports?from=2026-11-22&to=2026-11-22&format=csv"})
	if code != http.StatusOK || h.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.Contains(h.Get("Content-Disposition"), `filename="report-2026-11-22-2026-11-22.csv"`) {
		t.Fatalf("csv: %d %v", code, h)
	}
	body, ok := strings.CutPrefix(string(b), "\uFEFF")
	if !ok {
		t.Errorf("csv does not start with a UTF-8 BOM: %q", b[:min(len(b), 8)])
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv %q: %v", body, err)
	}
	want := [][]string{
		{"day", "store", "store_name", "campaign", "campaign_name", "redemptions", "voids", "uses", "value", "online", "offline", "locked"},
		{"2026-11-22", "s1", "Xuhui", "coffee", "Coffee", "1", "0", "1", "2500", "0", "1", "true"},
		{"2026-11-22", "s2", "Jing'an", "coffee", "Coffee", "1", "0", "1", "2500", "0", "1", "false"},
		{"2026-11-22", "s2", "Jing'an", "tea", "", "1", "0", "1", "2500", "0", "1", "false"},
		{"2026-11-22", "s3", `'=HYPERLINK("http://x")`, "coffee", "Coffee", "1", "0", "1", "2500", "0", "1", "false"},
	}
	if mustJSON(recs) != mustJSON(want) {
		t.Errorf("csv\n got %s\nwant %s", mustJSON(recs), mustJSON(want))
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "Xuhui": "Xuhui", "=1+1": "'=1+1", "+86": "'+86", "-2": "'-2",
		"@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx", "a=b": "a=b", "徐汇": "徐汇"} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLocksRoute(t *testing.T) {
	f := reportsFixture(t)
	f.call("POST", "/api/v1/locks", `{"store":"s2","day":"2026-11-20"}`, http.StatusCreated, nil)
	var locks []protocol.SettlementLock
	f.call("GET", "/api/v1/locks", "", http.StatusOK, &locks)
	if len(locks) != 2 || locks[0].Store != "s1" || locks[1].Store != "s2" {
		t.Errorf("every lock: %+v, want s1's then s2's", locks)
	}
	f.call("GET", "/api/v1/locks?from=2026-11-21&to=2026-11-30", "", http.StatusOK, &locks)
	if len(locks) != 1 || locks[0].Day != "2026-11-22" {
		t.Errorf("locks from the 21st: %+v, want s1's 22nd", locks)
	}
	_, _, b := f.do(req{method: "GET", path: "/api/v1/locks?store=s3"})
	if string(b) != "[]\n" {
		t.Errorf("locks of s3: %s, want []", b)
	}
	code, _, b := f.do(req{method: "GET", path: "/api/v1/locks?from=yesterday"})
	if e := apiError(t, b); code != http.StatusBadRequest || e.Code != "invalid" {
		t.Errorf("from=yesterday: %d %+v", code, e)
	}
}

// serveAs sends a GET through the server's routes as p, as the
// authentication in front of them would hand it on.
func serveAs(f *fixture, p Principal, path string) (int, []byte) {
	r := withPrincipal(httptest.NewRequest("GET", path, nil), p)
	w := httptest.NewRecorder()
	f.web.mux.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// A store manager sees their store only: without store= the answers are
// theirs, another store is 403; HQ viewers see every store.
func TestReportsScope(t *testing.T) {
	f := reportsFixture(t)
	mgr := Principal{Name: "li", Role: hub.RoleStoreManager, Store: "s1"}
	for _, path := range []string{"/api/v1/overview?store=s2", "/api/v1/reports?from=2026-11-22&to=2026-11-22&store=s2",
		"/api/v1/locks?store=s2"} {
		code, b := serveAs(f, mgr, path)
		e := apiError(t, b)
		if code != http.StatusForbidden || e.Code != "forbidden" || !strings.Contains(e.Message, "s1") {
			t.Errorf("store manager of s1, GET %s: %d %+v; want 403 forbidden naming s1", path, code, e)
		}
	}
	code, b := serveAs(f, mgr, "/api/v1/overview")
	var o hub.Overview
	if err := json.Unmarshal(b, &o); err != nil || code != http.StatusOK || o.Store != "s1" || len(o.Stores) != 1 || o.Totals.Redemptions != 1 {
		t.Errorf("store manager's overview: %d %s", code, b)
	}
	code, b = serveAs(f, mgr, "/api/v1/reports?from=2026-11-21&to=2026-11-22&format=csv")
	if code != http.StatusOK || strings.Contains(string(b), "s2") || strings.Count(string(b), "\n") != 3 {
		t.Errorf("store manager's report: %d %s; want the header and s1's two rows", code, b)
	}
	code, b = serveAs(f, mgr, "/api/v1/locks?store=s1")
	if code != http.StatusOK || !strings.Contains(string(b), `"store":"s1"`) {
		t.Errorf("store manager's locks: %d %s", code, b)
	}
	code, b = serveAs(f, Principal{Name: "nobody", Role: hub.RoleStoreManager}, "/api/v1/overview")
	if code != http.StatusForbidden {
		t.Errorf("store manager without a store: %d %s, want 403", code, b)
	}
	code, b = serveAs(f, Principal{Name: "hq", Role: hub.RoleViewer}, "/api/v1/reports?from=2026-11-22&to=2026-11-22&store=s2")
	if code != http.StatusOK || !strings.Contains(string(b), `"store":"s2"`) {
		t.Errorf("viewer's report of s2: %d %s", code, b)
	}
}
