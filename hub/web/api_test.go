package web

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// issued is the JSON answer of a small issuance.
type issued struct {
	Codes []hub.IssuedCode `json:"codes"`
}

func (f *fixture) keyRing() *protocol.KeyRing {
	f.tb.Helper()
	var keys []protocol.IssuingKey
	f.call("GET", "/api/v1/keys", "", http.StatusOK, &keys)
	ring, err := protocol.NewKeyRing(keys...)
	if err != nil {
		f.tb.Fatal(err)
	}
	return ring
}

func TestCatalog(t *testing.T) {
	f := newFixture(t)
	f.seed()

	var st protocol.Store
	f.call("POST", "/api/v1/stores", `{"id":"s1","name":"Xuhui 2","region":"sh","timezone":"Asia/Shanghai"}`, http.StatusOK, &st)
	if st.Name != "Xuhui 2" {
		t.Errorf("updated store %+v, want the new name", st)
	}
	var stores []protocol.Store
	f.call("GET", "/api/v1/stores", "", http.StatusOK, &stores)
	if len(stores) != 2 || stores[0].ID != "s1" || stores[1].ID != "s2" {
		t.Errorf("stores %+v, want s1 and s2", stores)
	}
	f.call("GET", "/api/v1/stores/s2", "", http.StatusOK, &st)
	if st.ID != "s2" || st.Timezone != "Asia/Shanghai" {
		t.Errorf("store %+v, want s2", st)
	}
	code, _, b := f.do(req{method: "POST", path: "/api/v1/stores", body: `{"id":"s3","name":"X","timezone":"Mars/Olympus"}`})
	if e := apiError(t, b); code != 400 || !strings.Contains(e.Message, "time zone") {
		t.Errorf("bad time zone: %d %s, want 400 about the time zone", code, b)
	}

	var c protocol.Campaign
	f.call("POST", "/api/v1/campaigns", `{"id":"coffee","name":"Coffee 2","face_value":2600,"uses":1,"hours":["08:00-22:00"],
		"stores":["s1"],"min_interval":"1h","undo_window":900,"confirm":true,"offline":{"allow":true,"max_count":5,"max_value":10000,"max_age":"24h"}}`,
		http.StatusOK, &c)
	if c.Name != "Coffee 2" || c.UndoWindow.D() != 15*time.Minute || c.Offline.MaxAge.D() != 24*time.Hour || !c.Confirm {
		t.Errorf("campaign %+v, want the update", c)
	}
	var camps []protocol.Campaign
	f.call("GET", "/api/v1/campaigns", "", http.StatusOK, &camps)
	if len(camps) != 1 || camps[0].FaceValue != 2600 {
		t.Errorf("campaigns %+v", camps)
	}
	f.call("GET", "/api/v1/campaigns/coffee", "", http.StatusOK, &c)
	if c.ID != "coffee" || !slices.Equal(c.Stores, []string{"s1"}) {
		t.Errorf("campaign %+v", c)
	}
	code, _, b = f.do(req{method: "POST", path: "/api/v1/campaigns", body: `{"id":"c2","name":"C","uses":0}`})
	if e := apiError(t, b); code != 400 || !strings.Contains(e.Message, "uses 0") {
		t.Errorf("uses 0: %d %s, want 400 saying uses", code, b)
	}

	var keys []protocol.IssuingKey
	f.call("GET", "/api/v1/keys", "", http.StatusOK, &keys)
	if len(keys) != 1 {
		t.Fatalf("keys %+v, want the first key", keys)
	}
	var k protocol.IssuingKey
	f.call("POST", "/api/v1/keys/rotate", "", http.StatusCreated, &k)
	if k.ID == keys[0].ID || len(k.Public) != 32 {
		t.Errorf("rotated key %+v", k)
	}
	f.call("POST", "/api/v1/keys/"+keys[0].ID+"/retire", "", http.StatusOK, &k)
	if k.ID != keys[0].ID || k.NotAfter.IsZero() {
		t.Errorf("retired key %+v, want an end", k)
	}
	f.call("GET", "/api/v1/keys", "", http.StatusOK, &keys)
	if len(keys) != 2 {
		t.Errorf("keys %+v, want two", keys)
	}

	// A lock answers 201 when made, and 200 with the lock as first made
	// (its time included) when the day was locked before.
	t1 := time.Date(2025, 1, 2, 9, 30, 0, 123456789, time.UTC)
	f.now.Store(&t1)
	var l protocol.SettlementLock
	f.call("POST", "/api/v1/locks", `{"store":"s1","day":"2025-01-01"}`, http.StatusCreated, &l)
	if l.Store != "s1" || l.Day != "2025-01-01" || l.At.Sub(t1).Abs() >= time.Microsecond {
		t.Errorf("lock %+v, want s1 2025-01-01 made at %s", l, t1)
	}
	t2 := t1.Add(26 * time.Hour)
	f.now.Store(&t2)
	var again protocol.SettlementLock
	f.call("POST", "/api/v1/locks", `{"store":"s1","day":"2025-01-01"}`, http.StatusOK, &again)
	if again.Store != l.Store || again.Day != l.Day || !again.At.Equal(l.At) {
		t.Errorf("locking again: %+v, want the first lock %+v", again, l)
	}
	var l2 protocol.SettlementLock
	f.call("POST", "/api/v1/locks", `{"store":"s2","day":"2025-01-01"}`, http.StatusCreated, &l2)
	if l2.Store != "s2" || l2.At.Sub(t2).Abs() >= time.Microsecond {
		t.Errorf("lock of s2 %+v, want a new one made at %s", l2, t2)
	}
	f.now.Store(nil)
	code, _, b = f.do(req{method: "POST", path: "/api/v1/locks", body: `{"store":"s1","day":"1 Jan"}`})
	if e := apiError(t, b); code != 400 || !strings.Contains(e.Message, "YYYY-MM-DD") {
		t.Errorf("bad day: %d %s, want 400 saying YYYY-MM-DD", code, b)
	}
}

func TestCodeLifecycle(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ring := f.keyRing()

	var signed, dynamic issued
	f.call("POST", "/api/v1/campaigns/coffee/codes", `{"count":3,"format":"signed","order_ref":"PO-1"}`, http.StatusCreated, &signed)
	if len(signed.Codes) != 3 {
		t.Fatalf("signed codes %+v, want 3", signed)
	}
	for _, c := range signed.Codes {
		sc, err := ring.ParseVerify(c.Code, time.Now())
		if err != nil || sc.ID != c.ID || sc.Campaign != "coffee" || c.Seed != "" {
			t.Errorf("signed code %+v: %v", c, err)
		}
	}
	f.call("POST", "/api/v1/campaigns/coffee/codes", `{"count":2,"format":"dynamic","stores":["s1"]}`, http.StatusCreated, &dynamic)
	if len(dynamic.Codes) != 2 || dynamic.Codes[0].Seed == "" || dynamic.Codes[0].Code != "" {
		t.Fatalf("dynamic codes %+v, want 2 with seeds", dynamic)
	}
	for _, body := range []string{`{"count":0,"format":"signed"}`, `{"count":1000001,"format":"signed"}`, `{"count":1,"format":"secret"}`,
		`{"count":1,"format":"signed","stores":["nope"]}`} {
		code, _, b := f.do(req{method: "POST", path: "/api/v1/campaigns/coffee/codes", body: body})
		if code != http.StatusBadRequest || apiError(t, b).Code != "invalid" {
			t.Errorf("issue %s: %d %s, want 400 invalid", body, code, b)
		}
	}

	secrets := []string{"1234-5678-9012", "abcd efgh 2345"}
	var imp struct {
		Imported int      `json:"imported"`
		IDs      []string `json:"ids"`
	}
	f.call("POST", "/api/v1/campaigns/coffee/codes/import", mustJSON(map[string]any{"codes": secrets, "order_ref": "supplier-7"}), http.StatusCreated, &imp)
	if imp.Imported != 2 || len(imp.IDs) != 2 {
		t.Fatalf("import %+v, want 2", imp)
	}
	code, _, b := f.do(req{method: "POST", path: "/api/v1/campaigns/coffee/codes/import", body: `{"codes":["ABCDEFGH2345"]}`})
	if code != http.StatusConflict || strings.Contains(strings.ToUpper(string(b)), "ABCDEFGH2345") {
		t.Errorf("import again: %d %s, want 409 without the secret", code, b)
	}
	code, _, b = f.do(req{method: "POST", path: "/api/v1/campaigns/coffee/codes/import", body: `{"codes":["SECRET!!99"]}`})
	if code != http.StatusBadRequest || strings.Contains(string(b), "SECRET") {
		t.Errorf("bad secret: %d %s, want 400 without the secret", code, b)
	}

	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(dynamic.Codes[0].Seed)
	if err != nil {
		t.Fatal(err)
	}
	lookups := []struct{ name, q, id string }{
		{"HXD text", protocol.DynamicAt(dynamic.Codes[0].ID, seed, time.Now()), dynamic.Codes[0].ID},
		{"id", signed.Codes[0].ID, signed.Codes[0].ID},
		{"id lower case", strings.ToLower(signed.Codes[1].ID), signed.Codes[1].ID},
		{"HX1 text", signed.Codes[0].Code, signed.Codes[0].ID},
		{"dynamic id", dynamic.Codes[1].ID, dynamic.Codes[1].ID},
		{"card secret", "123456789012", imp.IDs[0]},
		{"card secret as typed", "ABCD-EFGH-2345", imp.IDs[1]},
	}
	for _, l := range lookups {
		t.Run("lookup by "+l.name, func(t *testing.T) {
			var info hub.CodeInfo
			code, _, b := f.do(req{method: "GET", path: "/api/v1/codes/" + url.PathEscape(l.q)})
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, b)
			}
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatal(err)
			}
			if info.ID != l.id || info.Campaign != "coffee" || info.Status != protocol.StatusActive || info.UsesLeft != 1 || info.Redemptions == nil {
				t.Errorf("code %+v, want %s active with 1 use left", info, l.id)
			}
			if strings.Contains(string(b), "1234") || strings.Contains(strings.ToUpper(string(b)), "EFGH") {
				t.Errorf("answer holds the card secret: %s", b)
			}
		})
	}

	var info hub.CodeInfo
	id := signed.Codes[0].ID
	f.call("POST", "/api/v1/codes/"+id+"/revoke", `{"reason":"refunded"}`, http.StatusOK, &info)
	if info.ID != id || info.Status != protocol.StatusRevoked {
		t.Errorf("revoked code %+v", info)
	}
	f.call("GET", "/api/v1/codes/"+url.PathEscape(signed.Codes[0].Code), "", http.StatusOK, &info)
	if info.Status != protocol.StatusRevoked {
		t.Errorf("code after revoke %+v, want revoked", info)
	}
	f.call("POST", "/api/v1/codes/"+id+"/revoke", "", http.StatusOK, &info) // again: no change
	code, _, b = f.do(req{method: "POST", path: "/api/v1/codes/" + id + "/block"})
	if code != http.StatusConflict || !strings.Contains(apiError(t, b).Message, "revoked for good") {
		t.Errorf("block a revoked code: %d %s, want 409", code, b)
	}

	d := dynamic.Codes[0].ID
	f.call("POST", "/api/v1/codes/"+d+"/block", `{"reason":"leaked"}`, http.StatusOK, &info)
	if info.Status != protocol.StatusBlocked {
		t.Errorf("blocked code %+v", info)
	}
	f.call("POST", "/api/v1/codes/"+d+"/unblock", `{}`, http.StatusOK, &info)
	if info.Status != protocol.StatusActive {
		t.Errorf("unblocked code %+v", info)
	}
	f.call("POST", "/api/v1/codes/"+d+"/unblock", "", http.StatusOK, &info) // again: no change
	code, _, b = f.do(req{method: "POST", path: "/api/v1/codes/" + id + "/unblock"})
	if code != http.StatusConflict || apiError(t, b).Code != "conflict" {
		t.Errorf("unblock a revoked code: %d %s, want 409", code, b)
	}
}

func TestTerminalsAndEnrollment(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var ts []hub.TerminalInfo
	f.call("GET", "/api/v1/terminals", "", http.StatusOK, &ts)
	if ts == nil || len(ts) != 0 {
		t.Errorf("terminals %+v, want []", ts)
	}
	f.terminal("t1", "s1")
	f.call("GET", "/api/v1/terminals", "", http.StatusOK, &ts)
	if len(ts) != 1 || ts[0].ID != "t1" || ts[0].Store != "s1" || ts[0].Status != hub.TerminalActive {
		t.Errorf("terminals %+v, want t1 of s1", ts)
	}
	var ti hub.TerminalInfo
	f.call("POST", "/api/v1/terminals/t1/revoke", "", http.StatusOK, &ti)
	if ti.ID != "t1" || ti.Status != hub.TerminalRevoked {
		t.Errorf("revoked terminal %+v", ti)
	}

	var en struct {
		Token     string    `json:"token"`
		Store     string    `json:"store"`
		Terminal  string    `json:"terminal"`
		ExpiresAt time.Time `json:"expires_at"`
		QRPNGURL  string    `json:"qr_png_url"`
	}
	f.call("POST", "/api/v1/enrollments", `{"store":"s1","terminal":"t9"}`, http.StatusCreated, &en)
	if !validToken(en.Token) || en.Store != "s1" || en.Terminal != "t9" || !en.ExpiresAt.After(time.Now()) ||
		en.QRPNGURL != "/api/v1/enrollments/qr.png?token="+en.Token {
		t.Fatalf("enrollment %+v", en)
	}
	code, h, b := f.do(req{method: "GET", path: en.QRPNGURL})
	if code != http.StatusOK || h.Get("Content-Type") != "image/png" {
		t.Fatalf("QR: %d %s", code, h.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != qrDefault || img.Bounds().Dy() != qrDefault {
		t.Fatalf("QR png %v: %v", img.Bounds(), err)
	}
	code, _, b = f.do(req{method: "GET", path: en.QRPNGURL + "&size=1000"})
	if img, err := png.Decode(bytes.NewReader(b)); code != 200 || err != nil || img.Bounds().Dx() != 1000 {
		t.Errorf("QR of 1000 px: %d %v", code, err)
	}
	for _, q := range []string{"", "?token=lowercase", "?token=" + en.Token + "&size=5", "?token=" + en.Token + "&colour=red"} {
		code, _, b := f.do(req{method: "GET", path: "/api/v1/enrollments/qr.png" + q})
		if code != http.StatusBadRequest || apiError(t, b).Code != "invalid" {
			t.Errorf("QR %q: %d %s, want 400", q, code, b)
		}
	}
	code, _, b = f.do(req{method: "POST", path: "/api/v1/enrollments", body: `{"store":"s1","terminal":"t1"}`})
	if code != http.StatusConflict {
		t.Errorf("enroll an enrolled terminal: %d %s, want 409", code, b)
	}
	code, _, b = f.do(req{method: "POST", path: "/api/v1/enrollments", body: `{"store":"s1","terminal":"bad id!"}`})
	if code != http.StatusBadRequest {
		t.Errorf("enroll a bad id: %d %s, want 400", code, b)
	}
}

func TestAlertsAndRedemptions(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var imp struct{ IDs []string }
	f.call("POST", "/api/v1/campaigns/coffee/codes/import", `{"codes":["5555-6666-7777"]}`, http.StatusCreated, &imp)
	id := imp.IDs[0]
	t1, t2 := f.terminal("t1", "s1"), f.terminal("t2", "s2")
	// 10:00 on 10 March in Shanghai, and 07:00 on 11 March in Shanghai
	// (23:00 UTC on the 10th): one UTC day, two Shanghai days.
	at1 := time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)
	at2 := time.Date(2025, 3, 10, 23, 0, 0, 0, time.UTC)
	f.redeem(t1, id, "coffee", at1, `PO,1 "x"`)
	f.redeem(t2, id, "coffee", at2, "")

	var alerts []hub.Alert
	f.call("GET", "/api/v1/alerts?kind=over_redemption", "", http.StatusOK, &alerts)
	if len(alerts) != 1 {
		t.Fatalf("alerts %+v, want one over_redemption", alerts)
	}
	a := alerts[0]
	slices.Sort(a.Stores)
	if a.Code != id || !slices.Equal(a.Stores, []string{"s1", "s2"}) || len(a.Terminals) != 2 {
		t.Errorf("alert %+v, want code %s at s1 and s2", a, id)
	}
	f.call("GET", "/api/v1/alerts?open=true&store=s2&since=2000-01-01", "", http.StatusOK, &alerts)
	if len(alerts) != 1 {
		t.Errorf("open alerts of s2 %+v, want the one", alerts)
	}
	var acked hub.Alert
	f.call("POST", "/api/v1/alerts/"+jsonNumber(a.ID)+"/ack", `{"note":"customer refunded"}`, http.StatusOK, &acked)
	if acked.Acked.IsZero() || acked.AckedBy != "admin" || acked.Note != "customer refunded" {
		t.Errorf("acked alert %+v", acked)
	}
	code, _, b := f.do(req{method: "POST", path: "/api/v1/alerts/" + jsonNumber(a.ID) + "/ack"})
	if code != http.StatusConflict || !strings.Contains(apiError(t, b).Message, "was acknowledged") {
		t.Errorf("ack again: %d %s, want 409", code, b)
	}
	f.call("GET", "/api/v1/alerts?open=true&kind=over_redemption", "", http.StatusOK, &alerts)
	if alerts == nil || len(alerts) != 0 {
		t.Errorf("open alerts after ack %+v, want []", alerts)
	}
	for _, q := range []struct{ query, say string }{
		{"since=yesterday", "since="}, {"kind=fire", "unknown alert kind"}, {"open=maybe", "open="},
		{"limit=-1", "limit="}, {"sort=asc", `unknown query parameter "sort"`}, {"kind=a&kind=b", "once"},
	} {
		code, _, b := f.do(req{method: "GET", path: "/api/v1/alerts?" + q.query})
		if code != http.StatusBadRequest || !strings.Contains(apiError(t, b).Message, q.say) {
			t.Errorf("alerts?%s: %d %s, want 400 saying %q", q.query, code, b, q.say)
		}
	}

	rows := func(query string) []hub.Redemption {
		t.Helper()
		var out []hub.Redemption
		f.call("GET", "/api/v1/redemptions?"+query, "", http.StatusOK, &out)
		if out == nil {
			t.Fatalf("redemptions?%s: null, want an array", query)
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  []string // terminals, in ingest order
	}{
		{"", []string{"t1", "t2"}},
		{"store=s1", []string{"t1"}},
		{"terminal=t2", []string{"t2"}},
		{"code=" + id, []string{"t1", "t2"}},
		{"code=5555%206666%207777", []string{"t1", "t2"}},
		{"from=2025-03-10&to=2025-03-10", []string{"t1", "t2"}},              // UTC days
		{"store=s2&from=2025-03-10&to=2025-03-10", nil},                      // Shanghai days: t2 redeemed on the 11th
		{"store=s2&from=2025-03-11&to=2025-03-11", []string{"t2"}},           // ...
		{"from=2025-03-10T03:00:00Z", []string{"t2"}},                        // RFC 3339
		{"to=2025-03-10T10:00:00%2B08:00", nil},                              // exclusive
		{"to=2025-03-10T10:00:01%2B08:00", []string{"t1"}},                   // ...
		{"kind=void", nil},                                                   // kinds
		{"kind=redemption,attempt&limit=1", []string{"t1"}},                  // limit
		{"code=ZZZZZZZZZZZZ", nil},                                           // an id the ledger does not hold
		{"format=json&store=s1&terminal=t1&from=2025-01-01", []string{"t1"}}, // together
	} {
		got := rows(c.query)
		var terms []string
		for _, r := range got {
			terms = append(terms, r.Terminal)
		}
		if !slices.Equal(terms, c.want) {
			t.Errorf("redemptions?%s: terminals %v, want %v", c.query, terms, c.want)
		}
	}
	all := rows("")
	if all[0].Code != id || all[0].Campaign != "coffee" || all[0].Amount != 2500 || all[0].Seq != 1 || all[0].Mode != protocol.ModeOffline {
		t.Errorf("first redemption %+v", all[0])
	}
	if !slices.Contains(all[1].Flags, hub.FlagOverRedemption) {
		t.Errorf("second redemption %+v, want flagged over_redemption", all[1])
	}
	for _, q := range []struct{ query, say string }{
		{"from=10/03/2025", `from="10/03/2025" is not a date`}, {"to=tomorrow", "to="},
		{"from=2025-03-11&to=2025-03-10", "is not after"}, {"limit=x", "limit="}, {"after=-5", "after="},
		{"format=xml", "format="}, {"order=desc", `order="desc": want oldest`}, {"kind=refund", "kind="}, {"stor=s1", `unknown query parameter "stor"`},
	} {
		code, _, b := f.do(req{method: "GET", path: "/api/v1/redemptions?" + q.query})
		if code != http.StatusBadRequest || !strings.Contains(apiError(t, b).Message, q.say) {
			t.Errorf("redemptions?%s: %d %s, want 400 saying %q", q.query, code, b, q.say)
		}
	}

	code, h, b := f.do(req{method: "GET", path: "/api/v1/redemptions?format=csv"})
	if code != http.StatusOK || h.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %d %s", code, h.Get("Content-Type"))
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, b)
	}
	if len(recs) != 3 || !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("CSV %q, want the header and 2 rows", recs)
	}
	col := func(row []string, name string) string { return row[slices.Index(csvHeader, name)] }
	r1, r2 := recs[1], recs[2]
	if col(r1, "terminal") != "t1" || col(r1, "seq") != "1" || col(r1, "kind") != "redemption" || col(r1, "code") != id ||
		col(r1, "at") != "2025-03-10T02:00:00Z" || col(r1, "store") != "s1" || col(r1, "mode") != "offline" ||
		col(r1, "entry") != "keyed" || col(r1, "uses") != "1" || col(r1, "amount") != "2500" || col(r1, "order_ref") != `PO,1 "x"` ||
		col(r1, "cashier") != "c1" || col(r1, "campaign") != "coffee" || col(r1, "voids") != "" {
		t.Errorf("CSV row %q", r1)
	}
	if col(r2, "terminal") != "t2" || !strings.Contains(col(r2, "flags"), "over_redemption") {
		t.Errorf("CSV row %q, want t2 flagged", r2)
	}
	code, _, b = f.do(req{method: "GET", path: "/api/v1/redemptions?format=csv&kind=void"})
	if recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll(); code != 200 || err != nil || len(recs) != 1 {
		t.Errorf("empty CSV: %d %q %v, want the header alone", code, recs, err)
	}
}

func jsonNumber(n int64) string { return mustJSON(n) }

// nulls lists the places in the JSON document b that hold null, but for
// the fields that are null by design (a terminal's clock skew before it is
// measured).
func nulls(tb testing.TB, b []byte) []string {
	tb.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("answer %.300s is not JSON: %v", b, err)
	}
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case nil:
			if !strings.HasSuffix(path, ".clock_skew") {
				out = append(out, path)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		case map[string]any:
			for k, x := range v {
				walk(path+"."+k, x)
			}
		}
	}
	walk("$", v)
	return out
}

// Lists are [] when empty, never null: the lists the API answers and the
// lists inside what it answers, in the stream too.
func TestEmptyListsAreArrays(t *testing.T) {
	f := newFixture(t)
	check := func(what string, b []byte) {
		t.Helper()
		if n := nulls(t, b); len(n) > 0 {
			t.Errorf("%s: null at %v in %s", what, n, b)
		}
	}
	for _, p := range []string{"/api/v1/stores", "/api/v1/campaigns", "/api/v1/terminals", "/api/v1/alerts", "/api/v1/redemptions"} {
		code, _, b := f.do(req{method: "GET", path: p})
		if code != http.StatusOK || string(b) != "[]\n" {
			t.Errorf("GET %s on an empty hub: %d %q, want []", p, code, b)
		}
	}
	f.seed()
	var imp struct{ IDs []string }
	f.call("POST", "/api/v1/campaigns/coffee/codes/import", `{"codes":["5555-6666-7777"]}`, http.StatusCreated, &imp)
	f.terminal("t1", "s1")
	for _, p := range []string{"/api/v1/stores", "/api/v1/campaigns", "/api/v1/terminals", "/api/v1/keys", "/api/v1/codes/" + imp.IDs[0]} {
		code, _, b := f.do(req{method: "GET", path: p})
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, b)
		}
		check("GET "+p, b)
	}

	// An alert whose lists the ledger holds empty (and reads back nil).
	err := f.store.Update(context.Background(), func(tx hub.Tx) error {
		_, err := tx.AddAlert(hub.Alert{Kind: hub.AlertGap, Key: "t1", At: time.Now().UTC(), Detail: "a gap"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, r := openStream(t, f, ctx)
	defer resp.Body.Close()
	code, _, b := f.do(req{method: "GET", path: "/api/v1/alerts"})
	var alerts []hub.Alert
	if err := json.Unmarshal(b, &alerts); code != http.StatusOK || err != nil || len(alerts) != 1 {
		t.Fatalf("alerts: %d %s %v, want the one", code, b, err)
	}
	check("GET /api/v1/alerts", b)
	if !strings.Contains(string(b), `"stores":[],"terminals":[]`) {
		t.Errorf("alerts %s, want stores and terminals []", b)
	}
	code, _, b = f.do(req{method: "POST", path: "/api/v1/alerts/" + jsonNumber(alerts[0].ID) + "/ack"})
	if code != http.StatusOK || !strings.Contains(string(b), `"stores":[],"terminals":[]`) {
		t.Errorf("ack: %d %s, want stores and terminals []", code, b)
	}
	check("POST .../ack", b)
	e := readEvent(t, r, "alert")
	if !strings.Contains(e.data, `"stores":[],"terminals":[]`) {
		t.Errorf("stream: alert %s, want stores and terminals []", e.data)
	}
	check("stream alert", []byte(e.data))
}
