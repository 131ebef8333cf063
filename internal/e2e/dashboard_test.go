package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The HQ dashboard in real headless Chromium against the real hub and
// headless terminals: sign-in, the live feed and overview without a
// reload, a code's lifecycle, an over-redemption alert acknowledged with a
// note, and a store manager held to their store in the pages and at the
// API. With HEXIAO_SCREENSHOTS=DIR it saves the README's screenshots
// (dashboard-overview, dashboard-alerts, dashboard-code) there.

const dashPassword = "correct horse battery staple"

// addUser makes a dashboard user through the users API with the admin
// token.
func (h *hubProc) addUser(name, role, store string) {
	h.t.Helper()
	body := map[string]string{"name": name, "display_name": strings.ToUpper(name[:1]) + name[1:], "role": role, "password": dashPassword}
	if store != "" {
		body["store"] = store
	}
	h.call("POST", "/api/v1/users", body, nil)
}

// signIn opens page on the hub, is sent to the sign-in page, signs in as
// name and lands back on page.
func (b *browser) signIn(h *hubProc, name, page string) {
	b.t.Helper()
	b.open("http://" + h.http + page)
	b.waitVisible(`input[name=password]`)
	b.fill(`input[name=name]`, name)
	b.fill(`input[name=password]`, dashPassword)
	b.click(`form button[type=submit]`)
	b.waitText(`[data-test=who]`, strings.ToUpper(name[:1])+name[1:], wait)
	var path string
	b.eval(`location.pathname`, &path)
	if path != page {
		b.t.Fatalf("signed in as %s: landed on %s, want %s", name, path, page)
	}
}

// noReload marks the page so that sameDocument can tell it was not
// reloaded since.
func (b *browser) noReload() {
	b.t.Helper()
	b.eval(`window.__hexiaoMark = 'kept'`, nil)
}

func (b *browser) sameDocument(what string) {
	b.t.Helper()
	var mark string
	b.eval(`String(window.__hexiaoMark)`, &mark)
	if mark != "kept" {
		b.t.Fatalf("%s: the page was reloaded (mark %q)", what, mark)
	}
}

func TestDashboard(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir, "127.0.0.1:0", "127.0.0.1:0")
	h.addStore("S1", "east")
	h.addStore("S2", "west")
	h.addCampaign("C1", []string{"S1", "S2"}, 100)
	codes := h.issue("C1", 6)
	h.addUser("hq", "admin", "")
	h.addUser("mgr2", "store_manager", "S2")
	t1 := enroll(t, h, "S1", "T1")
	t2 := enroll(t, h, "S2", "T2")
	ha, hb := t1.start(), t2.start()
	ha.waitMode("online", wait)
	hb.waitMode("online", wait)

	b := startBrowser(t)
	b.signIn(h, "hq", "/overview")
	b.waitText(`[data-test=live-status]`, "Live", wait)
	b.waitVisible(`[data-test=hour-chart] canvas`)

	// A redemption at a counter shows in the live feed without a reload.
	b.click(`[data-nav=feed]`)
	b.waitVisible(`[data-test=feed-empty]`)
	b.noReload()
	if d := ha.scan(codes[0].Code); d.Verdict != "accepted" || d.Mode != "online" {
		t.Fatalf("T1 scans a fresh code: %+v, want accepted online", d)
	}
	row := b.waitText(fmt.Sprintf(`[data-test=feed-row][data-code=%q]`, codes[0].ID), "Store S1", wait)
	for _, want := range []string{"T1", "Campaign C1", "¥25.00", "online"} {
		if !strings.Contains(row, want) {
			t.Errorf("feed row %q lacks %q", row, want)
		}
	}
	b.sameDocument("the feed")

	// The overview counts it, and the next one, live.
	b.click(`[data-nav=overview]`)
	b.waitText(`[data-test=kpi-redemptions]`, "1", wait)
	if d := hb.scan(codes[2].Code); d.Verdict != "accepted" {
		t.Fatalf("T2 scans: %+v", d)
	}
	b.waitText(`[data-test=kpi-value]`, "¥50.00", wait)
	b.waitText(`[data-test=store-row][data-store=S2]`, "¥25.00", wait)
	b.sameDocument("the overview")

	// The code's lifecycle, found by scanning it into the look-up box.
	b.click(`[data-nav=codes]`)
	b.fill(`[data-test=code-q]`, codes[0].Code)
	b.press("Enter")
	b.waitText(`[data-test=code-status]`, "used up", wait)
	life := b.waitText(`[data-test=life]`, "Redeemed", wait)
	for _, want := range []string{"Issued", "Store S1", "terminal T1", "online"} {
		if !strings.Contains(life, want) {
			t.Errorf("lifecycle %q lacks %q", life, want)
		}
	}
	var path string
	b.eval(`location.pathname`, &path)
	if want := "/codes/" + url.PathEscape(codes[0].ID); path != want {
		t.Errorf("the look-up's address is %s, want %s (the id, never the code)", path, want)
	}
	b.shot("dashboard-code")

	// Both stores redeem one code while the hub is down: the hub raises an
	// over-redemption alert when they come back, and the open page shows
	// it without a reload (the stream reconnects by itself).
	b.click(`[data-nav=alerts]`)
	b.waitVisible(`[data-test=alerts-empty]`)
	b.noReload()
	b.expectStatus("/api/v1/stream", 0) // cut while the hub is down; EventSource reconnects
	h.stop()
	ha.waitMode("offline", wait)
	hb.waitMode("offline", wait)
	for _, x := range []*headless{ha, hb} {
		if d := x.scan(codes[1].Code); d.Verdict != "accepted" || d.Mode != "offline" {
			t.Fatalf("%s scans the shared code offline: %+v", x.name, d)
		}
	}
	h = startHub(t, dir, h.http, h.mqtt)
	alertSel := `[data-test=alert][data-kind=over_redemption]`
	text := b.waitText(alertSel, "Over-redemption", 2*wait)
	if !strings.Contains(text, codes[1].ID) {
		t.Errorf("alert %q does not name code %s", text, codes[1].ID)
	}
	b.waitText(`[data-test=open-alerts]`, "1", wait)
	b.sameDocument("the alerts page")
	b.shot("dashboard-alerts")
	b.click(alertSel + ` [data-test=ack]`)
	b.fill(`[data-test=ack-note]`, "called both stores; customer refunded at S2")
	b.click(`[data-test=ack-submit]`)
	b.waitText(`[data-test=notice]`, "acknowledged", wait)
	b.waitVisible(`[data-test=alerts-empty]`)
	b.click(`[data-test=alerts-all]`)
	b.waitText(alertSel+` [data-test=acked]`, "customer refunded at S2", wait)
	if al := h.alerts("over_redemption"); len(al) != 1 || al[0].Note != "called both stores; customer refunded at S2" || al[0].AckedBy != "hq" {
		t.Errorf("the API's over_redemption alerts after the ack: %+v", al)
	}

	// Both languages have every word: the key sets match, and every page
	// draws in Chinese without a missing word (a missing one is a console
	// error, which fails the test).
	var lacks []string
	b.eval(`import('/assets/i18n.js').then((m) => {
		const en = new Set(m.keys('en')), zh = new Set(m.keys('zh-CN'));
		return [...en].filter((k) => !zh.has(k)).map((k) => 'zh-CN lacks ' + k)
			.concat([...zh].filter((k) => !en.has(k)).map((k) => 'en lacks ' + k));
	})`, &lacks)
	if len(lacks) > 0 {
		t.Errorf("the dashboard's languages differ: %v", lacks)
	}
	b.click(`[data-test=lang]`)
	b.waitText(`[data-nav=overview]`, "总览", wait)
	for _, page := range []string{"feed", "alerts", "codes", "campaigns", "stores", "reports", "admin", "overview"} {
		b.click(`[data-nav=` + page + `]`)
		b.waitVisible(`main h2`)
	}
	b.waitText(`[data-test=kpi-redemptions]`, "核销笔数", wait)

	// A store manager of S2 sees S2 only, in the pages and at the API.
	m := b.newContext()
	m.signIn(h, "mgr2", "/overview")
	m.waitVisible(`[data-test=store-row][data-store=S2]`)
	if n := m.count(`[data-test=store-row]`); n != 1 {
		t.Errorf("the store manager's overview lists %d stores, want only S2", n)
	}
	m.click(`[data-nav=codes]`)
	m.fill(`[data-test=code-q]`, codes[1].ID)
	m.press("Enter")
	life = m.waitText(`[data-test=life]`, "Store S2", wait)
	if strings.Contains(life, "Store S1") || strings.Contains(life, "T1") {
		t.Errorf("the store manager of S2 sees S1's redemption: %q", life)
	}
	for _, q := range []string{"/api/v1/redemptions?store=S1", "/api/v1/stores/S1", "/api/v1/overview?store=S1"} {
		m.expectStatus(strings.Split(q, "?")[0], 403)
		var status int
		m.eval(fmt.Sprintf(`fetch(%q).then(r => r.status)`, q), &status)
		if status != 403 {
			t.Errorf("store manager GET %s: %d, want 403", q, status)
		}
	}
	var post int
	m.expectStatus("/api/v1/alerts/", 403)
	m.eval(`fetch('/api/v1/me').then(r => r.json()).then(me => fetch('/api/v1/alerts/1/ack', {method: 'POST',
		headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token}, body: '{}'})).then(r => r.status)`, &post)
	if post != 403 {
		t.Errorf("store manager acknowledging an alert: %d, want 403", post)
	}
	ha.finish()
	hb.finish()
	_ = time.Second
}
