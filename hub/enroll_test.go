package hub_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
)

func newKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func errKind(err error) hub.ErrorKind {
	if e := hub.AsError(err); e != nil {
		return e.Kind
	}
	return ""
}

// TestEnroll: a token, typed in lower case with hyphens, gives the
// terminal its identity and credentials once; the MQTT password logs in,
// a second use and an expired token are refused and change nothing.
func TestEnroll(t *testing.T) {
	f := hubtest.New(t, hub.Config{EnrollmentTTL: time.Hour})
	f.Store("sh-001", "east")
	tok, err := f.Hub.CreateEnrollment(ctx, "sh-001", "T-NEW")
	if err != nil {
		t.Fatal(err)
	}
	typed := strings.ToLower(tok.Token[:8] + "-" + tok.Token[8:16] + " " + tok.Token[16:])
	key := newKey(t)
	got, err := f.Hub.Enroll(ctx, typed, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Terminal != "T-NEW" || got.Store.ID != "sh-001" || len(got.Password) < 16 || len(got.Pepper) == 0 || len(got.IssuingKeys) == 0 {
		t.Fatalf("enrolled %+v: want T-NEW of sh-001 with a password, the pepper and the issuing keys", got)
	}
	if string(got.Pepper) != string(hubtest.Pepper) {
		t.Error("the pepper is not the hub's")
	}
	if store, err := f.Hub.Login("T-NEW", []byte(got.Password)); err != nil || store != "sh-001" {
		t.Errorf("login with the enrolled password: %q, %v", store, err)
	}
	if _, err := f.Hub.Login("T-NEW", []byte("not the password!")); err == nil {
		t.Error("login with another password accepted")
	}
	// The same token again, with another key: refused; the terminal keeps its key.
	if _, err := f.Hub.Enroll(ctx, tok.Token, newKey(t)); errKind(err) != hub.Conflict || !strings.Contains(err.Error(), "used") {
		t.Errorf("second use: %v, want a conflict saying it was used", err)
	}
	if store, err := f.Hub.Login("T-NEW", []byte(got.Password)); err != nil || store != "sh-001" {
		t.Errorf("login after a refused second use: %q, %v", store, err)
	}

	late, err := f.Hub.CreateEnrollment(ctx, "sh-001", "T-LATE")
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(time.Hour)
	if _, err := f.Hub.Enroll(ctx, late.Token, newKey(t)); errKind(err) != hub.Conflict || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v, want a conflict saying it expired", err)
	}
	if _, err := f.Hub.Login("T-LATE", []byte("x")); err == nil {
		t.Error("a terminal exists for an expired token")
	}
	for _, c := range []struct {
		name, token string
		key         ed25519.PublicKey
		kind        hub.ErrorKind
	}{
		{"unknown token", "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH", newKey(t), hub.NotFound},
		{"empty token", " - ", newKey(t), hub.Invalid},
		{"short key", late.Token, key[:31], hub.Invalid},
	} {
		if _, err := f.Hub.Enroll(ctx, c.token, c.key); errKind(err) != c.kind {
			t.Errorf("%s: %v, want %s", c.name, err, c.kind)
		}
	}
}
