package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// The dashboard: a single-page app in ui/, embedded in the binary so it
// works on an intranet with no internet. The pages are one index.html; the
// app reads the path and draws the page, and talks to the same /api/v1
// routes as any integrator, with the session cookie.

//go:embed ui
var uiFiles embed.FS

// dashboardPages are the app's page paths: each answers index.html to a
// signed-in person (serveHTTP sends others to /login).
var dashboardPages = []string{
	"/{$}", "/overview", "/feed", "/alerts", "/codes", "/codes/{q...}",
	"/campaigns", "/campaigns/{id}", "/stores", "/stores/{id}", "/reports", "/admin",
}

// contentSecurityPolicy lets a page load only the hub's own scripts,
// styles, images and connections, and never be framed.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	gz    []byte // gzipped body, or nil when it does not pay
	ctype string
	etag  string
}

func (s *Server) dashboardRoutes() {
	assets, err := loadAssets()
	if err != nil {
		// The files are embedded at build time: a failure is a bad build.
		panic(fmt.Sprintf("web: dashboard assets: %v", err))
	}
	index := assets["index.html"]
	for _, p := range dashboardPages {
		s.handle("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			serveAsset(w, r, index)
		})
	}
	s.handle("GET /assets/{file...}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.PathValue("file")]
		if !ok || r.PathValue("file") == "index.html" {
			s.fail(w, r, http.StatusNotFound, "not_found", "no such dashboard file: "+r.URL.Path)
			return
		}
		serveAsset(w, r, a)
	})
}

// loadAssets reads every embedded file once: its type, ETag and gzipped
// form.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a := &asset{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		a.ctype = mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js":
			a.ctype = "text/javascript; charset=utf-8"
		case ".css":
			a.ctype = "text/css; charset=utf-8"
		case ".html":
			a.ctype = "text/html; charset=utf-8"
		case ".txt":
			a.ctype = "text/plain; charset=utf-8"
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		if len(b) > 1024 && !strings.HasPrefix(a.ctype, "image/") {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(b)
			zw.Close()
			if buf.Len() < len(b)*9/10 {
				a.gz = buf.Bytes()
			}
		}
		out[strings.TrimPrefix(p, "ui/")] = a
		return nil
	})
	if len(out) == 0 && err == nil {
		err = fmt.Errorf("no files embedded")
	}
	return out, err
}

// serveAsset answers one embedded file: revalidated on every load (ETag,
// 304) so a new hub's files are used at once, gzipped when the browser
// takes it, with a content security policy on pages.
func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if strings.HasPrefix(a.ctype, "text/html") {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether r's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
