package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/internal/testlog"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

var (
	cashier = terminal.Staff{ID: "c-01", Name: "李娜", Role: terminal.RoleCashier}
	manager = terminal.Staff{ID: "m-01", Name: "Wang Wei", Role: terminal.RoleManager}
)

const (
	cashierPIN   = "2580"
	managerPIN   = "731946"
	managerBadge = "EMP-000731"
)

// openStaff opens a real terminal in a temp dir with a cashier (PIN) and a
// manager (PIN and badge), logging to the returned buffer.
func openStaff(t *testing.T) (*sqlite.Store, string, *testlog.Buffer) {
	t.Helper()
	dir := termtest.Dir(t, termtest.Snapshot{})
	var logs testlog.Buffer
	st, err := sqlite.Open(context.Background(), dir, logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.AddStaff(ctx, cashier, cashierPIN, ""); err != nil {
		t.Fatalf("add cashier: %v", err)
	}
	if err := st.AddStaff(ctx, manager, managerPIN, managerBadge); err != nil {
		t.Fatalf("add manager: %v", err)
	}
	return st, dir, &logs
}

func TestStaffAddListRemove(t *testing.T) {
	sqlite.CheapPINKDF(t)
	ctx := context.Background()
	dir := termtest.Dir(t, termtest.Snapshot{})
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if has, err := st.HasStaff(ctx); err != nil || has {
		t.Fatalf("new terminal HasStaff = %v, %v, want false", has, err)
	}
	if err := st.AddStaff(ctx, cashier, cashierPIN, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.AddStaff(ctx, manager, "", managerBadge); err != nil {
		t.Fatal(err)
	}
	if has, err := st.HasStaff(ctx); err != nil || !has {
		t.Fatalf("HasStaff = %v, %v, want true", has, err)
	}
	got, err := st.ListStaff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []terminal.Staff{
		{ID: "c-01", Name: "李娜", Role: terminal.RoleCashier, HasPIN: true},
		{ID: "m-01", Name: "Wang Wei", Role: terminal.RoleManager, HasBadge: true},
	}
	if !equalStaff(got, want) {
		t.Fatalf("list %+v, want %+v", got, want)
	}

	// Upsert: a name only keeps role, PIN and badge; a PIN adds one.
	if err := st.AddStaff(ctx, terminal.Staff{ID: "m-01", Name: "王伟"}, managerPIN, ""); err != nil {
		t.Fatal(err)
	}
	// Disabling keeps everything else.
	if err := st.AddStaff(ctx, terminal.Staff{ID: "c-01", Disabled: true}, "", ""); err != nil {
		t.Fatal(err)
	}
	got, _ = st.ListStaff(ctx)
	want = []terminal.Staff{
		{ID: "c-01", Name: "李娜", Role: terminal.RoleCashier, HasPIN: true, Disabled: true},
		{ID: "m-01", Name: "王伟", Role: terminal.RoleManager, HasPIN: true, HasBadge: true},
	}
	if !equalStaff(got, want) {
		t.Fatalf("after updates %+v, want %+v", got, want)
	}
	if s, err := st.SignIn(ctx, "m-01", managerPIN, termtest.Now); err != nil || s.Name != "王伟" || !s.Manager() {
		t.Fatalf("manager sign-in after update: %+v, %v", s, err)
	}
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now); !errors.Is(err, terminal.ErrStaffDisabled) {
		t.Fatalf("disabled cashier's sign-in: %v, want ErrStaffDisabled", err)
	}

	if err := st.RemoveStaff(ctx, "c-01"); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveStaff(ctx, "c-01"); !errors.Is(err, terminal.ErrUnknownStaff) {
		t.Fatalf("second remove: %v, want ErrUnknownStaff", err)
	}
	got, _ = st.ListStaff(ctx)
	if len(got) != 1 || got[0].ID != "m-01" {
		t.Fatalf("after remove %+v", got)
	}
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now); !errors.Is(err, terminal.ErrBadCredentials) {
		t.Fatalf("removed cashier's sign-in: %v, want ErrBadCredentials", err)
	}
}

func equalStaff(a, b []terminal.Staff) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStaffAddRefuses(t *testing.T) {
	sqlite.CheapPINKDF(t)
	st, _, _ := openStaff(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		s          terminal.Staff
		pin, badge string
		want       error
	}{
		{"bad id", terminal.Staff{ID: "c 02", Name: "A", Role: terminal.RoleCashier}, "2580", "", terminal.ErrStaffID},
		{"no name", terminal.Staff{ID: "c-02", Role: terminal.RoleCashier}, "2580", "", terminal.ErrStaffName},
		{"no role", terminal.Staff{ID: "c-02", Name: "A"}, "2580", "", terminal.ErrRole},
		{"bad role", terminal.Staff{ID: "c-02", Name: "A", Role: "boss"}, "2580", "", terminal.ErrRole},
		{"no credential", terminal.Staff{ID: "c-02", Name: "A", Role: terminal.RoleCashier}, "", "", terminal.ErrNoCredential},
		{"weak pin", terminal.Staff{ID: "c-02", Name: "A", Role: terminal.RoleCashier}, "1234", "", terminal.ErrPINWeak},
		{"short pin", terminal.Staff{ID: "c-02", Name: "A", Role: terminal.RoleCashier}, "258", "", terminal.ErrPINFormat},
		{"short badge", terminal.Staff{ID: "c-02", Name: "A", Role: terminal.RoleCashier}, "", "B42", terminal.ErrBadgeFormat},
		{"taken badge", terminal.Staff{ID: "c-02", Name: "A", Role: terminal.RoleCashier}, "", managerBadge, terminal.ErrBadgeTaken},
		{"weak pin on update", terminal.Staff{ID: "c-01"}, "0000", "", terminal.ErrPINWeak},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := st.ListStaff(ctx)
			err := st.AddStaff(ctx, tc.s, tc.pin, tc.badge)
			if !errors.Is(err, tc.want) {
				t.Fatalf("AddStaff = %v, want %v", err, tc.want)
			}
			if after, _ := st.ListStaff(ctx); !equalStaff(before, after) {
				t.Fatalf("a refused add changed the staff: %+v, was %+v", after, before)
			}
		})
	}
}

func TestSignInPIN(t *testing.T) {
	sqlite.CheapPINKDF(t)
	st, _, logs := openStaff(t)
	ctx := context.Background()
	s, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now)
	if err != nil || s.ID != "c-01" || s.Name != "李娜" || s.Role != terminal.RoleCashier || s.Manager() {
		t.Fatalf("right PIN: %+v, %v", s, err)
	}
	for _, tc := range []struct {
		name, id, pin string
		want          error
	}{
		{"wrong pin", "c-01", "2581", terminal.ErrBadCredentials},
		{"another's pin", "c-01", managerPIN, terminal.ErrBadCredentials},
		{"unknown id", "c-99", cashierPIN, terminal.ErrBadCredentials},
		{"no pin set", "m-02", cashierPIN, terminal.ErrBadCredentials},
		{"short pin", "c-01", "258", terminal.ErrPINFormat},
		{"bad id", "c 01", cashierPIN, terminal.ErrStaffID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := st.SignIn(ctx, tc.id, tc.pin, termtest.Now); !errors.Is(err, tc.want) {
				t.Fatalf("SignIn = %v, want %v", err, tc.want)
			}
		})
	}
	out := logs.String()
	for _, secret := range []string{cashierPIN, managerPIN, "2581", managerBadge} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, out)
		}
	}
	if logs.Count(`msg="signed in"`) != 1 || logs.Count(`msg="sign-in refused"`) != 6 {
		t.Fatalf("want 1 sign-in and 6 refusals logged:\n%s", out)
	}
}

func TestSignInLockout(t *testing.T) {
	sqlite.CheapPINKDF(t)
	st, dir, _ := openStaff(t)
	ctx := context.Background()
	now := termtest.Now
	for i := 1; i < terminal.MaxFailures; i++ {
		if _, err := st.SignIn(ctx, "c-01", "9999", now); !errors.Is(err, terminal.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
		now = now.Add(10 * time.Second)
	}
	_, err := st.SignIn(ctx, "c-01", "9999", now)
	var lo *terminal.LockedOutError
	if !errors.As(err, &lo) || !lo.Until.Equal(now.Add(terminal.LockoutFor)) {
		t.Fatalf("failure %d: %v, want locked until %v", terminal.MaxFailures, err, now.Add(terminal.LockoutFor))
	}
	until := lo.Until
	// Locked: even the right PIN is refused; another number is not locked.
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, now.Add(time.Minute)); !errors.Is(err, terminal.ErrLockedOut) {
		t.Fatalf("right PIN while locked: %v, want ErrLockedOut", err)
	}
	if _, err := st.SignIn(ctx, "m-01", managerPIN, now.Add(time.Minute)); err != nil {
		t.Fatalf("another staff number while c-01 is locked: %v", err)
	}
	list, _ := st.ListStaff(ctx)
	if list[0].ID != "c-01" || !list[0].LockedUntil.Equal(until) {
		t.Fatalf("list shows %+v, want c-01 locked until %v", list[0], until)
	}

	// A restart keeps the lock.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, until.Add(-time.Millisecond)); !errors.Is(err, terminal.ErrLockedOut) {
		t.Fatalf("after a restart, just before the end: %v, want ErrLockedOut", err)
	}
	// At its end the right PIN works and clears the count.
	if s, err := st.SignIn(ctx, "c-01", cashierPIN, until); err != nil || s.ID != "c-01" {
		t.Fatalf("at the lock's end: %+v, %v", s, err)
	}
	for i := 1; i < terminal.MaxFailures; i++ {
		if _, err := st.SignIn(ctx, "c-01", "9999", until.Add(time.Duration(i)*time.Second)); !errors.Is(err, terminal.ErrBadCredentials) {
			t.Fatalf("after a success, failure %d: %v (the count was not cleared)", i, err)
		}
	}
}

// Unknown staff numbers lock like real ones, so trying numbers does not
// tell which exist; a new PIN set by a manager clears a lock.
func TestSignInLockoutUnknownAndReset(t *testing.T) {
	sqlite.CheapPINKDF(t)
	st, _, _ := openStaff(t)
	ctx := context.Background()
	for _, id := range []string{"c-99", "c-01"} {
		var err error
		for range terminal.MaxFailures {
			_, err = st.SignIn(ctx, id, "9999", termtest.Now)
		}
		if !errors.Is(err, terminal.ErrLockedOut) {
			t.Fatalf("%s after %d failures: %v", id, terminal.MaxFailures, err)
		}
	}
	if err := st.AddStaff(ctx, terminal.Staff{ID: "c-01"}, "8642", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SignIn(ctx, "c-01", "8642", termtest.Now); err != nil {
		t.Fatalf("new PIN after a lock: %v", err)
	}
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now); !errors.Is(err, terminal.ErrBadCredentials) {
		t.Fatalf("old PIN after a new one: %v", err)
	}
}

func TestByBadge(t *testing.T) {
	sqlite.CheapPINKDF(t)
	st, dir, logs := openStaff(t)
	ctx := context.Background()
	s, err := st.ByBadge(ctx, managerBadge, termtest.Now)
	if err != nil || s.ID != "m-01" || !s.Manager() || !s.HasBadge || !s.HasPIN {
		t.Fatalf("badge: %+v, %v", s, err)
	}
	if _, err := st.ByBadge(ctx, "EMP-00073", termtest.Now); !errors.Is(err, terminal.ErrBadCredentials) {
		t.Fatalf("unknown badge: %v", err)
	}
	if _, err := st.ByBadge(ctx, "EMP", termtest.Now); !errors.Is(err, terminal.ErrBadgeFormat) {
		t.Fatalf("short scan: %v", err)
	}
	// Wrong scans lock badge sign-in on the terminal, not PIN sign-in.
	now := termtest.Now
	for i := 2; i <= terminal.MaxFailures; i++ {
		_, err = st.ByBadge(ctx, "VOUCHER-0001", now)
	}
	if !errors.Is(err, terminal.ErrLockedOut) {
		t.Fatalf("after %d wrong badges: %v", terminal.MaxFailures, err)
	}
	if _, err := st.SignIn(ctx, "m-01", managerPIN, now); err != nil {
		t.Fatalf("PIN while badges are locked: %v", err)
	}
	st.Close()
	st, err = sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.ByBadge(ctx, managerBadge, now.Add(terminal.LockoutFor-time.Second)); !errors.Is(err, terminal.ErrLockedOut) {
		t.Fatalf("right badge while locked, after a restart: %v", err)
	}
	if s, err := st.ByBadge(ctx, managerBadge, now.Add(terminal.LockoutFor)); err != nil || s.ID != "m-01" {
		t.Fatalf("right badge after the lock: %+v, %v", s, err)
	}
	if err := st.AddStaff(ctx, terminal.Staff{ID: "m-01", Disabled: true}, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ByBadge(ctx, managerBadge, now.Add(terminal.LockoutFor)); !errors.Is(err, terminal.ErrStaffDisabled) {
		t.Fatalf("disabled member's badge: %v", err)
	}
	if strings.Contains(logs.String(), managerBadge) {
		t.Fatalf("the log holds the badge:\n%s", logs.String())
	}
}

// The database holds neither a PIN nor a badge: not as is, not as an
// unkeyed hash, and two staff with one PIN get different hashes.
func TestStaffHashesOnly(t *testing.T) {
	st, dir, _ := openStaff(t)
	ctx := context.Background()
	if err := st.AddStaff(ctx, terminal.Staff{ID: "c-02", Name: "B", Role: terminal.RoleCashier}, cashierPIN, ""); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, sqlite.DBFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, pin_kdf, pin_salt, pin_hash, badge_hash FROM staff ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	hashes := map[string][]byte{}
	for rows.Next() {
		var id, kdf string
		var salt, ph, bh []byte
		if err := rows.Scan(&id, &kdf, &salt, &ph, &bh); err != nil {
			t.Fatal(err)
		}
		if kdf != sqlite.PINKDF() || len(salt) != 16 || len(ph) != 32 {
			t.Fatalf("%s: kdf %q, %d-byte salt, %d-byte hash", id, kdf, len(salt), len(ph))
		}
		for _, b := range [][]byte{salt, ph, bh} {
			for _, secret := range []string{cashierPIN, managerPIN, managerBadge} {
				if bytes.Contains(b, []byte(secret)) {
					t.Fatalf("%s: a stored value holds %q", id, secret)
				}
			}
		}
		hashes[id] = ph
	}
	if bytes.Equal(hashes["c-01"], hashes["c-02"]) {
		t.Fatal("one PIN, two staff, one hash: the salt is not per row")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// No text column anywhere in the file holds the secrets either.
	raw, err := readAll(filepath.Join(dir, sqlite.DBFile), filepath.Join(dir, sqlite.DBFile+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{managerPIN, managerBadge} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("the database file holds %q", secret)
		}
	}
}

// A PIN stored under older parameters still signs in and is stored again
// under the current ones.
func TestSignInRehashes(t *testing.T) {
	ctx := context.Background()
	dir := termtest.Dir(t, termtest.Snapshot{})
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var cheap string
	t.Run("old parameters", func(t *testing.T) {
		sqlite.CheapPINKDF(t) // until this subtest ends
		cheap = sqlite.PINKDF()
		if err := st.AddStaff(ctx, cashier, cashierPIN, ""); err != nil {
			t.Fatal(err)
		}
	})
	kdf := func() string {
		t.Helper()
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, sqlite.DBFile)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var k string
		if err := db.QueryRow("SELECT pin_kdf FROM staff WHERE id = 'c-01'").Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	if got := kdf(); got != cheap || got == sqlite.PINKDF() {
		t.Fatalf("stored kdf %q, want the cheap %q", got, cheap)
	}
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now); err != nil {
		t.Fatal(err)
	}
	if got := kdf(); got != sqlite.PINKDF() {
		t.Fatalf("after a sign-in the kdf is %q, want %q", got, sqlite.PINKDF())
	}
	if _, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now); err != nil {
		t.Fatalf("sign-in with the rehashed PIN: %v", err)
	}
	if _, err := st.SignIn(ctx, "c-01", "2581", termtest.Now); !errors.Is(err, terminal.ErrBadCredentials) {
		t.Fatalf("wrong PIN after the rehash: %v", err)
	}
}

func readAll(paths ...string) ([]byte, error) {
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		all = append(all, b...)
	}
	return all, nil
}

func FuzzParseKDF(f *testing.F) {
	for _, s := range []string{"argon2id:t=1:m=65536:p=2", "argon2id:t=1:m=8:p=1", "argon2i:t=1:m=8:p=1",
		"argon2id:t=0:m=8:p=1", "argon2id:t=1:m=8:p=9", "argon2id:t=01:m=8:p=1", "argon2id:t=1:m=99999999999:p=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		canon, err := sqlite.ParseKDF(s)
		if err != nil {
			if len(err.Error()) > 400 { // the input is quoted cut short (24 characters), never whole
				t.Fatalf("error of %d bytes: %q", len(err.Error()), err)
			}
			return
		}
		if canon != s {
			t.Fatalf("ParseKDF(%q) accepted a form that does not write back: %q", s, canon)
		}
	})
}

func BenchmarkSignIn(b *testing.B) {
	ctx := context.Background()
	dir := termtest.Dir(b, termtest.Snapshot{})
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.AddStaff(ctx, cashier, cashierPIN, ""); err != nil {
		b.Fatal(err)
	}
	b.Run("right", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.SignIn(ctx, "c-01", cashierPIN, termtest.Now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrong", func(b *testing.B) {
		now := termtest.Now
		for b.Loop() {
			now = now.Add(terminal.FailureWindow + time.Second) // never locks
			if _, err := st.SignIn(ctx, "c-01", "9999", now); !errors.Is(err, terminal.ErrBadCredentials) {
				b.Fatal(err)
			}
		}
	})
	b.Run("badge", func(b *testing.B) {
		if err := st.AddStaff(ctx, terminal.Staff{ID: "c-01"}, "", managerBadge); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.ByBadge(ctx, managerBadge, termtest.Now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
