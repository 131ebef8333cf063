package web

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestEnroll: a terminal exchanges its token, without the admin token, for
// its credentials, the MQTT URL (host as it reached the hub) and the CA;
// the token works once; bad bodies and unknown tokens get a clear 4xx.
func TestEnroll(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var tok struct {
		Token string `json:"token"`
	}
	f.call("POST", "/api/v1/enrollments", `{"store":"s1","terminal":"t-new"}`, http.StatusCreated, &tok)
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"token":%q,"public_key":%q}`, strings.ToLower(tok.Token), base64.StdEncoding.EncodeToString(pub))
	noAuth := map[string]string{"Authorization": ""}
	code, _, b := f.do(req{method: "POST", path: "/api/v1/enroll", body: body, header: noAuth})
	if code != http.StatusOK {
		t.Fatalf("enroll: %d %s", code, b)
	}
	var got struct {
		Terminal string `json:"terminal"`
		Store    struct {
			ID string `json:"id"`
		} `json:"store"`
		Password string            `json:"mqtt_password"`
		Pepper   []byte            `json:"pepper"`
		Keys     []json.RawMessage `json:"issuing_keys"`
		MQTT     string            `json:"mqtt_url"`
		CA       string            `json:"ca_cert"`
		FP       string            `json:"ca_fingerprint"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Terminal != "t-new" || got.Store.ID != "s1" || len(got.Password) < 16 || len(got.Pepper) == 0 || len(got.Keys) == 0 {
		t.Errorf("enrolled %s: want t-new of s1 with a password, the pepper and the keys", b)
	}
	if got.MQTT != "mqtts://127.0.0.1:8883" || !strings.Contains(got.CA, "BEGIN CERTIFICATE") || got.FP != "SHA256:TEST" {
		t.Errorf("mqtt_url %q, ca_cert %q, fingerprint %q", got.MQTT, got.CA, got.FP)
	}
	if store, err := f.hub.Login("t-new", []byte(got.Password)); err != nil || store != "s1" {
		t.Errorf("login with the password: %q, %v", store, err)
	}
	for _, c := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"again", body, http.StatusConflict, "used"},
		{"unknown token", `{"token":"AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH","public_key":"` + base64.StdEncoding.EncodeToString(pub) + `"}`, http.StatusNotFound, "unknown enrollment token"},
		{"not JSON", `{`, http.StatusBadRequest, ""},
		{"unknown field", `{"token":"x","public_key":"","colour":1}`, http.StatusBadRequest, "colour"},
		{"key not base64", `{"token":"x","public_key":"%%%"}`, http.StatusBadRequest, "public_key"},
		{"short key", `{"token":"x","public_key":"AAAA"}`, http.StatusBadRequest, "Ed25519"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, b := f.do(req{method: "POST", path: "/api/v1/enroll", body: c.body, header: noAuth})
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, b)
			}
			if e := apiError(t, b); !strings.Contains(e.Message, c.msg) {
				t.Errorf("message %q, want it to say %q", e.Message, c.msg)
			}
		})
	}
}

func TestTerminalStatus(t *testing.T) {
	f := newFixture(t)
	f.seed()
	var tok struct {
		Token string `json:"token"`
	}
	f.call("POST", "/api/v1/enrollments", `{"store":"s1","terminal":"t-st"}`, http.StatusCreated, &tok)
	pub, _, _ := ed25519.GenerateKey(nil)
	noAuth := map[string]string{"Authorization": ""}
	code, _, b := f.do(req{method: "POST", path: "/api/v1/enroll", header: noAuth,
		body: fmt.Sprintf(`{"token":%q,"public_key":%q}`, tok.Token, base64.StdEncoding.EncodeToString(pub))})
	if code != http.StatusOK {
		t.Fatalf("enroll: %d %s", code, b)
	}
	var got struct {
		Password string `json:"mqtt_password"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	status := func(terminal, password string) (int, string) {
		code, _, b := f.do(req{method: "POST", path: "/api/v1/terminal/status", header: noAuth,
			body: fmt.Sprintf(`{"terminal":%q,"password":%q}`, terminal, password)})
		return code, string(b)
	}
	if code, b := status("t-st", got.Password); code != http.StatusOK || !strings.Contains(b, `"status":"active"`) {
		t.Errorf("active terminal: %d %s", code, b)
	}
	wrong, _ := status("t-st", "not-the-password")
	unknown, _ := status("t-none", got.Password)
	if wrong != http.StatusNotFound || unknown != http.StatusNotFound {
		t.Errorf("wrong password %d, unknown terminal %d: want 404 for both", wrong, unknown)
	}
	f.call("POST", "/api/v1/terminals/t-st/revoke", `{}`, http.StatusOK, nil)
	if code, b := status("t-st", got.Password); code != http.StatusOK || !strings.Contains(b, `"status":"revoked"`) {
		t.Errorf("revoked terminal: %d %s", code, b)
	}
	if wrong, _ := status("t-st", "x"); wrong != http.StatusNotFound {
		t.Errorf("a revoked terminal's status told to a wrong password: %d", wrong)
	}
}
