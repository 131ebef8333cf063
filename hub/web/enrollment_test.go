package web

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/hexiao/hexiao/protocol"
)

// decodeQR reads the one QR code in a PNG with gozxing's reader, as a
// camera app would, and returns its text and error correction level.
func decodeQR(tb testing.TB, b []byte) (text, level string) {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("decode png: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		// gozxing's finder-pattern detector misses some clean codes (its
		// estimate of a pattern fell off the image once, for one random
		// link); the image is the whole code, so read it as such, which
		// still checks every module.
		var err2 error
		res, err2 = qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err2 != nil {
			tb.Fatalf("read the QR code of a %v image: %v; as a pure barcode: %v", img.Bounds(), err, err2)
		}
	}
	level, _ = res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return res.GetText(), level
}

// enrollmentAnswer is the JSON of POST /api/v1/enrollments.
type enrollmentAnswer struct {
	Token    string `json:"token"`
	Store    string `json:"store"`
	Terminal string `json:"terminal"`
	Link     string `json:"link"`
	QRPNGURL string `json:"qr_png_url"`
}

// checkEnrollmentQR makes an enrollment through base with client, checks
// that its link names the hub at base with the token and the CA ca, and
// that the QR code served at qr_png_url holds exactly that link, at the
// default size and at the smallest.
func checkEnrollmentQR(t *testing.T, client *http.Client, base, terminal, ca string) {
	t.Helper()
	do := func(method, path, body string) (int, http.Header, []byte) {
		t.Helper()
		r, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+testToken)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, b
	}
	code, _, b := do("POST", "/api/v1/enrollments", `{"store":"s1","terminal":"`+terminal+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /api/v1/enrollments: %d %s", code, b)
	}
	var en enrollmentAnswer
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	l, err := protocol.ParseEnrollLink(en.Link)
	if err != nil {
		t.Fatalf("link %q: %v", en.Link, err)
	}
	if want := (protocol.EnrollLink{Hub: base, Token: en.Token, CA: ca}); l != want {
		t.Errorf("link %q reads %+v, want %+v", en.Link, l, want)
	}
	for _, size := range []struct {
		query string
		px    int
	}{{"", qrDefault}, {"&size=64", qrMin}} {
		code, h, png := do("GET", en.QRPNGURL+size.query, "")
		if code != http.StatusOK || h.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %s %s", en.QRPNGURL+size.query, code, h.Get("Content-Type"), png)
		}
		text, level := decodeQR(t, png)
		if text != en.Link || level != "M" {
			t.Errorf("QR code at %d px holds %q at level %q, want %q at M", size.px, text, level, en.Link)
		}
	}
}

// TestEnrollmentQR: on plain HTTP (loopback) the enrollment link names the
// hub by http:// and the address the caller used, carries the token and no
// CA, and the QR code holds that link.
func TestEnrollmentQR(t *testing.T) {
	f := newFixture(t)
	f.seed()
	checkEnrollmentQR(t, f.client, f.srv.URL, "t-qr", "")
}

// TestEnrollmentQRTLS: over TLS the link names the hub by https:// and
// carries the CA fingerprint of Config.Enroll, in the JSON and in the QR.
func TestEnrollmentQRTLS(t *testing.T) {
	f := newFixture(t)
	f.seed()
	ts := httptest.NewTLSServer(f.web.Handler())
	defer ts.Close()
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("TLS server at %s", ts.URL)
	}
	checkEnrollmentQR(t, ts.Client(), ts.URL, "t-qr-tls", "SHA256:TEST")
}

// TestEnrollLink: the link follows the request (its scheme, its Host) and
// Config.Enroll; without Config.Enroll (an external broker) it still names
// the hub and the token. A Host that cannot name the hub is a 400.
func TestEnrollLink(t *testing.T) {
	f := newFixture(t)
	bare, err := New(Config{Hub: f.hub, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	const tok = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for _, c := range []struct {
		name   string
		s      *Server
		target string // httptest.NewRequest sets r.TLS for https
		host   string // replaces the target's host when set
		want   string
	}{
		{"loopback http", f.web, "http://127.0.0.1:8480/", "",
			"hexiao://enroll?hub=http%3A%2F%2F127.0.0.1%3A8480&token=" + tok},
		{"tls", f.web, "https://hq.example:8480/", "",
			"hexiao://enroll?ca=SHA256%3ATEST&hub=https%3A%2F%2Fhq.example%3A8480&token=" + tok},
		{"tls ipv6", f.web, "https://[2001:db8::1]:8480/", "",
			"hexiao://enroll?ca=SHA256%3ATEST&hub=https%3A%2F%2F%5B2001%3Adb8%3A%3A1%5D%3A8480&token=" + tok},
		{"tls, no enroll info", bare, "https://hq.example:8480/", "",
			"hexiao://enroll?hub=https%3A%2F%2Fhq.example%3A8480&token=" + tok},
		{"http, no enroll info", bare, "http://localhost:8480/", "",
			"hexiao://enroll?hub=http%3A%2F%2Flocalhost%3A8480&token=" + tok},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.target, nil)
			w := httptest.NewRecorder()
			base, ok := c.s.hubURL(w, r)
			if !ok {
				t.Fatalf("hubURL refused %q: %s", r.Host, w.Body)
			}
			if got := c.s.enrollLink(r, base, tok).String(); got != c.want {
				t.Errorf("link %s, want %s", got, c.want)
			}
		})
	}
	for _, host := range []string{"", "hq.example:8480@evil", strings.Repeat("a", maxHost+1)} {
		r := httptest.NewRequest("GET", "https://hq.example"+qrPath+"?token="+tok, nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		r.Host = host
		w := httptest.NewRecorder()
		f.web.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest || !strings.Contains(apiError(t, w.Body.Bytes()).Message, "Host") {
			t.Errorf("Host %.20q: %d %.80q, want 400 naming the Host", host, w.Code, w.Body)
		}
	}
}

// TestQRPNG: the image is size×size with a white quiet zone when the code
// fits, larger when it does not, and reads back as the text it was given.
func TestQRPNG(t *testing.T) {
	for _, c := range []struct {
		text string
		size int
		want int // the image's width and height
	}{
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", qrMin, qrMin},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 1000, 1000},
		// 1024 bytes: version 26 at level M, 121 modules and the quiet zone
		// do not fit in 64 pixels.
		{strings.Repeat("hexiao://enroll?", 64), qrMin, 121 + 8},
	} {
		b, err := qrPNG(c.text, c.size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		dx, dy := img.Bounds().Dx(), img.Bounds().Dy()
		if dx != c.want || dy != c.want {
			t.Errorf("%d bytes at size %d: image %dx%d, want %dx%[5]d", len(c.text), c.size, dx, dy, c.want)
		}
		if r, _, _, _ := img.At(0, 0).RGBA(); r != 0xffff {
			t.Errorf("%d bytes at size %d: quiet zone is not white", len(c.text), c.size)
		}
		if got, _ := decodeQR(t, b); got != c.text {
			t.Errorf("%d bytes at size %d: reads %q", len(c.text), c.size, got)
		}
	}
	if _, err := qrPNG(strings.Repeat("a", 2332), qrMin); err == nil {
		t.Error("2332 bytes: no error, want too long for level M")
	}
}

// FuzzQRPNG: any text a link may hold (printable ASCII, up to the 1024
// bytes protocol.ParseEnrollLink reads) draws a QR code that reads back
// as the same text.
func FuzzQRPNG(f *testing.F) {
	f.Add("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	f.Add(protocol.EnrollLink{Hub: "https://hq.example:8480", Token: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CA: "SHA256:" + strings.Repeat("A", 52)}.String())
	f.Add("0")
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" || len(text) > 1024 || strings.IndexFunc(text, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
			t.Skip()
		}
		b, err := qrPNG(text, qrMin)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got, _ := decodeQR(t, b); got != text {
			t.Errorf("reads %q, want %q", got, text)
		}
	})
}
