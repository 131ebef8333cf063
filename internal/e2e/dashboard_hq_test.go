package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"image"
	_ "image/gif" // the QR sheet's images
	_ "image/png" // the enrollment QR code
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The HQ pages an admin works in: campaigns (create, issue codes with the
// CSV download and the printable QR sheet, import card secrets from a CSV
// file, revoke), stores and terminals (add a store, enroll a terminal with
// a QR code), and reports (lock a day). What each step did is checked at
// the API as well as on the page.

// setValue sets a select's or an input's value as a person's choice does
// (the native setter, then input and change events).
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`((sel, v) => {
		const e = document.querySelector(sel);
		if (!e) throw new Error("no element matches " + sel);
		const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(e), "value");
		d.set.call(e, v);
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
		return e.value;
	})(%s, %s)`, jsString(sel), jsString(value))
	var got string
	b.eval(js, &got)
	if got != value {
		b.t.Fatalf("%s: set %s to %q: it holds %q", b.name, sel, value, got)
	}
}

// upload puts files into the file input sel.
func (b *browser) upload(sel string, files ...string) {
	b.t.Helper()
	if err := b.do(chromedp.SetUploadFiles(chromedp.CSS(sel), files)); err != nil {
		b.t.Fatalf("%s: upload %v into %s: %v", b.name, files, sel, err)
	}
}

// downloadsTo lets the browser save downloads into dir.
func (b *browser) downloadsTo(dir string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
	if err != nil {
		b.t.Fatalf("%s: allow downloads: %v", b.name, err)
	}
}

// media emulates a CSS media type ("print"; "" for the screen again).
func (b *browser) media(m string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m}); err != nil {
		b.t.Fatalf("%s: emulate media %q: %v", b.name, m, err)
	}
}

// waitFile waits for one file matching glob to be complete in dir.
func waitFile(t *testing.T, dir, glob string) string {
	t.Helper()
	var found string
	eventually(t, wait, "a download "+glob, func() (bool, string) {
		m, _ := filepath.Glob(filepath.Join(dir, glob))
		all, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range m {
			if !strings.HasSuffix(p, ".crdownload") {
				found = p
				return true, ""
			}
		}
		return false, fmt.Sprintf("files: %v", all)
	})
	return found
}

// decodeQR reads the QR code of an image.
func decodeQR(t *testing.T, img []byte) string {
	t.Helper()
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("decode a QR image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		t.Fatalf("QR image: %v", err)
	}
	// A generated image is a pure barcode: read it as one, and look harder
	// only if that fails.
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		res, err = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	}
	if err != nil {
		t.Fatalf("read the QR code: %v", err)
	}
	return res.GetText()
}

func TestDashboardHQ(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir, "127.0.0.1:0", "127.0.0.1:0")
	h.addStore("S1", "east")
	h.addUser("hq", "admin", "")
	// One redemption at S1 for the report.
	h.addCampaign("C1", []string{"S1"}, 10)
	c1 := h.issue("C1", 1)
	hl := enroll(t, h, "S1", "T1").start()
	hl.waitMode("online", wait)
	if d := hl.scan(c1[0].Code); d.Verdict != "accepted" {
		t.Fatalf("T1 scans a fresh code: %+v", d)
	}
	downloads := t.TempDir()

	b := startBrowser(t)
	b.downloadsTo(downloads)
	b.signIn(h, "hq", "/campaigns")
	b.waitText(`[data-test=campaign-row][data-id=C1]`, "Campaign C1", wait)

	// Create a campaign: the form's fields reach the hub as the campaign.
	b.click(`[data-test=camp-new]`)
	b.fill(`[data-test=cf-id]`, "C9")
	b.fill(`[data-test=cf-name]`, "Tea for two")
	b.fill(`[data-test=cf-face]`, "12.5")
	b.fill(`[data-test=cf-uses]`, "2")
	b.fill(`[data-test=cf-stores]`, "S1")
	b.fill(`[data-test=cf-hours]`, "xx")
	b.expectStatus("/api/v1/campaigns", 400)
	b.click(`[data-test=cf-save]`)
	if e := b.waitText(`[data-test=camp-form-error]`, "hours", wait); !strings.Contains(e, "xx") {
		t.Errorf("the hub's refusal of bad hours, shown at the form: %q", e)
	}
	b.fill(`[data-test=cf-hours]`, "08:00-22:00")
	b.setValue(`[data-test=cf-until]`, "2035-12-31T00:00")
	b.click(`[data-test=cf-offAllow]`)
	b.fill(`[data-test=cf-offCount]`, "5")
	b.click(`[data-test=cf-save]`)
	b.waitText(`[data-test=camp-title]`, "Tea for two", wait)
	var camp struct {
		FaceValue  int64     `json:"face_value"`
		ValidUntil time.Time `json:"valid_until"`
		Uses       int       `json:"uses"`
		Hours      []string  `json:"hours"`
		Stores     []string  `json:"stores"`
		Offline    struct {
			Allow    bool `json:"allow"`
			MaxCount int  `json:"max_count"`
		} `json:"offline"`
	}
	h.call("GET", "/api/v1/campaigns/C9", nil, &camp)
	if camp.FaceValue != 1250 || camp.Uses != 2 || fmt.Sprint(camp.Hours) != "[08:00-22:00]" || fmt.Sprint(camp.Stores) != "[S1]" ||
		!camp.Offline.Allow || camp.Offline.MaxCount != 5 || camp.ValidUntil.Year() != 2035 {
		t.Errorf("the campaign made on the page: %+v", camp)
	}

	// Issue three codes: the CSV download holds them, each one the hub
	// knows as issued for this order.
	b.fill(`[data-test=iss-count]`, "3")
	b.fill(`[data-test=iss-order]`, "PO-7")
	b.click(`[data-test=iss-go]`)
	b.waitText(`[data-test=iss-done]`, "3 codes issued", wait)
	b.waitText(`[data-test=iss-once]`, "shown only now", wait)
	b.click(`[data-test=iss-csv]`)
	f, err := os.ReadFile(waitFile(t, downloads, "C9-codes-*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(f)).ReadAll()
	if err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != "id,code" {
		t.Fatalf("the codes' CSV: %v %q", err, f)
	}
	codes := map[string]string{} // code text → id
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[1], "HX1:") {
			t.Errorf("CSV row %v: not a signed code", r)
		}
		var info struct {
			Campaign string `json:"campaign"`
			OrderRef string `json:"order_ref"`
			Status   string `json:"status"`
		}
		h.call("GET", "/api/v1/codes/"+url.PathEscape(r[1]), nil, &info)
		if info.Campaign != "C9" || info.OrderRef != "PO-7" || info.Status != "active" {
			t.Errorf("code %s of the CSV at the hub: %+v", r[0], info)
		}
		codes[r[1]] = r[0]
	}

	// The QR sheet: three images, each the code printed under it; in print
	// only the sheet shows.
	b.click(`[data-test=iss-print]`)
	b.waitVisible(`[data-test=qr-sheet]`)
	var qrs []struct{ Src, Code, Caption string }
	b.eval(`Promise.all([...document.querySelectorAll('[data-test=qr-cell]')].map(async (c) => {
		const img = c.querySelector('img');
		await img.decode();
		return {src: img.src, code: img.dataset.code, caption: c.querySelector('figcaption').innerText};
	}))`, &qrs)
	if len(qrs) != 3 {
		t.Fatalf("the QR sheet shows %d codes, want 3", len(qrs))
	}
	for _, q := range qrs {
		data, ok := strings.CutPrefix(q.Src, "data:image/gif;base64,")
		if !ok {
			t.Fatalf("QR image source %.40q: want a GIF data URL", q.Src)
		}
		img, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		text := decodeQR(t, img)
		if id, ok := codes[text]; !ok || !strings.Contains(q.Caption, id) || !strings.Contains(q.Caption, text) {
			t.Errorf("QR code reads %q (issued: %v), caption %q", text, ok, q.Caption)
		}
	}
	b.media("print")
	var printed struct{ Header, Tools, Sheet, Issue string }
	b.eval(`({header: getComputedStyle(document.querySelector('header.top')).display,
		tools: getComputedStyle(document.querySelector('.qr-tools')).display,
		sheet: getComputedStyle(document.querySelector('[data-test=qr-sheet]')).display,
		issue: getComputedStyle(document.querySelector('[data-test=camp-facts]')).display})`, &printed)
	if printed.Header != "none" || printed.Tools != "none" || printed.Issue != "none" || printed.Sheet == "none" {
		t.Errorf("printing the QR sheet shows: %+v, want only the sheet", printed)
	}
	b.media("")
	b.shot("dashboard-qr-sheet")
	b.click(`[data-test=qr-close]`)

	// Import card secrets from a CSV file with a header, an empty line and
	// a repeat.
	secrets := filepath.Join(t.TempDir(), "secrets.csv")
	if err := os.WriteFile(secrets, []byte("card_secret,value\r\n1234-5678-9012,50\r\n\r\n\"2345 6789 0123\",50\r\n1234-5678-9012,50\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.fill(`[data-test=imp-order]`, "supplier-7")
	b.upload(`[data-test=imp-file]`, secrets)
	sum := b.waitText(`[data-test=imp-summary]`, "5 lines read: 2 card secrets", wait)
	for _, want := range []string{"header row skipped", "1 empty", "1 repeated secrets skipped (lines 5)"} {
		if !strings.Contains(sum, want) {
			t.Errorf("import summary %q lacks %q", sum, want)
		}
	}
	b.click(`[data-test=imp-go]`)
	b.waitText(`[data-test=import] [data-test=notice]`, "2 card secrets imported", wait)
	for _, s := range []string{"123456789012", "234567890123"} {
		var info struct {
			Campaign string `json:"campaign"`
			OrderRef string `json:"order_ref"`
		}
		h.call("GET", "/api/v1/codes/"+s, nil, &info)
		if info.Campaign != "C9" || info.OrderRef != "supplier-7" {
			t.Errorf("imported secret at the hub: %+v", info)
		}
	}

	// Revoke one issued code and an id the hub does not know.
	var first string
	for _, id := range codes {
		first = id
		break
	}
	b.fill(`[data-test=rev-ids]`, first+"\nNOSUCHCODE22")
	b.fill(`[data-test=rev-reason]`, "refunded")
	b.expectStatus("/api/v1/codes/NOSUCHCODE22/revoke", 404)
	b.click(`[data-test=rev-go]`)
	b.click(`[data-test=rev-ok]`)
	b.waitText(`[data-test=rev-progress]`, "1 of 2 codes revoked", wait)
	b.waitText(`[data-test=rev-fails]`, "NOSUCHCODE22", wait)
	if c := h.code(first); c.Status != "revoked" {
		t.Errorf("revoked code at the hub: %+v", c)
	}

	// Add a store, then enroll a terminal there: the QR code loads and
	// holds the link shown.
	b.click(`[data-nav=stores]`)
	b.waitVisible(`[data-test=store-row][data-id=S1]`)
	b.click(`[data-test=st-add]`)
	b.fill(`[data-test=sf-id]`, "S7")
	b.fill(`[data-test=sf-name]`, "Jing'an Temple")
	b.fill(`[data-test=sf-region]`, "east")
	b.fill(`[data-test=sf-tz]`, "Asia/Shanghai")
	b.click(`[data-test=sf-save]`)
	b.waitText(`[data-test=store-row][data-id=S7]`, "Jing'an Temple", wait)
	b.waitText(`[data-test=store-row][data-id=S7] [data-test=store-online]`, "0 / 0", wait)
	b.waitText(`[data-test=store-row][data-id=S1] [data-test=store-online]`, "1 / 1", wait)
	b.click(`[data-test=store-row][data-id=S7] a`)
	b.waitText(`[data-test=store-title]`, "Jing'an Temple", wait)
	b.waitVisible(`[data-test=tm-empty]`)
	b.click(`[data-test=st-enroll]`)
	b.fill(`[data-test=en-terminal]`, "S7-T1")
	b.click(`[data-test=en-go]`)
	b.waitVisible(`[data-test=en-qr]`)
	var qr struct {
		Link  string
		Width int
		PNG   string
	}
	b.eval(`(async () => {
		const img = document.querySelector('[data-test=en-qr]');
		await img.decode();
		const r = await fetch(img.src);
		const buf = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (const x of buf) s += String.fromCharCode(x);
		return {link: document.querySelector('[data-test=en-link]').value, width: img.naturalWidth, png: btoa(s)};
	})()`, &qr)
	if !strings.HasPrefix(qr.Link, "hexiao://enroll?") || qr.Width < 64 {
		t.Fatalf("enrollment: link %q, QR image %d px wide", qr.Link, qr.Width)
	}
	png, err := base64.StdEncoding.DecodeString(qr.PNG)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, png); got != qr.Link {
		t.Errorf("the enrollment QR code reads %q, the link shown is %q", got, qr.Link)
	}
	b.shot("dashboard-enroll")
	b.click(`[data-test=en-close]`)

	// Users and tokens: a store manager of S7 added with a password that
	// signs in; a token whose secret is shown once and works until revoked.
	b.click(`[data-nav=admin]`)
	b.waitVisible(`[data-test=user-row][data-name=hq]`)
	b.click(`[data-test=usr-add]`)
	b.fill(`[data-test=uf-name]`, "mgr7")
	b.fill(`[data-test=uf-display]`, "Mgr7")
	b.setValue(`[data-test=uf-role]`, "store_manager")
	b.setValue(`[data-test=uf-store]`, "S7")
	b.fill(`[data-test=uf-password]`, dashPassword)
	b.click(`[data-test=uf-save]`)
	b.waitText(`[data-test=user-row][data-name=mgr7]`, "Store manager · Jing'an Temple", wait)
	m := b.newContext()
	m.signIn(h, "mgr7", "/stores/S7")
	m.waitText(`[data-test=store-title]`, "Jing'an Temple", wait)
	if n := m.count(`[data-nav=admin]`) + m.count(`[data-nav=campaigns]`); n != 0 {
		t.Errorf("a store manager sees %d admin/campaign links", n)
	}
	b.click(`[data-test=tok-add]`)
	b.fill(`[data-test=tf-name]`, "erp")
	b.click(`[data-test=tf-save]`)
	b.waitVisible(`[data-test=tok-secret]`)
	var secret string
	b.eval(`document.querySelector('[data-test=tok-secret]').value`, &secret)
	if !strings.HasPrefix(secret, "hxt_") {
		t.Fatalf("the new token's secret shown: %q", secret)
	}
	tok := &hubProc{t: t, http: h.http, token: secret}
	tok.call("GET", "/api/v1/stores", nil, nil)
	b.click(`[data-test=tok-close]`)
	b.waitText(`[data-test=token-row]`, "erp", wait)
	if strings.Contains(b.text(`main`), secret) {
		t.Errorf("the token's secret is still on the page after closing its dialog")
	}
	b.click(`[data-test=token-row] [data-test=tok-revoke]`)
	b.click(`[data-test=confirm-ok]`)
	b.waitText(`[data-test=tokens] [data-test=notice]`, "revoked", wait)
	req, _ := http.NewRequest("GET", "http://"+h.http+"/api/v1/stores", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked token: %s, want 401", resp.Status)
	}

	// The reports: S1's redemption in the table and its total; lock S1's
	// day from its row and a day of S7 from the form, each after a warning.
	eventually(t, wait, "the redemption in the hub's report", func() (bool, string) {
		var rows []map[string]any
		today := time.Now().UTC()
		h.call("GET", "/api/v1/reports?store=S1&from="+today.AddDate(0, 0, -1).Format(time.DateOnly)+"&to="+today.AddDate(0, 0, 1).Format(time.DateOnly), nil, &rows)
		return len(rows) == 1, fmt.Sprint(rows)
	})
	b.click(`[data-nav=reports]`)
	row := b.waitText(`[data-test=rep-row][data-store=S1]`, "Campaign C1", wait)
	for _, want := range []string{"Store S1", "25.00", "Lock day"} {
		if !strings.Contains(row, want) {
			t.Errorf("report row %q lacks %q", row, want)
		}
	}
	b.waitText(`[data-test=rep-total]`, "25.00", wait)
	b.click(`[data-test=rep-row][data-store=S1] [data-test=rep-lock]`)
	b.waitText(`dialog.dialog`, "can no longer be voided", wait)
	b.click(`[data-test=lock-ok]`)
	b.waitText(`[data-test=rep-row][data-store=S1]`, "locked", wait)
	b.shot("dashboard-reports")
	var csvHead string
	b.eval(`fetch(document.querySelector('[data-test=rep-csv]').href).then((r) => r.text()).then((s) => s.split('\n')[0])`, &csvHead)
	if !strings.Contains(csvHead, "day") || !strings.Contains(csvHead, "store") {
		t.Errorf("the report's CSV link answers a first line %q", csvHead)
	}
	day := time.Now().Format(time.DateOnly) // the page's range is this month
	eventually(t, wait, "S7 among the stores to lock", func() (bool, string) {
		return b.count(`[data-test=lock-store] option[value=S7]`) == 1, b.text(`[data-test=locks]`)
	})
	b.setValue(`[data-test=lock-store]`, "S7")
	b.setValue(`[data-test=lock-day]`, day)
	b.click(`[data-test=lock-go]`)
	b.waitText(`dialog.dialog`, "can no longer be voided", wait)
	b.click(`[data-test=lock-ok]`)
	b.waitText(`[data-test=notice]`, "Jing'an Temple locked", wait)
	b.waitText(fmt.Sprintf(`[data-test=lock][data-store=S7][data-day=%q]`, day), day, wait)

	// The same pages in Chinese: a word without its zh-CN text is a
	// console error, which fails the test.
	b.click(`[data-test=lang]`)
	b.waitText(`[data-nav=reports]`, "报表", wait)
	b.waitText(`[data-test=rep-row][data-store=S1]`, "已锁定", wait)
	for _, p := range []struct{ nav, sel, want string }{
		{"campaigns", `[data-test=campaign-row][data-id=C9]`, "Tea for two"},
		{"stores", `[data-test=store-row][data-id=S1]`, "1 / 1"},
		{"admin", `[data-test=user-row][data-name=mgr7]`, "店长"},
	} {
		b.click(`[data-nav=` + p.nav + `]`)
		b.waitText(p.sel, p.want, wait)
	}
	b.click(`[data-nav=campaigns]`)
	b.click(`[data-test=campaign-row][data-id=C9] a`)
	b.waitText(`[data-test=issue]`, "发码", wait)
	b.click(`[data-nav=stores]`)
	b.click(`[data-test=store-row][data-id=S1] a`)
	b.waitText(`[data-test=terminal-row][data-id=T1] [data-test=tm-online]`, "在线", wait)
	// The terminal stops: its row says so without a reload.
	b.noReload()
	hl.finish()
	b.waitText(`[data-test=terminal-row][data-id=T1] [data-test=tm-online]`, "离线", wait)
	b.sameDocument("the store's terminals")
	b.click(`[data-test=terminal-row][data-id=T1] [data-test=tm-revoke]`)
	b.waitText(`dialog.dialog`, "T1", wait)
	b.click(`[data-test=tm-revoke-ok]`)
	b.waitText(`[data-test=terminal-row][data-id=T1]`, "已吊销", wait)
	var terms []struct{ ID, Status string }
	h.call("GET", "/api/v1/terminals", nil, &terms)
	if len(terms) != 1 || terms[0].Status != "revoked" {
		t.Errorf("terminals after revoking T1 on the page: %+v", terms)
	}
}
