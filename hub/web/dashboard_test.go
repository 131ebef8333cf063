package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/hub"
)

// TestDashboardPages: every page path answers index.html to a signed-in
// person with a strict content security policy, and sends anyone else to
// the sign-in page with the path to come back to.
func TestDashboardPages(t *testing.T) {
	f := newFixture(t)
	f.user("ann", hub.RoleViewer, "")
	anon := f.browser()
	b := f.browser()
	if code, _, page := b.login("ann", userPW, "/"); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %.300s", code, page)
	}
	for _, p := range []string{"/", "/overview", "/feed", "/alerts", "/codes", "/codes/ABCD2345EFGH", "/campaigns",
		"/campaigns/coffee", "/stores", "/stores/s1", "/reports", "/admin"} {
		code, h, page := b.send("GET", p, "", "", nil)
		if code != http.StatusOK || !strings.Contains(page, `<script type="module" src="/assets/app.js">`) {
			t.Errorf("GET %s signed in: %d %.200s, want 200 and index.html", p, code, page)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline code", p, csp)
		}
		code, h, _ = anon.send("GET", p, "", "", nil)
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
			t.Errorf("GET %s signed out: %d to %q, want 303 to /login?next=", p, code, h.Get("Location"))
		}
	}
	// An unknown page is the API's 404, not the app.
	if code, _, page := b.send("GET", "/nowhere", "", "", nil); code != http.StatusNotFound || strings.Contains(page, "<script") {
		t.Errorf("GET /nowhere: %d %.200s, want 404", code, page)
	}
}

// TestDashboardAssets: the embedded files are served without a session,
// typed, revalidated by ETag, gzipped when asked, and an unknown file is
// a 404. Every file index.html and the scripts refer to exists.
func TestDashboardAssets(t *testing.T) {
	f := newFixture(t)
	anon := f.browser()
	for file, ctype := range map[string]string{"app.js": "text/javascript", "app.css": "text/css",
		"vendor/lib.js": "text/javascript", "vendor/uplot.css": "text/css", "vendor/LICENSES.txt": "text/plain"} {
		code, h, body := anon.send("GET", "/assets/"+file, "", "", map[string]string{"Accept-Encoding": "identity"})
		want, _ := fs.ReadFile(uiFiles, "ui/"+file)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), ctype) || body != string(want) {
			t.Errorf("GET /assets/%s: %d %s, %d bytes, want 200 %s with the embedded %d bytes", file, code, h.Get("Content-Type"), len(body), ctype, len(want))
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" {
			t.Errorf("GET /assets/%s: headers %v, want nosniff, no-cache and an ETag", file, h)
		}
		code, _, _ = anon.send("GET", "/assets/"+file, "", "", map[string]string{"If-None-Match": h.Get("ETag")})
		if code != http.StatusNotModified {
			t.Errorf("GET /assets/%s with its ETag: %d, want 304", file, code)
		}
	}
	// gzip: the bundle is sent compressed and inflates to the file.
	r, _ := http.NewRequest("GET", f.srv.URL+"/assets/vendor/lib.js", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := fs.ReadFile(uiFiles, "ui/vendor/lib.js")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(raw) >= len(want)/2 {
		t.Fatalf("lib.js with Accept-Encoding gzip: encoding %q, %d bytes of %d", resp.Header.Get("Content-Encoding"), len(raw), len(want))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, want) {
		t.Errorf("lib.js gunzipped: %d bytes differ from the file's %d", len(got), len(want))
	}
	for _, p := range []string{"/assets/nope.js", "/assets/index.html", "/assets/vendor/"} {
		if code, _, _ := anon.send("GET", p, "", "", nil); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}

	// Every module a script imports and every file index.html links is embedded.
	ref := regexp.MustCompile(`(?:from|import)\s+'(\.[^']+)'|(?:href|src)="/assets/([^"]+)"`)
	err = fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".html")) || strings.Contains(p, "vendor/") {
			return err
		}
		b, _ := fs.ReadFile(uiFiles, p)
		dir := p[:strings.LastIndex(p, "/")]
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			target := "ui/" + m[2]
			if m[1] != "" {
				target = cleanJoin(dir, m[1])
			}
			if _, err := fs.Stat(uiFiles, target); err != nil {
				t.Errorf("%s refers to %s, which is not embedded", p, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cleanJoin resolves a relative module path against dir.
func cleanJoin(dir, rel string) string {
	parts := strings.Split(dir, "/")
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case ".":
		case "..":
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "/")
}
