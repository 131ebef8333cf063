package terminal_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/terminal"
)

func TestCheckPIN(t *testing.T) {
	for _, tc := range []struct {
		pin  string
		want error
	}{
		{"2580", nil},
		{"13579", nil},
		{"00000001", nil},
		{"1212", nil},
		{"", terminal.ErrPINFormat},
		{"123", terminal.ErrPINFormat},
		{"123456789", terminal.ErrPINFormat},
		{"12a4", terminal.ErrPINFormat},
		{"１２３４", terminal.ErrPINFormat}, // full-width digits
		{" 2580", terminal.ErrPINFormat},
		{"1111", terminal.ErrPINWeak},
		{"00000000", terminal.ErrPINWeak},
		{"1234", terminal.ErrPINWeak},
		{"0123", terminal.ErrPINWeak},
		{"45678", terminal.ErrPINWeak},
		{"7890", terminal.ErrPINWeak},
		{"9876", terminal.ErrPINWeak},
		{"3210", terminal.ErrPINWeak},
		{"21098765", terminal.ErrPINWeak},
	} {
		t.Run(tc.pin, func(t *testing.T) {
			err := terminal.CheckPIN(tc.pin)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckPIN(%q) = %v, want %v", tc.pin, err, tc.want)
			}
			if err != nil && tc.pin != "" && strings.Contains(err.Error(), tc.pin) {
				t.Fatalf("error %q holds the PIN", err)
			}
		})
	}
}

func TestCheckBadge(t *testing.T) {
	for _, tc := range []struct {
		name, badge string
		want        error
	}{
		{"six bytes", "B00042", nil},
		{"unicode", "工牌-0042", nil},
		{"inner space", "EMP 0042", nil},
		{"128 bytes", strings.Repeat("x", 128), nil},
		{"short", "B0042", terminal.ErrBadgeFormat},
		{"long", strings.Repeat("x", 129), terminal.ErrBadgeFormat},
		{"control", "B00\x1d042", terminal.ErrBadgeFormat},
		{"trailing space", "B00042 ", terminal.ErrBadgeFormat},
		{"not utf-8", "B000\xff42", terminal.ErrBadgeFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := terminal.CheckBadge(tc.badge)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckBadge(%q) = %v, want %v", tc.badge, err, tc.want)
			}
		})
	}
}

func TestStaffValidate(t *testing.T) {
	ok := terminal.Staff{ID: "c-01", Name: "李娜", Role: terminal.RoleCashier}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid staff: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*terminal.Staff)
		want error
	}{
		{"empty id", func(s *terminal.Staff) { s.ID = "" }, terminal.ErrStaffID},
		{"id with space", func(s *terminal.Staff) { s.ID = "c 01" }, terminal.ErrStaffID},
		{"empty name", func(s *terminal.Staff) { s.Name = "" }, terminal.ErrStaffName},
		{"name padded", func(s *terminal.Staff) { s.Name = " Li" }, terminal.ErrStaffName},
		{"name control", func(s *terminal.Staff) { s.Name = "Li\nNa" }, terminal.ErrStaffName},
		{"name long", func(s *terminal.Staff) { s.Name = strings.Repeat("娜", 65) }, terminal.ErrStaffName},
		{"role", func(s *terminal.Staff) { s.Role = "owner" }, terminal.ErrRole},
		{"no role", func(s *terminal.Staff) { s.Role = "" }, terminal.ErrRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			if err := s.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
		})
	}
	long := ok
	long.Name = strings.Repeat("娜", 64)
	if err := long.Validate(); err != nil {
		t.Fatalf("64-character name: %v", err)
	}
}

func TestAttemptsLockout(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	var a terminal.Attempts
	for i := 1; i < terminal.MaxFailures; i++ {
		a = a.Fail(t0.Add(time.Duration(i) * time.Second))
		if err := a.Locked(a.Last); err != nil {
			t.Fatalf("locked after %d failures: %v", i, err)
		}
	}
	now := t0.Add(time.Minute)
	a = a.Fail(now)
	err := a.Locked(now)
	var lo *terminal.LockedOutError
	if !errors.Is(err, terminal.ErrLockedOut) || !errors.As(err, &lo) || !lo.Until.Equal(now.Add(terminal.LockoutFor)) {
		t.Fatalf("after %d failures: %v, want locked until %v", terminal.MaxFailures, err, now.Add(terminal.LockoutFor))
	}
	if err := a.Locked(lo.Until.Add(-time.Nanosecond)); err == nil {
		t.Fatal("unlocked before the end")
	}
	if err := a.Locked(lo.Until); err != nil {
		t.Fatalf("still locked at the end: %v", err)
	}
	// After the lock ends, one failure does not lock again: the count restarts.
	a = a.Fail(lo.Until.Add(time.Second))
	if a.Failures != 1 || a.Locked(a.Last) != nil {
		t.Fatalf("after the lock: %+v", a)
	}
}

func TestAttemptsWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	var a terminal.Attempts
	for i := range terminal.MaxFailures - 1 {
		a = a.Fail(t0.Add(time.Duration(i) * time.Minute))
	}
	late := a.Last.Add(terminal.FailureWindow + time.Second)
	a = a.Fail(late)
	if a.Failures != 1 || a.Locked(late) != nil {
		t.Fatalf("a failure after the window counted with the old ones: %+v", a)
	}
	a = terminal.Attempts{}
	for i := range terminal.MaxFailures {
		a = a.Fail(t0.Add(time.Duration(i) * terminal.FailureWindow))
	}
	if a.Locked(a.Last) == nil {
		t.Fatalf("failures exactly a window apart did not lock: %+v", a)
	}
}

// The errors' texts are fixed but for counts, so they can never hold a
// PIN or a badge.
var (
	pinErrText = regexp.MustCompile(`^(` + regexp.QuoteMeta(terminal.ErrPINWeak.Error()) + `|` +
		regexp.QuoteMeta(terminal.ErrPINFormat.Error()) + ` \((it has \d+ characters|character \d+ is not a digit)\))$`)
	badgeErrText = regexp.MustCompile(`^` + regexp.QuoteMeta(terminal.ErrBadgeFormat.Error()) +
		` \((it is \d+ bytes|not UTF-8|white space at an end|control character at byte \d+)\)$`)
)

func FuzzCheckPIN(f *testing.F) {
	for _, s := range []string{"2580", "1234", "1111", "", "12a4", "123456789", "７８９０"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pin string) {
		err := terminal.CheckPIN(pin)
		if err == nil {
			if len(pin) < terminal.MinPINLen || len(pin) > terminal.MaxPINLen || strings.Trim(pin, "0123456789") != "" {
				t.Fatalf("accepted %q", pin)
			}
			return
		}
		if !errors.Is(err, terminal.ErrPINFormat) && !errors.Is(err, terminal.ErrPINWeak) {
			t.Fatalf("CheckPIN(%q) = %v: neither format nor weak", pin, err)
		}
		if !pinErrText.MatchString(err.Error()) {
			t.Fatalf("CheckPIN(%q) = %q: not one of the fixed texts", pin, err)
		}
	})
}

func FuzzCheckBadge(f *testing.F) {
	for _, s := range []string{"B00042", "工牌-0042", "short", "B00\x1d042", " B00042", "B000\xff42"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, badge string) {
		err := terminal.CheckBadge(badge)
		if err == nil {
			if len(badge) < terminal.MinBadgeLen || len(badge) > terminal.MaxBadgeLen || strings.TrimSpace(badge) != badge {
				t.Fatalf("accepted %q", badge)
			}
			return
		}
		if !errors.Is(err, terminal.ErrBadgeFormat) {
			t.Fatalf("CheckBadge(%q) = %v, not ErrBadgeFormat", badge, err)
		}
		if !badgeErrText.MatchString(err.Error()) {
			t.Fatalf("CheckBadge(%q) = %q: not one of the fixed texts", badge, err)
		}
	})
}
