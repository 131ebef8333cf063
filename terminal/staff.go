package terminal

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hexiao/hexiao/protocol"
)

// Role is what a staff member may do at the counter.
type Role string

// Roles.
const (
	RoleCashier Role = "cashier" // scans codes
	RoleManager Role = "manager" // scans codes and unlocks the manager tools
)

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleCashier, RoleManager:
		return r, nil
	}
	return "", fmt.Errorf("%w: %q (want cashier or manager)", ErrRole, s)
}

// Staff is a cashier or a store manager of this terminal. The PIN and the
// badge themselves are never held here: the store keeps only their keyed
// hashes, and HasPIN/HasBadge say whether they are set.
type Staff struct {
	ID       string // staff number, recorded as the cashier or manager of events
	Name     string
	Role     Role
	HasPIN   bool
	HasBadge bool
	Disabled bool // kept for the record; may not sign in
	// LockedUntil is when the last lockout of this staff number's PIN
	// sign-in ends (zero: never locked); it may be in the past.
	LockedUntil time.Time
}

// Manager reports whether s may unlock the manager tools.
func (s Staff) Manager() bool { return s.Role == RoleManager }

// Limits of staff records.
const (
	MinPINLen     = 4
	MaxPINLen     = 8
	MinBadgeLen   = 6   // bytes, after normalisation
	MaxBadgeLen   = 128 // bytes, after normalisation
	MaxStaffName  = 64  // characters
	MaxFailures   = 5   // wrong PINs for one staff number, or wrong badges for the terminal, before a lockout
	LockoutFor    = 5 * time.Minute
	FailureWindow = 15 * time.Minute // a failure older than this no longer counts towards a lockout
)

// Errors of staff sign-in and records. Their texts are fit to show a
// person (in English); the window translates them by errors.Is. None ever
// holds a PIN or a badge.
var (
	ErrPINFormat      = errors.New("the PIN must be 4 to 8 digits")
	ErrPINWeak        = errors.New("the PIN is too easy to guess: not one digit over and over, not a run up or down")
	ErrBadgeFormat    = errors.New("the badge does not read as a badge: 6 to 128 printable characters")
	ErrBadCredentials = errors.New("wrong staff number, PIN or badge")
	ErrLockedOut      = errors.New("too many wrong tries: sign-in is locked for a while")
	ErrUnknownStaff   = errors.New("no such staff member")
	ErrStaffDisabled  = errors.New("this staff member is disabled")
	ErrStaffID        = errors.New("the staff number must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'")
	ErrStaffName      = errors.New("the name must be 1 to 64 printable characters")
	ErrRole           = errors.New("the role must be cashier or manager")
	ErrNoCredential   = errors.New("a new staff member needs a PIN or a badge")
	ErrBadgeTaken     = errors.New("this badge belongs to another staff member")
)

// LockedOutError is ErrLockedOut with the instant the lock ends.
type LockedOutError struct {
	Until time.Time
}

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("%v (until %s)", ErrLockedOut, e.Until.Format("15:04:05"))
}

// Is makes errors.Is(err, ErrLockedOut) true.
func (e *LockedOutError) Is(target error) bool { return target == ErrLockedOut }

// CheckPIN checks that pin is 4 to 8 ASCII digits, not all the same digit
// and not a run up or down (1234, 9876, 7890 and 3210 count: 0 follows 9).
// The error never holds the PIN.
func CheckPIN(pin string) error {
	if n := len(pin); n < MinPINLen || n > MaxPINLen {
		return fmt.Errorf("%w (it has %d characters)", ErrPINFormat, utf8.RuneCountInString(pin))
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return fmt.Errorf("%w (character %d is not a digit)", ErrPINFormat, i+1)
		}
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := (int(pin[i]) - int(pin[i-1]) + 10) % 10
		same = same && d == 0
		up = up && d == 1
		down = down && d == 9
	}
	if same || up || down {
		return ErrPINWeak
	}
	return nil
}

// CheckBadge checks a scanned badge, already normalised the way the window
// normalises scanner input (drivers/scanner.Normalize): 6 to 128 bytes of
// valid UTF-8 without control characters or white space at either end.
// The error never holds the badge.
func CheckBadge(badge string) error {
	if n := len(badge); n < MinBadgeLen || n > MaxBadgeLen {
		return fmt.Errorf("%w (it is %d bytes)", ErrBadgeFormat, n)
	}
	if !utf8.ValidString(badge) {
		return fmt.Errorf("%w (not UTF-8)", ErrBadgeFormat)
	}
	if strings.TrimSpace(badge) != badge {
		return fmt.Errorf("%w (white space at an end)", ErrBadgeFormat)
	}
	for i, r := range badge {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w (control character at byte %d)", ErrBadgeFormat, i)
		}
	}
	return nil
}

// CheckStaffID checks a staff number: a protocol identifier, since events
// record it as their cashier or manager.
func CheckStaffID(id string) error {
	if err := protocol.ValidID(id); err != nil {
		return fmt.Errorf("%w: %v", ErrStaffID, err)
	}
	return nil
}

// CheckStaffName checks a display name: 1 to 64 characters, printable,
// without white space at either end.
func CheckStaffName(name string) error {
	if name == "" || !utf8.ValidString(name) || strings.TrimSpace(name) != name {
		return ErrStaffName
	}
	n := 0
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return ErrStaffName
		}
		n++
	}
	if n > MaxStaffName {
		return fmt.Errorf("%w (it has %d)", ErrStaffName, n)
	}
	return nil
}

// Validate checks a staff record's number, name and role.
func (s Staff) Validate() error {
	if err := CheckStaffID(s.ID); err != nil {
		return err
	}
	if err := CheckStaffName(s.Name); err != nil {
		return err
	}
	if _, err := ParseRole(string(s.Role)); err != nil {
		return err
	}
	return nil
}

// Attempts is the failed sign-ins of one staff number's PIN, or of the
// terminal's badge scans: the lockout rule's whole state.
type Attempts struct {
	Failures int       // consecutive failures that count
	Last     time.Time // the last failure
	Until    time.Time // the lockout's end; zero or past: not locked
}

// Locked returns the lockout in force at now as a *LockedOutError, or nil.
func (a Attempts) Locked(now time.Time) error {
	if now.Before(a.Until) {
		return &LockedOutError{Until: a.Until}
	}
	return nil
}

// Fail is a's state after a failure at now: a failure after a lockout
// ended, or more than FailureWindow after the previous one, starts the
// count again; the MaxFailures-th locks for LockoutFor.
func (a Attempts) Fail(now time.Time) Attempts {
	if !a.Until.IsZero() && !now.Before(a.Until) || now.Sub(a.Last) > FailureWindow {
		a = Attempts{}
	}
	a.Failures++
	a.Last = now
	if a.Failures >= MaxFailures {
		a.Until = now.Add(LockoutFor)
	}
	return a
}
