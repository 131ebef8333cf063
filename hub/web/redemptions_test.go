package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// journal signs and chains evs as t's next events (filling in terminal,
// seq, prev and store) and sends them to the hub in one batch.
func (f *fixture) journal(t *term, evs []protocol.Event) {
	f.tb.Helper()
	t.mu.Lock()
	batch := make([]protocol.SignedEvent, len(evs))
	for i := range evs {
		t.seq++
		e := &evs[i]
		e.V, e.Terminal, e.Seq, e.Prev, e.Store = protocol.WireVersion, t.id, t.seq, t.prev, t.store
		se, err := protocol.SignEvent(t.priv, e)
		if err != nil {
			t.mu.Unlock()
			f.tb.Fatal(err)
		}
		t.prev = se.Hash()
		batch[i] = se
	}
	last := t.seq
	t.mu.Unlock()
	ack, err := f.hub.Ingest(context.Background(), t.id, &protocol.EventBatch{Header: protocol.Header{V: protocol.WireVersion},
		Terminal: t.id, Sent: time.Now(), Events: batch})
	if err != nil {
		f.tb.Fatal(err)
	}
	if ack.Seq != last || ack.Refused != nil {
		f.tb.Fatalf("ack %+v, want seq %d and nothing refused", ack, last)
	}
}

// ledgerRow is what the export tests know of an event they journalled.
type ledgerRow struct {
	ref   protocol.EventRef
	kind  protocol.EventKind
	store string
	code  string
}

// fillLedger journals n events, alternating between a terminal of s1 and
// one of s2 in batches of a few dozen, so a store's rows are spread over
// the ingest order: redemptions of two codes, a void now and then, and
// attempts with and without a code. It returns them in ingest order and
// the two code ids.
func (f *fixture) fillLedger(n int) ([]ledgerRow, [2]string) {
	f.tb.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	f.call("POST", "/api/v1/campaigns", mustJSON(protocol.Campaign{ID: "multi", Name: "Ten thousand", FaceValue: 100,
		Uses: protocol.MaxUses, ValidFrom: now.AddDate(-1, 0, 0), ValidUntil: now.AddDate(1, 0, 0),
		Offline: protocol.OfflinePolicy{Allow: true}}), http.StatusCreated, nil)
	var imp struct{ IDs []string }
	f.call("POST", "/api/v1/campaigns/multi/codes/import", `{"codes":["1111-2222-3333","4444-5555-6666"]}`, http.StatusCreated, &imp)
	codes := [2]string{imp.IDs[0], imp.IDs[1]}
	terms := []*term{f.terminal("t1", "s1"), f.terminal("t2", "s2")}
	type redemption struct {
		seq  uint64
		code string
	}
	lastRedemption := map[string]redemption{}
	var rows []ledgerRow
	at := now.Add(-24 * time.Hour)
	for b := 0; len(rows) < n; b++ {
		t := terms[b%2]
		size := min(n-len(rows), 23+b%41)
		evs := make([]protocol.Event, size)
		for i := range evs {
			k := len(rows) + i
			at = at.Add(time.Second)
			code := codes[k%3%2]
			e := protocol.Event{Kind: protocol.KindRedemption, At: at, Cashier: "c1", Mode: protocol.ModeOffline,
				Entry: protocol.EntryScanned, Reason: protocol.Accepted, Code: code, Format: protocol.FormatSecret,
				Campaign: "multi", Uses: 1, Amount: 100, OrderRef: fmt.Sprintf("PO-%d", k)}
			switch {
			case k%13 == 5:
				e = protocol.Event{Kind: protocol.KindAttempt, At: at, Mode: protocol.ModeOffline, Reason: protocol.Malformed,
					Note: "no code in the scan"}
				code = ""
			case k%7 == 3:
				e.Kind, e.Reason, e.Uses, e.Amount = protocol.KindAttempt, protocol.UsedUp, 0, 0
			case k%11 == 4 && lastRedemption[t.id].seq > 0:
				last := lastRedemption[t.id]
				e.Kind, e.Voids, e.Note = protocol.KindVoid, &protocol.EventRef{Terminal: t.id, Seq: last.seq}, "refund"
				e.Code, code = last.code, last.code
			}
			evs[i] = e
			seq := t.seq + uint64(i) + 1
			if e.Kind == protocol.KindRedemption {
				lastRedemption[t.id] = redemption{seq, code}
			}
			rows = append(rows, ledgerRow{ref: protocol.EventRef{Terminal: t.id, Seq: seq}, kind: e.Kind, store: t.store, code: code})
		}
		f.journal(t, evs)
	}
	return rows, codes
}

// exportRefs decodes a JSON export into the events' ids.
func exportRefs(tb testing.TB, b []byte) []string {
	tb.Helper()
	var rs []hub.Redemption
	if err := json.Unmarshal(b, &rs); err != nil {
		tb.Fatalf("export does not decode: %v\n%.300s", err, b)
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = protocol.EventRef{Terminal: r.Terminal, Seq: r.Seq}.String()
	}
	return out
}

// An export longer than a page is read a page at a time and answers
// exactly what one read of the whole ledger would: every row once, in
// ingest order, byte for byte the same JSON and CSV.
func TestRedemptionsExportPages(t *testing.T) {
	f := newFixture(t)
	f.seed()
	rows, codes := f.fillLedger(1800)
	kinds := func(ks ...protocol.EventKind) func(ledgerRow) bool {
		return func(r ledgerRow) bool { return slices.Contains(ks, r.kind) }
	}
	both := kinds(protocol.KindRedemption, protocol.KindVoid)
	cases := []struct {
		query  string
		match  func(ledgerRow) bool
		limit  int
		newest bool
	}{
		{"", both, 0, false},
		{"store=s1", func(r ledgerRow) bool { return both(r) && r.store == "s1" }, 0, false},
		{"terminal=t2", func(r ledgerRow) bool { return both(r) && r.ref.Terminal == "t2" }, 0, false},
		{"code=" + codes[1], func(r ledgerRow) bool { return both(r) && r.code == codes[1] }, 0, false},
		{"kind=attempt", kinds(protocol.KindAttempt), 0, false}, // pages of attempts without a code
		{"kind=redemption,void,attempt&limit=1234", kinds(protocol.KindRedemption, protocol.KindVoid, protocol.KindAttempt), 1234, false},
		{"store=s2&kind=void&limit=5", func(r ledgerRow) bool { return r.kind == protocol.KindVoid && r.store == "s2" }, 5, false},
		{"order=newest", both, 0, true},
		{"store=s1&order=newest&limit=1234", func(r ledgerRow) bool { return both(r) && r.store == "s1" }, 1234, true},
	}
	export := func(t *testing.T, query string, page int) []byte {
		t.Helper()
		f.web.exportPage.Store(int64(page))
		code, _, b := f.do(req{method: "GET", path: "/api/v1/redemptions?" + query})
		if code != http.StatusOK {
			t.Fatalf("redemptions?%s with pages of %d: status %d: %.300s", query, page, code, b)
		}
		return b
	}
	most := 0
	for _, c := range cases {
		var want []string
		for _, r := range rows {
			if c.match(r) {
				want = append(want, r.ref.String())
			}
		}
		if c.newest {
			slices.Reverse(want)
		}
		if c.limit > 0 {
			want = want[:min(c.limit, len(want))]
		}
		most = max(most, len(want))
		if len(want) < 5 {
			t.Fatalf("suite bug: redemptions?%s selects %d rows, want enough for pages", c.query, len(want))
		}
		for _, format := range []string{"json", "csv"} {
			query := c.query + "&format=" + format
			whole := export(t, query, 1<<30) // one read of the ledger, as before pages
			pages := []int{0, 7, len(want)}  // the hub's page, many pages, one page that leaves nothing for the next
			if format == "json" {
				pages = append(pages, 500, len(want)-1)
				if len(want) < 1000 { // a page a row: the slowest
					pages = append(pages, 1)
				}
			}
			for _, page := range pages {
				t.Run(fmt.Sprintf("%s/page=%d", query, page), func(t *testing.T) {
					got := export(t, query, page)
					if !bytes.Equal(got, whole) {
						t.Errorf("%d bytes, want the %d of one read:\n%.500s", len(got), len(whole), got)
					}
				})
			}
			var refs []string
			if format == "json" {
				refs = exportRefs(t, whole)
			} else {
				recs, err := csv.NewReader(bytes.NewReader(whole)).ReadAll()
				if err != nil || len(recs) == 0 || !slices.Equal(recs[0], csvHeader) {
					t.Fatalf("%s: CSV %v, %.300s", query, err, whole)
				}
				for _, rec := range recs[1:] {
					refs = append(refs, rec[0]+":"+rec[1])
				}
			}
			if !slices.Equal(refs, want) {
				t.Errorf("redemptions?%s: %d rows, want %d; first difference at %d", query, len(refs), len(want), firstDiff(refs, want))
			}
		}
	}
	if most <= hub.RedemptionPage {
		t.Fatalf("suite bug: the longest export has %d rows, one page of the hub's %d", most, hub.RedemptionPage)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The export holds no read transaction while it writes to the client: a
// client that reads slowly (or not at all) never keeps the ledger open.
func TestRedemptionsExportWritesOutsideReads(t *testing.T) {
	f := newFixture(t)
	f.seed()
	rows, _ := f.fillLedger(1800)
	for _, format := range []string{"json", "csv"} {
		w := &viewCheckWriter{header: http.Header{}, store: f.store}
		r, _ := http.NewRequest("GET", "/api/v1/redemptions?kind=redemption,void,attempt&format="+format, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		f.web.Handler().ServeHTTP(w, r)
		if w.writes == 0 || w.code != http.StatusOK {
			t.Fatalf("%s: status %d, %d writes", format, w.code, w.writes)
		}
		if w.inView > 0 {
			t.Errorf("%s: %d of %d writes to the client while a read transaction was open", format, w.inView, w.writes)
		}
		if lines := strings.Count(w.body.String(), "\n"); lines < len(rows) {
			t.Errorf("%s: %d lines, want a row for each of %d events", format, lines, len(rows))
		}
	}
}

// viewCheckWriter is a client that counts the writes it gets while the
// fixture's store has a View open. The handler runs on the test's
// goroutine, so its fields need no lock.
type viewCheckWriter struct {
	header http.Header
	store  *faultStore
	code   int
	body   bytes.Buffer
	writes int
	inView int
}

func (w *viewCheckWriter) Header() http.Header { return w.header }
func (w *viewCheckWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *viewCheckWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.writes++
	if w.store.views.Load() > 0 {
		w.inView++
	}
	return w.body.Write(p)
}

// A terminal's Z report reaches the ledger whole: listed by kind=z_report
// with its totals, never among the redemptions and voids listed by default.
func TestZReportInLedger(t *testing.T) {
	f := newFixture(t)
	f.seed()
	tm := f.terminal("t1", "s1")
	at := time.Now().UTC().Truncate(time.Second)
	f.journal(tm, []protocol.Event{
		{Kind: protocol.KindAttempt, At: at, Mode: protocol.ModeOffline, Reason: protocol.Malformed, Note: "no code"},
		{Kind: protocol.KindZReport, At: at.Add(time.Minute), Cashier: "m1", Mode: protocol.ModeOffline, Reason: protocol.Accepted,
			Z: &protocol.ZReport{Number: 1, From: 1, To: 1, Refused: 1}},
	})
	var zs, def []hub.Redemption
	f.call("GET", "/api/v1/redemptions?kind=z_report", "", http.StatusOK, &zs)
	if len(zs) != 1 || zs[0].Seq != 2 || zs[0].Z == nil || zs[0].Z.Number != 1 || zs[0].Z.Refused != 1 || zs[0].Z.To != 1 {
		t.Fatalf("kind=z_report: %+v, want seq 2 with Z number 1 covering seq 1 with 1 refused", zs)
	}
	f.call("GET", "/api/v1/redemptions", "", http.StatusOK, &def)
	if len(def) != 0 {
		t.Errorf("default listing %+v, want no rows (an attempt and a Z report)", def)
	}
}
