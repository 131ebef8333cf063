package hub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
)

// testKDF is a cheap argon2id for tests; DefaultKDF is benchmarked below.
var testKDF = hub.KDF{Time: 1, Memory: 64, Threads: 1}

func newAccounts(t testing.TB, cfg hub.AccountsConfig) (*hubtest.Fixture, *hub.Accounts) {
	t.Helper()
	f := hubtest.New(t, hub.Config{})
	f.Store("s1", "sh")
	f.Store("s2", "sh")
	if cfg.KDF == (hub.KDF{}) {
		cfg.KDF = testKDF
	}
	return f, hub.NewAccounts(f.Hub, cfg)
}

const pw = "correct horse battery"

func addUser(t testing.TB, a *hub.Accounts, name string, role hub.Role, store string) hub.User {
	t.Helper()
	u, err := a.AddUser(context.Background(), hub.NewUser{Name: name, Role: role, Store: store, Password: pw})
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	return u
}

func TestAddUserRefusals(t *testing.T) {
	_, a := newAccounts(t, hub.AccountsConfig{})
	ctx := context.Background()
	addUser(t, a, "al", hub.RoleAdmin, "")
	for _, tc := range []struct {
		nu   hub.NewUser
		kind hub.ErrorKind
		msg  string
	}{
		{hub.NewUser{Name: "", Role: hub.RoleAdmin, Password: pw}, hub.Invalid, "name"},
		{hub.NewUser{Name: "a b", Role: hub.RoleAdmin, Password: pw}, hub.Invalid, "name"},
		{hub.NewUser{Name: "bo", Role: "boss", Password: pw}, hub.Invalid, "unknown role"},
		{hub.NewUser{Name: "bo", Role: hub.RoleStoreManager, Password: pw}, hub.Invalid, "needs a store"},
		{hub.NewUser{Name: "bo", Role: hub.RoleStoreManager, Store: "s9", Password: pw}, hub.Invalid, `no store "s9"`},
		{hub.NewUser{Name: "bo", Role: hub.RoleViewer, Store: "s1", Password: pw}, hub.Invalid, "only a store_manager"},
		{hub.NewUser{Name: "bo", Role: hub.RoleViewer, Password: "short"}, hub.Invalid, "at least 10"},
		{hub.NewUser{Name: "bo", Role: hub.RoleViewer, Password: strings.Repeat("x", 257)}, hub.Invalid, "at most 256"},
		{hub.NewUser{Name: "bo", Role: hub.RoleViewer, DisplayName: "a\nb", Password: pw}, hub.Invalid, "control"},
		{hub.NewUser{Name: "al", Role: hub.RoleViewer, Password: pw}, hub.Conflict, "exists"},
	} {
		_, err := a.AddUser(ctx, tc.nu)
		if errKind(err) != tc.kind || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("add %+v: got %v, want %s containing %q", tc.nu, err, tc.kind, tc.msg)
		}
	}
	us, err := a.Users(ctx)
	if err != nil || len(us) != 1 || us[0].Name != "al" || us[0].DisplayName != "al" {
		t.Errorf("users: got %+v, %v, want only al (display name defaulted)", us, err)
	}
	if !strings.HasPrefix(us[0].Password, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("stored hash %q, want a PHC argon2id string with its parameters", us[0].Password)
	}
}

// TestSignInLockout: five wrong passwords lock the name for five minutes,
// even the right password then; an unknown name locks the same way and
// gets the same answers.
func TestSignInLockout(t *testing.T) {
	f, a := newAccounts(t, hub.AccountsConfig{})
	ctx := context.Background()
	addUser(t, a, "al", hub.RoleAdmin, "")
	for _, name := range []string{"al", "ghost"} {
		for i := range 5 {
			_, _, _, err := a.SignIn(ctx, name, "wrong password!")
			if !errors.Is(err, hub.ErrBadSignIn) {
				t.Fatalf("%s wrong password %d: got %v, want ErrBadSignIn", name, i+1, err)
			}
		}
		_, _, _, err := a.SignIn(ctx, name, pw)
		var le *hub.LockedError
		if !errors.As(err, &le) || !le.Until.Equal(f.Clock.Now().Add(5*time.Minute)) {
			t.Fatalf("%s after 5 wrong: got %v, want locked until +5 min", name, err)
		}
	}
	f.Clock.Add(5*time.Minute - time.Second)
	if _, _, _, err := a.SignIn(ctx, "al", pw); err == nil {
		t.Fatal("al signed in before the lock ended")
	}
	f.Clock.Add(time.Second)
	if _, _, _, err := a.SignIn(ctx, "al", pw); err != nil {
		t.Fatalf("al after the lock: %v", err)
	}
	// Four wrong, one right: the count starts over.
	for range 4 {
		a.SignIn(ctx, "al", "wrong password!")
	}
	if _, _, _, err := a.SignIn(ctx, "al", pw); err != nil {
		t.Fatalf("al after 4 wrong: %v", err)
	}
	if _, _, _, err := a.SignIn(ctx, "al", "wrong password!"); !errors.Is(err, hub.ErrBadSignIn) {
		t.Fatalf("one wrong after a success: got %v, want ErrBadSignIn, not locked", err)
	}
}

func TestSignInDisabled(t *testing.T) {
	_, a := newAccounts(t, hub.AccountsConfig{})
	ctx := context.Background()
	addUser(t, a, "al", hub.RoleAdmin, "")
	tok, _, _, err := a.SignIn(ctx, "al", pw)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, n, err := a.UpdateUser(ctx, "al", hub.UserChange{Disabled: &yes}); err != nil || n != 1 {
		t.Fatalf("disable: ended %d sessions, %v; want 1", n, err)
	}
	if _, _, err := a.Session(ctx, tok); !errors.Is(err, hub.ErrNoSession) {
		t.Errorf("session of a disabled user: got %v, want ErrNoSession", err)
	}
	if _, _, _, err := a.SignIn(ctx, "al", "wrong password!"); !errors.Is(err, hub.ErrBadSignIn) {
		t.Errorf("disabled, wrong password: got %v, want ErrBadSignIn", err)
	}
	if _, _, _, err := a.SignIn(ctx, "al", pw); !errors.Is(err, hub.ErrDisabled) {
		t.Errorf("disabled, right password: got %v, want ErrDisabled", err)
	}
}

// TestSessionExpiry: a session ends after the idle timeout without use,
// and after the maximum age whatever its use; Seen is written at most
// once a minute.
func TestSessionExpiry(t *testing.T) {
	f, a := newAccounts(t, hub.AccountsConfig{IdleTimeout: time.Hour, MaxAge: 3 * time.Hour})
	ctx := context.Background()
	addUser(t, a, "al", hub.RoleAdmin, "")
	tok, s, u, err := a.SignIn(ctx, "al", pw)
	if err != nil {
		t.Fatal(err)
	}
	if !hub.ValidToken(tok) || !hub.ValidToken(s.CSRF) || tok == s.CSRF || u.LastSignIn != hubtest.Now {
		t.Fatalf("sign-in: token %q csrf %q last sign-in %v", tok, s.CSRF, u.LastSignIn)
	}
	f.Clock.Add(30 * time.Second)
	s2, _, err := a.Session(ctx, tok)
	if err != nil || !s2.Seen.Equal(hubtest.Now) {
		t.Fatalf("session at +30 s: seen %v, %v; want unchanged %v", s2.Seen, err, hubtest.Now)
	}
	// Used every 59 minutes: alive until the maximum age.
	for i := range 3 {
		f.Clock.Add(59 * time.Minute)
		if _, _, err := a.Session(ctx, tok); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	f.Clock.Add(3*time.Hour - 3*59*time.Minute - 30*time.Second - time.Second)
	if _, _, err := a.Session(ctx, tok); err != nil {
		t.Fatalf("a second before the maximum age: %v", err)
	}
	f.Clock.Add(time.Second)
	if _, _, err := a.Session(ctx, tok); !errors.Is(err, hub.ErrNoSession) {
		t.Fatalf("at the maximum age: got %v, want ErrNoSession", err)
	}
	// Idle.
	tok, _, _, err = a.SignIn(ctx, "al", pw)
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Add(time.Hour)
	if _, _, err := a.Session(ctx, tok); !errors.Is(err, hub.ErrNoSession) {
		t.Fatalf("idle an hour: got %v, want ErrNoSession", err)
	}
	// Sign-out.
	tok, _, _, _ = a.SignIn(ctx, "al", pw)
	if err := a.SignOut(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(ctx, tok); !errors.Is(err, hub.ErrNoSession) {
		t.Fatalf("signed out: got %v, want ErrNoSession", err)
	}
	for _, bad := range []string{"", "x", tok + "A", strings.Repeat("!", 43)} {
		if _, _, err := a.Session(ctx, bad); !errors.Is(err, hub.ErrNoSession) {
			t.Errorf("token %q: got %v, want ErrNoSession", bad, err)
		}
	}
}

// TestRoleChangeEndsSessions: a new role or store ends every session of
// the user; a new display name does not. Changing one's own password ends
// the others but the one kept.
func TestRoleChangeEndsSessions(t *testing.T) {
	_, a := newAccounts(t, hub.AccountsConfig{})
	ctx := context.Background()
	addUser(t, a, "mo", hub.RoleStoreManager, "s1")
	t1, _, _, _ := a.SignIn(ctx, "mo", pw)
	name := "Mo 莫"
	if _, n, err := a.UpdateUser(ctx, "mo", hub.UserChange{DisplayName: &name}); err != nil || n != 0 {
		t.Fatalf("display name: ended %d, %v; want 0", n, err)
	}
	s2 := "s2"
	u, n, err := a.UpdateUser(ctx, "mo", hub.UserChange{Store: &s2})
	if err != nil || n != 1 || u.Store != "s2" || u.DisplayName != name {
		t.Fatalf("new store: %+v, ended %d, %v", u, n, err)
	}
	if _, _, err := a.Session(ctx, t1); !errors.Is(err, hub.ErrNoSession) {
		t.Fatalf("session after a store change: %v", err)
	}
	viewer := hub.RoleViewer
	u, _, err = a.UpdateUser(ctx, "mo", hub.UserChange{Role: &viewer})
	if err != nil || u.Store != "" {
		t.Fatalf("to viewer: %+v, %v; want the store dropped", u, err)
	}
	bad := "s9"
	mgr := hub.RoleStoreManager
	if _, _, err := a.UpdateUser(ctx, "mo", hub.UserChange{Role: &mgr, Store: &bad}); errKind(err) != hub.Invalid {
		t.Fatalf("manager of an unknown store: %v", err)
	}
	if _, _, err := a.UpdateUser(ctx, "nobody", hub.UserChange{Role: &viewer}); errKind(err) != hub.NotFound {
		t.Fatalf("unknown user: %v", err)
	}

	k1, _, _, _ := a.SignIn(ctx, "mo", pw)
	k2, _, _, _ := a.SignIn(ctx, "mo", pw)
	if err := a.ChangePassword(ctx, "mo", "wrong password!", "a new password", k1); !errors.Is(err, hub.ErrBadSignIn) {
		t.Fatalf("change with a wrong old password: %v", err)
	}
	if err := a.ChangePassword(ctx, "mo", pw, "a new password", k1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(ctx, k1); err != nil {
		t.Errorf("the session kept: %v", err)
	}
	if _, _, err := a.Session(ctx, k2); !errors.Is(err, hub.ErrNoSession) {
		t.Errorf("another session after a password change: %v", err)
	}
	if _, _, _, err := a.SignIn(ctx, "mo", pw); !errors.Is(err, hub.ErrBadSignIn) {
		t.Errorf("old password: %v", err)
	}
	if _, _, _, err := a.SignIn(ctx, "mo", "a new password"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

// TestRehash: a hash made with weaker parameters is made again with the
// current ones at the next sign-in.
func TestRehash(t *testing.T) {
	f, a := newAccounts(t, hub.AccountsConfig{})
	ctx := context.Background()
	addUser(t, a, "al", hub.RoleAdmin, "")
	stronger := hub.NewAccounts(f.Hub, hub.AccountsConfig{KDF: hub.KDF{Time: 2, Memory: 128, Threads: 1}})
	if _, _, _, err := stronger.SignIn(ctx, "al", pw); err != nil {
		t.Fatal(err)
	}
	u, err := a.User(ctx, "al")
	if err != nil || !strings.HasPrefix(u.Password, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("after sign-in with stronger parameters: %q, %v", u.Password, err)
	}
	if _, _, _, err := a.SignIn(ctx, "al", pw); err != nil {
		t.Fatalf("the weaker configuration still checks the stronger hash: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	f, a := newAccounts(t, hub.AccountsConfig{})
	ctx := context.Background()
	secret, tk, err := a.CreateToken(ctx, hub.NewAPIToken{Name: "kiosk", Role: hub.RoleStoreManager, Store: "s1", CreatedBy: "al"})
	if err != nil {
		t.Fatal(err)
	}
	if !hub.ParseAPIToken(secret) || !strings.HasPrefix(secret, "hxt_") || tk.CreatedBy != "al" || !tk.Created.Equal(hubtest.Now) {
		t.Fatalf("created %q %+v", secret, tk)
	}
	f.Clock.Add(time.Minute)
	got, err := a.Token(ctx, secret)
	if err != nil || got.ID != tk.ID || got.Store != "s1" || !got.LastUsed.Equal(f.Clock.Now()) {
		t.Fatalf("token: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "hxt_", secret[:len(secret)-1], "hxt_" + strings.Repeat("A", 43), strings.TrimPrefix(secret, "hxt_")} {
		if _, err := a.Token(ctx, bad); !errors.Is(err, hub.ErrBadToken) {
			t.Errorf("token %q: got %v, want ErrBadToken", bad, err)
		}
	}
	if _, _, err := a.CreateToken(ctx, hub.NewAPIToken{Name: "x", Role: hub.RoleStoreManager, Store: "s9"}); errKind(err) != hub.Invalid {
		t.Errorf("unknown store: %v", err)
	}
	if _, _, err := a.CreateToken(ctx, hub.NewAPIToken{Name: " ", Role: hub.RoleViewer}); errKind(err) != hub.Invalid {
		t.Errorf("empty name: %v", err)
	}
	r, err := a.RevokeToken(ctx, tk.ID)
	if err != nil || r.Revoked.IsZero() {
		t.Fatalf("revoke: %+v, %v", r, err)
	}
	if _, err := a.Token(ctx, secret); !errors.Is(err, hub.ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := a.RevokeToken(ctx, "tok-none"); errKind(err) != hub.NotFound {
		t.Errorf("revoke unknown: %v", err)
	}
	ts, err := a.Tokens(ctx)
	if err != nil || len(ts) != 1 || ts[0].Revoked.IsZero() {
		t.Errorf("tokens: %+v, %v", ts, err)
	}
}

// TestSignInBoundedMemory: twenty sign-ins at once all finish; the hasher
// runs at most KDFSlots of them together (its memory bound), which
// BenchmarkSignInParallel measures.
func TestSignInBoundedMemory(t *testing.T) {
	_, a := newAccounts(t, hub.AccountsConfig{KDFSlots: 1})
	addUser(t, a, "al", hub.RoleAdmin, "")
	for i := range 20 {
		addUser(t, a, fmt.Sprintf("u%02d", i), hub.RoleViewer, "")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, _, _, err := a.SignIn(context.Background(), fmt.Sprintf("u%02d", i), pw)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// A sign-in whose context ends while it waits for a slot gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := a.SignIn(ctx, "al", pw); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sign-in: got %v, want context.Canceled", err)
	}
}

// TestSignInAtOnce: wrong passwords tried at the same time count together.
// Of 30 tries at once no more than LockAfter are checked, the others are
// refused as locked, and the name is then locked even for its right
// password.
func TestSignInAtOnce(t *testing.T) {
	_, a := newAccounts(t, hub.AccountsConfig{KDFSlots: 1})
	addUser(t, a, "al", hub.RoleAdmin, "")
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for range 30 {
		wg.Go(func() {
			_, _, _, err := a.SignIn(context.Background(), "al", "wrong password!")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	checked, locked := 0, 0
	for err := range errs {
		var le *hub.LockedError
		switch {
		case errors.Is(err, hub.ErrBadSignIn):
			checked++
		case errors.As(err, &le):
			locked++
		default:
			t.Errorf("a try at once: %v", err)
		}
	}
	if checked > 5 || checked+locked != 30 {
		t.Errorf("30 wrong passwords at once: %d checked, %d refused as locked; want at most 5 checked", checked, locked)
	}
	var le *hub.LockedError
	if _, _, _, err := a.SignIn(context.Background(), "al", pw); !errors.As(err, &le) {
		t.Errorf("the right password after them: got %v, want locked", err)
	}
}

func BenchmarkSignIn(b *testing.B) {
	_, a := newAccounts(b, hub.AccountsConfig{KDF: hub.DefaultKDF})
	addUser(b, a, "al", hub.RoleAdmin, "")
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, _, _, err := a.SignIn(ctx, "al", pw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSession(b *testing.B) {
	_, a := newAccounts(b, hub.AccountsConfig{})
	addUser(b, a, "al", hub.RoleAdmin, "")
	ctx := context.Background()
	tok, _, _, err := a.SignIn(ctx, "al", pw)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := a.Session(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
