package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hexiao/hexiao/terminal"
)

// dummySalt is the salt of the check made for a staff number without a
// PIN, so that it costs what a real check costs.
var dummySalt = make([]byte, pinSaltLen)

// SignIn checks a staff member's PIN at now. It answers
// terminal.ErrBadCredentials for a wrong PIN and for a staff number that
// is not staff or has no PIN (after a check of the same cost), a
// *terminal.LockedOutError while the number is locked and for the failure
// that locks it, terminal.ErrStaffDisabled for the right PIN of a disabled
// member, and the format errors of terminal.CheckStaffID and the PIN's
// length (those never reach the lockout count). Each failure is durable
// before SignIn returns, so a restart does not forget it; a success clears
// the count. Every outcome is logged, never the PIN.
func (s *Store) SignIn(ctx context.Context, id, pin string, now time.Time) (terminal.Staff, error) {
	log := s.log.With("staff", id, "method", "pin")
	if err := terminal.CheckStaffID(id); err != nil {
		log.Warn("sign-in refused", "why", "staff number format")
		return terminal.Staff{}, err
	}
	if err := terminal.CheckPIN(pin); errors.Is(err, terminal.ErrPINFormat) {
		log.Warn("sign-in refused", "why", "pin format")
		return terminal.Staff{}, err
	}
	subject := attemptsPIN(id)
	a, err := readAttempts(ctx, s.r, subject)
	if err != nil {
		return terminal.Staff{}, fmt.Errorf("sign in: %w", err)
	}
	if err := a.Locked(now); err != nil {
		log.Warn("sign-in refused", "why", "locked", "until", a.Until)
		return terminal.Staff{}, err
	}
	var (
		st         terminal.Staff
		kdf        string
		salt, want []byte
	)
	err = s.r.QueryRowContext(ctx, `SELECT `+staffColumns+`, s.pin_kdf, s.pin_salt, s.pin_hash FROM staff s
		LEFT JOIN staff_attempts a ON a.subject = 'pin:' || s.id WHERE s.id = ?`, id).
		Scan(&st.ID, &st.Name, (*string)(&st.Role), &st.HasPIN, &st.HasBadge, &st.Disabled, new(int64), &kdf, &salt, &want)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return terminal.Staff{}, fmt.Errorf("sign in: %w", err)
	}
	match := false
	params := pinKDF
	if found && st.HasPIN {
		if params, err = parseKDF(kdf); err != nil {
			return terminal.Staff{}, fmt.Errorf("sign in %s: %w", id, err)
		}
		match = subtle.ConstantTimeCompare(s.pinHash(pin, salt, params), want) == 1
	} else {
		s.pinHash(pin, dummySalt, pinKDF) // the same cost, so timing does not tell staff numbers apart
	}
	if !match {
		why := "wrong pin"
		if !found || !st.HasPIN {
			why = "not staff or no pin"
		}
		return terminal.Staff{}, s.failed(ctx, log, subject, now, why)
	}
	if st.Disabled {
		log.Warn("sign-in refused", "why", "disabled")
		return terminal.Staff{}, terminal.ErrStaffDisabled
	}
	if err := s.succeeded(ctx, subject); err != nil {
		return terminal.Staff{}, err
	}
	if params != pinKDF {
		s.rehashPIN(ctx, log, id, pin)
	}
	log.Info("signed in", "role", string(st.Role))
	return st, nil
}

// ByBadge finds the staff member whose badge (normalised by the caller)
// was scanned at now. A badge of no one is terminal.ErrBadCredentials and
// counts towards the terminal's badge lockout (a *terminal.LockedOutError
// meanwhile); a disabled member's badge is terminal.ErrStaffDisabled; a
// scan that cannot be a badge is terminal.ErrBadgeFormat and does not
// count. Every outcome is logged, never the badge.
func (s *Store) ByBadge(ctx context.Context, badge string, now time.Time) (terminal.Staff, error) {
	log := s.log.With("method", "badge")
	if err := terminal.CheckBadge(badge); err != nil {
		log.Warn("sign-in refused", "why", "badge format")
		return terminal.Staff{}, err
	}
	a, err := readAttempts(ctx, s.r, attemptsBadge)
	if err != nil {
		return terminal.Staff{}, fmt.Errorf("badge sign-in: %w", err)
	}
	if err := a.Locked(now); err != nil {
		log.Warn("sign-in refused", "why", "locked", "until", a.Until)
		return terminal.Staff{}, err
	}
	st, err := scanStaff(s.r.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff s
		LEFT JOIN staff_attempts a ON a.subject = 'pin:' || s.id WHERE s.badge_hash = ?`, s.badgeHash(badge)))
	if errors.Is(err, sql.ErrNoRows) {
		return terminal.Staff{}, s.failed(ctx, log, attemptsBadge, now, "unknown badge")
	} else if err != nil {
		return terminal.Staff{}, fmt.Errorf("badge sign-in: %w", err)
	}
	log = log.With("staff", st.ID)
	if st.Disabled {
		log.Warn("sign-in refused", "why", "disabled")
		return terminal.Staff{}, terminal.ErrStaffDisabled
	}
	if err := s.succeeded(ctx, attemptsBadge); err != nil {
		return terminal.Staff{}, err
	}
	log.Info("signed in", "role", string(st.Role))
	return st, nil
}

// failed counts a failure of subject at now, durably, and returns what the
// caller answers: ErrBadCredentials, or the lockout this failure started.
func (s *Store) failed(ctx context.Context, log *slog.Logger, subject string, now time.Time, why string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record failed sign-in: %w", err)
	}
	defer tx.Rollback()
	a, err := readAttempts(ctx, tx, subject)
	if err != nil {
		return err
	}
	if err := a.Locked(now); err != nil { // locked by a concurrent try meanwhile
		return err
	}
	a = a.Fail(now)
	var until int64
	if !a.Until.IsZero() {
		until = a.Until.UnixMilli()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO staff_attempts (subject, failures, last_at, until_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, until_at = excluded.until_at`,
		subject, a.Failures, a.Last.UnixMilli(), until); err != nil {
		return fmt.Errorf("record failed sign-in: %w", err)
	}
	// Rows of numbers that are nobody's, and of locks long over, go.
	if _, err := tx.ExecContext(ctx, "DELETE FROM staff_attempts WHERE last_at < ? AND until_at < ?",
		now.Add(-24*time.Hour).UnixMilli(), now.UnixMilli()); err != nil {
		return fmt.Errorf("record failed sign-in: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record failed sign-in: %w", err)
	}
	if err := a.Locked(now); err != nil {
		log.Warn("sign-in refused", "why", why, "failures", a.Failures, "locked_until", a.Until)
		return err
	}
	log.Warn("sign-in refused", "why", why, "failures", a.Failures)
	return terminal.ErrBadCredentials
}

// succeeded clears subject's failures.
func (s *Store) succeeded(ctx context.Context, subject string) error {
	if _, err := s.w.ExecContext(ctx, "DELETE FROM staff_attempts WHERE subject = ?", subject); err != nil {
		return fmt.Errorf("clear sign-in attempts: %w", err)
	}
	return nil
}

// rehashPIN stores a PIN that was just checked under older parameters
// again under the current ones. A failure is logged: the old hash stays
// and still works.
func (s *Store) rehashPIN(ctx context.Context, log *slog.Logger, id, pin string) {
	salt := randomBytes(pinSaltLen)
	h := s.pinHash(pin, salt, pinKDF)
	if _, err := s.w.ExecContext(ctx, "UPDATE staff SET pin_kdf = ?, pin_salt = ?, pin_hash = ? WHERE id = ?",
		pinKDF.String(), salt, h, id); err != nil {
		log.Warn("pin rehash failed", "err", err)
		return
	}
	log.Info("pin rehashed", "kdf", pinKDF.String())
}
