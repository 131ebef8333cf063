package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// TestTwoStoresOnline: a code redeemed online at store S1 is refused at S2
// by the hub, and the change feed tells S2's cache, so S2 refuses another
// such code from its cache alone once forced offline.
func TestTwoStoresOnline(t *testing.T) {
	h := startHub(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	twoStores(t, h, func(store, id string) *term { return enroll(t, h, store, id) })
}

// twoStores is the scenario of TestTwoStoresOnline on hub h, whatever its
// broker; enrollTerm enrolls a terminal and makes it ready to log in.
func twoStores(t *testing.T, h *hubProc, enrollTerm func(store, id string) *term) {
	h.addStore("S1", "east")
	h.addStore("S2", "west")
	h.addCampaign("C1", []string{"S1", "S2"}, 100)
	codes := h.issue("C1", 2)
	x, y := codes[0], codes[1]
	a, b := enrollTerm("S1", "T1"), enrollTerm("S2", "T2")
	ha, hb := a.start(), b.start()
	ha.waitMode("online", wait)
	hb.waitMode("online", wait)

	// x at A: the hub's claim takes it. At B: the hub refuses it.
	if d := ha.scan(x.Code); d.Verdict != "accepted" || d.Mode != "online" {
		t.Fatalf("A scans x: got %s/%s mode %s, want accepted online", d.Verdict, d.Reason, d.Mode)
	}
	if d := hb.scan(x.Code); d.Verdict != "rejected" || d.Reason != "used_up" || d.Mode != "online" {
		t.Fatalf("B scans x after A redeemed it: got %s/%s mode %s, want rejected used_up online", d.Verdict, d.Reason, d.Mode)
	}

	// B decides from its cache alone: a manager forces it offline. B has
	// never seen y (signed codes travel in no snapshot until redeemed), so
	// only the feed can tell it that A redeemed y.
	if c := hb.control(map[string]string{"cmd": "offline", "manager": "M1", "note": "e2e"}); !c.OK || !c.ForcedOffline || c.Mode != "offline" {
		t.Fatalf("force B offline: %+v", c)
	}
	if usesLeft(t, b, y.ID) >= 0 {
		t.Fatalf("B's cache knows y before anyone redeemed it")
	}
	d := ha.scan(y.Code)
	if d.Verdict != "accepted" || d.Mode != "online" {
		t.Fatalf("A scans y: got %s/%s mode %s, want accepted online", d.Verdict, d.Reason, d.Mode)
	}
	eventually(t, wait, "B's cache learns y is used up", func() (bool, string) {
		n := usesLeft(t, b, y.ID)
		return n == 0, fmt.Sprintf("uses_left %d (-1: not cached)", n)
	})
	t.Logf("feed: B's cache knew y was used up %s after A printed its verdict", time.Since(d.at).Round(time.Microsecond))
	if d := hb.scan(y.Code); d.Verdict != "rejected" || d.Reason != "used_up" || d.Mode != "offline" {
		t.Fatalf("B, forced offline, scans y: got %s/%s mode %s, want rejected used_up offline", d.Verdict, d.Reason, d.Mode)
	}
	// A closes its day: the numbered Z report is a journaled event that
	// reaches the hub like any other.
	z := ha.control(map[string]string{"cmd": "z", "manager": "M1"})
	if !z.OK || z.Report == nil || z.Report.Kind != "z" || z.Report.Number != 1 || z.Report.Totals.Redemptions != 2 {
		t.Fatalf("Z report at A: %+v (report %+v), want Z 1 with 2 redemptions", z, z.Report)
	}
	ha.finish()
	hb.finish()
	if zs := h.redemptions("kind=z_report"); len(zs) != 1 || zs[0].Terminal != "T1" || zs[0].ref() != z.Report.EventID ||
		zs[0].Z == nil || zs[0].Z.Number != 1 || zs[0].Z.Redemptions != 2 {
		t.Errorf("hub's z reports %+v, want A's Z 1 (%s) with 2 redemptions", zs, z.Report.EventID)
	}

	// The hub saw each code redeemed once, by A; B's refusals as attempts
	// (y's decided offline); and nothing over-redeemed.
	for _, c := range codes {
		rows := h.redemptions("code=" + c.ID)
		if len(rows) != 1 || rows[0].Terminal != "T1" || rows[0].Mode != "online" {
			t.Errorf("hub redemptions of %s: %+v, want one online by T1", c.ID, rows)
		}
	}
	att := h.redemptions("terminal=T2&kind=attempt")
	if len(att) != 2 || att[0].Reason != "used_up" || att[0].Mode != "online" || att[1].Reason != "used_up" || att[1].Mode != "offline" || att[1].Code != y.ID {
		t.Errorf("hub attempts of T2: %+v, want x used_up online then y used_up offline", att)
	}
	if al := h.alerts("over_redemption"); len(al) != 0 {
		t.Errorf("over_redemption alerts: %+v, want none", al)
	}
}

// usesLeft reads a code's uses left from a terminal's cache, -1 if the
// cache lacks it. The terminal may be running: this is a read-only
// connection to its SQLite database (WAL), which never blocks the writer.
// It is the one look inside a terminal these tests take, to time the feed
// without redeeming anything.
func usesLeft(t *testing.T, tm *term, codeID string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(tm.dir, "terminal.db")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow("SELECT uses_left FROM codes WHERE id = ?", codeID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return -1
	}
	if err != nil {
		t.Fatalf("read %s's cache: %v", tm.id, err)
	}
	return n
}

// TestHubDownBothStoresOffline: with the hub stopped, stores S1 and S2
// both redeem one single-use code offline (and a backlog of others); the
// hub restarts on the same directory and ports, the terminals reconnect by
// themselves, every event is ingested exactly once and the double
// redemption raises exactly one over_redemption alert naming both.
func TestHubDownBothStoresOffline(t *testing.T) {
	backlog := 100 // offline redemptions per terminal besides the shared code
	dir := t.TempDir()
	h := startHub(t, dir, "127.0.0.1:0", "127.0.0.1:0")
	h.addStore("S1", "east")
	h.addStore("S2", "west")
	h.addCampaign("C1", []string{"S1", "S2"}, 1000)
	codes := h.issue("C1", 1+2*backlog)
	z := codes[0]
	a, b := enroll(t, h, "S1", "T1"), enroll(t, h, "S2", "T2")
	ha, hb := a.start(), b.start()
	ha.waitMode("online", wait)
	hb.waitMode("online", wait)

	h.stop()
	down := time.Now()
	ha.waitMode("offline", wait)
	hb.waitMode("offline", wait)
	for _, x := range []*headless{ha, hb} {
		if d := x.scan(z.Code); d.Verdict != "accepted" || d.Mode != "offline" {
			t.Fatalf("%s scans z with the hub down: got %s/%s mode %s, want accepted offline", x.name, d.Verdict, d.Reason, d.Mode)
		}
	}
	for i, c := range codes[1:] {
		x := ha
		if i >= backlog {
			x = hb
		}
		if d := x.scan(c.Code); d.Verdict != "accepted" || d.Mode != "offline" {
			t.Fatalf("%s scans %s with the hub down: got %s/%s mode %s, want accepted offline", x.name, c.ID, d.Verdict, d.Reason, d.Mode)
		}
	}

	// Keep the hub away until both terminals are backing off (their third
	// failed attempt waits 2 s), so coming back is up to them.
	for _, x := range []*headless{ha, hb} {
		eventually(t, wait, x.name+" backs off", func() (bool, string) {
			return x.logs.Contains("retry_in=2s"), "no retry_in=2s in its log"
		})
	}
	restart := time.Now()
	h = startHub(t, dir, h.http, h.mqtt)
	up := time.Now()
	want := 2 + 2*backlog
	// The terminals back off up to 30 s between attempts: allow for it.
	var first time.Time
	eventually(t, 2*wait, "the hub ingests every offline redemption", func() (bool, string) {
		n := len(h.redemptions("kind=redemption"))
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		return n >= want, fmt.Sprintf("%d of %d rows", n, want)
	})
	t.Logf("offline backlog of %d redemptions drained %s after the hub restarted (%s after it listened; first row after %s; hub down %s)",
		want, time.Since(restart).Round(time.Millisecond), time.Since(up).Round(time.Millisecond),
		first.Sub(restart).Round(time.Millisecond), restart.Sub(down).Round(time.Millisecond))
	ha.finish()
	hb.finish()

	rows := h.redemptions("kind=redemption")
	if len(rows) != want {
		t.Errorf("hub has %d redemption rows, want %d", len(rows), want)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.ref()] {
			t.Errorf("event %s ingested twice", r.ref())
		}
		seen[r.ref()] = true
		if r.Mode != "offline" {
			t.Errorf("event %s: mode %s, want offline", r.ref(), r.Mode)
		}
	}
	zr := h.redemptions("code=" + z.ID)
	var who []string
	for _, r := range zr {
		who = append(who, r.Terminal+"@"+r.Store)
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"T1@S1", "T2@S2"}) {
		t.Errorf("hub redemptions of z: %v, want exactly one by T1@S1 and one by T2@S2", who)
	}
	var zAlerts []alert
	all := h.alerts("over_redemption")
	for _, al := range all {
		if al.Code == z.ID {
			zAlerts = append(zAlerts, al)
		}
	}
	if len(zAlerts) != 1 || len(all) != 1 {
		t.Fatalf("over_redemption alerts: %+v, want exactly one, for z", all)
	}
	al := zAlerts[0]
	slices.Sort(al.Stores)
	slices.Sort(al.Terminals)
	if !slices.Equal(al.Stores, []string{"S1", "S2"}) || !slices.Equal(al.Terminals, []string{"T1", "T2"}) {
		t.Errorf("over_redemption alert names stores %v and terminals %v, want S1, S2 and T1, T2", al.Stores, al.Terminals)
	}
}
