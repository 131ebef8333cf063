package sqlite

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/hexiao/hexiao/terminal"
)

// The PIN's key derivation: argon2id over HMAC-SHA256(pin key, PIN) with a
// random 16-byte salt per row. The parameters are stored with each hash,
// so a change here applies to every PIN at its next successful sign-in.
// BenchmarkSignIn measures one check: 32 MiB and one pass on two lanes
// take 19–49 ms on the 2-core development VM, with its load (64 MiB took
// 70–105 ms).
var pinKDF = kdfParams{time: 1, memory: 32 * 1024, threads: 2}

const (
	pinSaltLen = 16
	pinHashLen = 32

	attemptsBadge = "badge" // staff_attempts subject of the terminal's badge scans
)

func attemptsPIN(id string) string { return "pin:" + id }

// kdfParams are argon2id's cost parameters: passes, memory in KiB, lanes.
type kdfParams struct {
	time, memory uint32
	threads      uint8
}

func (p kdfParams) String() string {
	return fmt.Sprintf("argon2id:t=%d:m=%d:p=%d", p.time, p.memory, p.threads)
}

// parseKDF reads what kdfParams.String wrote, within bounds a terminal can
// afford (at most 16 passes, 1 GiB, 16 lanes).
func parseKDF(s string) (kdfParams, error) {
	f := strings.Split(s, ":")
	if len(f) != 4 || f[0] != "argon2id" {
		return kdfParams{}, fmt.Errorf("pin kdf %.24q: want argon2id:t=N:m=N:p=N", s)
	}
	var v [3]uint64
	for i, name := range []string{"t=", "m=", "p="} {
		num, ok := strings.CutPrefix(f[i+1], name)
		if !ok {
			return kdfParams{}, fmt.Errorf("pin kdf %.24q: field %d is not %sN", s, i+2, name)
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || n == 0 || num[0] == '0' {
			return kdfParams{}, fmt.Errorf("pin kdf %.24q: %s is not a positive number", s, name)
		}
		v[i] = n
	}
	if v[0] > 16 || v[1] < 8*v[2] || v[1] > 1<<20 || v[2] > 16 {
		return kdfParams{}, fmt.Errorf("pin kdf %.24q: parameters out of bounds", s)
	}
	return kdfParams{time: uint32(v[0]), memory: uint32(v[1]), threads: uint8(v[2])}, nil
}

// staffKey derives one of the staff keys from the terminal's secret
// signing seed: they live and die with the data directory, as the staff
// rows do, and need no key file of their own.
func (s *Store) staffKey(label string) []byte {
	m := hmac.New(sha256.New, s.priv.Seed())
	m.Write([]byte("hexiao-terminal staff " + label + " key v1"))
	return m.Sum(nil)
}

// pinHash is the stored hash of pin under salt and p.
func (s *Store) pinHash(pin string, salt []byte, p kdfParams) []byte {
	m := hmac.New(sha256.New, s.staffKey("pin"))
	m.Write([]byte(pin))
	return argon2.IDKey(m.Sum(nil), salt, p.time, p.memory, p.threads, pinHashLen)
}

// badgeHash is the stored hash of a normalised badge.
func (s *Store) badgeHash(badge string) []byte {
	m := hmac.New(sha256.New, s.staffKey("badge"))
	m.Write([]byte(badge))
	return m.Sum(nil)
}

// AddStaff adds a staff member or updates one: a name, role, PIN or badge
// given replaces the stored one, an empty one keeps it; Disabled is always
// set. A new staff member needs a name, a role and a PIN or a badge. The
// PIN must pass terminal.CheckPIN; the badge, normalised by the caller,
// terminal.CheckBadge, and may belong to no one else. A new PIN clears the
// staff number's lockout. HasPIN, HasBadge and LockedUntil of st are
// ignored.
func (s *Store) AddStaff(ctx context.Context, st terminal.Staff, pin, badge string) error {
	if err := terminal.CheckStaffID(st.ID); err != nil {
		return err
	}
	var salt, ph, bh []byte
	if pin != "" {
		if err := terminal.CheckPIN(pin); err != nil {
			return err
		}
		salt = randomBytes(pinSaltLen)
		ph = s.pinHash(pin, salt, pinKDF) // before the transaction: it takes tens of ms
	}
	if badge != "" {
		if err := terminal.CheckBadge(badge); err != nil {
			return err
		}
		bh = s.badgeHash(badge)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add staff: %w", err)
	}
	defer tx.Rollback()
	old, found, err := readStaff(ctx, tx, st.ID)
	if err != nil {
		return fmt.Errorf("add staff: %w", err)
	}
	if found {
		if st.Name == "" {
			st.Name = old.Name
		}
		if st.Role == "" {
			st.Role = old.Role
		}
	} else if ph == nil && bh == nil {
		return terminal.ErrNoCredential
	}
	if err := st.Validate(); err != nil {
		return err
	}
	if bh != nil {
		var other string
		err := tx.QueryRowContext(ctx, "SELECT id FROM staff WHERE badge_hash = ? AND id != ?", bh, st.ID).Scan(&other)
		if err == nil {
			return terminal.ErrBadgeTaken
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("add staff: %w", err)
		}
	}
	kdf := ""
	if ph != nil {
		kdf = pinKDF.String()
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO staff (id, name, role, pin_kdf, pin_salt, pin_hash, badge_hash, disabled)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
		ON CONFLICT (id) DO UPDATE SET name = ?2, role = ?3, disabled = ?8,
			pin_kdf = CASE WHEN ?6 IS NULL THEN pin_kdf ELSE ?4 END,
			pin_salt = coalesce(?5, pin_salt), pin_hash = coalesce(?6, pin_hash),
			badge_hash = coalesce(?7, badge_hash)`,
		st.ID, st.Name, string(st.Role), kdf, salt, ph, bh, st.Disabled)
	if err != nil {
		return fmt.Errorf("add staff %s: %w", st.ID, err)
	}
	if ph != nil {
		if _, err := tx.ExecContext(ctx, "DELETE FROM staff_attempts WHERE subject = ?", attemptsPIN(st.ID)); err != nil {
			return fmt.Errorf("add staff %s: %w", st.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add staff %s: %w", st.ID, err)
	}
	s.log.Info("staff saved", "staff", st.ID, "role", string(st.Role), "new", !found,
		"pin_set", ph != nil, "badge_set", bh != nil, "disabled", st.Disabled)
	return nil
}

// RemoveStaff deletes a staff member (terminal.ErrUnknownStaff when there
// is none) and its lockout. Events keep the staff number they recorded.
func (s *Store) RemoveStaff(ctx context.Context, id string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove staff: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM staff WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("remove staff %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remove staff %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %q", terminal.ErrUnknownStaff, id)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM staff_attempts WHERE subject = ?", attemptsPIN(id)); err != nil {
		return fmt.Errorf("remove staff %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove staff %s: %w", id, err)
	}
	s.log.Info("staff removed", "staff", id)
	return nil
}

const staffColumns = `s.id, s.name, s.role, s.pin_kdf != '', s.badge_hash IS NOT NULL, s.disabled, coalesce(a.until_at, 0)`

func scanStaff(row interface{ Scan(...any) error }) (terminal.Staff, error) {
	var st terminal.Staff
	var role string
	var until int64
	if err := row.Scan(&st.ID, &st.Name, &role, &st.HasPIN, &st.HasBadge, &st.Disabled, &until); err != nil {
		return terminal.Staff{}, err
	}
	st.Role = terminal.Role(role)
	if until != 0 {
		st.LockedUntil = time.UnixMilli(until)
	}
	return st, nil
}

// ListStaff returns every staff member, by staff number.
func (s *Store) ListStaff(ctx context.Context) ([]terminal.Staff, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+staffColumns+` FROM staff s
		LEFT JOIN staff_attempts a ON a.subject = 'pin:' || s.id ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []terminal.Staff
	for rows.Next() {
		st, err := scanStaff(rows)
		if err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return out, nil
}

// HasStaff reports whether any staff member, enabled or not, is set up: a
// terminal without one asks for its first store manager.
func (s *Store) HasStaff(ctx context.Context) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM staff)").Scan(&n); err != nil {
		return false, fmt.Errorf("read staff: %w", err)
	}
	return n == 1, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readStaff(ctx context.Context, q queryer, id string) (terminal.Staff, bool, error) {
	st, err := scanStaff(q.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff s
		LEFT JOIN staff_attempts a ON a.subject = 'pin:' || s.id WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return terminal.Staff{}, false, nil
	}
	return st, err == nil, err
}

func readAttempts(ctx context.Context, q queryer, subject string) (terminal.Attempts, error) {
	var a terminal.Attempts
	var last, until int64
	err := q.QueryRowContext(ctx, "SELECT failures, last_at, until_at FROM staff_attempts WHERE subject = ?", subject).
		Scan(&a.Failures, &last, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return terminal.Attempts{}, nil
	} else if err != nil {
		return terminal.Attempts{}, fmt.Errorf("read sign-in attempts: %w", err)
	}
	a.Last = time.UnixMilli(last)
	if until != 0 {
		a.Until = time.UnixMilli(until)
	}
	return a, nil
}
