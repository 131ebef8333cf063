package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hexiao/hexiao/protocol"
)

// AccountsConfig is what Accounts are made of. Zero values take the
// defaults.
type AccountsConfig struct {
	KDF KDF // new password hashes' cost (DefaultKDF)
	// KDFSlots bounds the password hashes computed at once (2): each takes
	// KDF.Memory, so 20 sign-ins at once wait rather than take 20 × 64 MiB.
	KDFSlots int
	// IdleTimeout ends a session unused for this long (12 h); MaxAge ends
	// any session this long after sign-in (7 days).
	IdleTimeout, MaxAge time.Duration
	// LockAfter wrong passwords in a row lock a name for LockFor (5, 5 min).
	LockAfter int
	LockFor   time.Duration
}

// Accounts are the HQ dashboard's users, their sessions and the API
// tokens, kept in the hub's ledger. Every method is safe for concurrent
// use. Sign-in lockouts are kept in memory: a restart forgets them.
type Accounts struct {
	h    *Hub
	cfg  AccountsConfig
	kdf  *hasher
	now  func() time.Time
	rand io.Reader

	dummyOnce sync.Once
	dummy     string // a hash of nothing anyone knows: unknown names are checked against it

	locks lockout
}

// NewAccounts returns the accounts over h's ledger, on h's clock and
// random source.
func NewAccounts(h *Hub, cfg AccountsConfig) *Accounts {
	if cfg.KDF == (KDF{}) {
		cfg.KDF = DefaultKDF
	}
	if cfg.KDFSlots <= 0 {
		cfg.KDFSlots = 2
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 12 * time.Hour
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = 5
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 5 * time.Minute
	}
	return &Accounts{h: h, cfg: cfg, kdf: newHasher(cfg.KDF, cfg.KDFSlots), now: h.now, rand: h.rand,
		locks: lockout{m: map[string]*attempts{}}}
}

// Config returns the accounts' configuration with the defaults filled in.
func (a *Accounts) Config() AccountsConfig { return a.cfg }

// maxDisplayName bounds a user's display name, in characters.
const maxDisplayName = 100

// NewUser is what AddUser makes a user of.
type NewUser struct {
	Name        string
	DisplayName string // "": the name
	Role        Role
	Store       string // RoleStoreManager only, and required there
	Password    string
}

// checkRole checks a role and its store: a store manager names a store
// that exists, the HQ roles none.
func (a *Accounts) checkRole(what string, role Role, store string) error {
	if !role.Valid() {
		return invalid("%s: unknown role %q (use admin, viewer or store_manager)", what, role)
	}
	if role != RoleStoreManager {
		if store != "" {
			return invalid("%s: only a store_manager has a store; leave store empty for %s", what, role)
		}
		return nil
	}
	if store == "" {
		return invalid("%s: a store_manager needs a store", what)
	}
	if _, ok := a.h.storeByID(store); !ok {
		return invalid("%s: no store %q", what, store)
	}
	return nil
}

func checkDisplayName(s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxDisplayName {
		return invalid("display_name: at most %d characters of UTF-8", maxDisplayName)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid("display_name: no control characters")
		}
	}
	return nil
}

// AddUser creates a user; a name already taken is a Conflict.
func (a *Accounts) AddUser(ctx context.Context, nu NewUser) (User, error) {
	if err := protocol.ValidID(nu.Name); err != nil {
		return User{}, invalid("name: %v", err)
	}
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Name
	}
	if err := checkDisplayName(nu.DisplayName); err != nil {
		return User{}, err
	}
	if err := a.checkRole("user "+nu.Name, nu.Role, nu.Store); err != nil {
		return User{}, err
	}
	if err := checkPassword(nu.Password); err != nil {
		return User{}, err
	}
	hash, err := a.newHash(ctx, nu.Password)
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", nu.Name, err)
	}
	u := User{Name: nu.Name, DisplayName: nu.DisplayName, Role: nu.Role, Store: nu.Store, Password: hash,
		Created: a.now().UTC()}
	err = a.h.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.User(u.Name); err == nil {
			return conflict("user %s exists; change it with POST /api/v1/users/%s", u.Name, u.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return tx.PutUser(u)
	})
	if err != nil {
		return User{}, fmt.Errorf("add user %s: %w", u.Name, err)
	}
	return u, nil
}

// newHash hashes pw with a fresh salt.
func (a *Accounts) newHash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, kdfSaltLen)
	if _, err := io.ReadFull(a.rand, salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	return a.kdf.hash(ctx, pw, salt)
}

// User returns one user.
func (a *Accounts) User(ctx context.Context, name string) (User, error) {
	var u User
	err := a.h.store.View(ctx, func(r Reader) error {
		var err error
		u, err = r.User(name)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, notFound("no user %q", name)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}

// Users returns every user, by name.
func (a *Accounts) Users(ctx context.Context) ([]User, error) {
	var us []User
	err := a.h.store.View(ctx, func(r Reader) error {
		var err error
		us, err = r.Users()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return us, nil
}

// UserChange is what UpdateUser changes: nil fields stay as they are.
type UserChange struct {
	DisplayName *string
	Role        *Role
	Store       *string // with Role: the store manager's store
	Disabled    *bool
	Password    *string // a reset by an admin
}

// UpdateUser changes a user. A change of role, store or disabled state, or
// a password reset, ends every session of the user. It returns the user
// as changed and how many sessions it ended.
func (a *Accounts) UpdateUser(ctx context.Context, name string, ch UserChange) (User, int, error) {
	if ch.DisplayName != nil {
		if err := checkDisplayName(*ch.DisplayName); err != nil {
			return User{}, 0, err
		}
	}
	var hash string
	if ch.Password != nil {
		if err := checkPassword(*ch.Password); err != nil {
			return User{}, 0, err
		}
		var err error
		if hash, err = a.newHash(ctx, *ch.Password); err != nil {
			return User{}, 0, fmt.Errorf("update user %s: %w", name, err)
		}
	}
	var u User
	var ended int
	err := a.h.store.Update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.User(name); errors.Is(err, ErrNotFound) {
			return notFound("no user %q", name)
		} else if err != nil {
			return err
		}
		old := u
		if ch.DisplayName != nil {
			u.DisplayName = *ch.DisplayName
			if u.DisplayName == "" {
				u.DisplayName = u.Name
			}
		}
		if ch.Role != nil {
			u.Role = *ch.Role
			if u.Role != RoleStoreManager {
				u.Store = ""
			}
		}
		if ch.Store != nil {
			u.Store = *ch.Store
		}
		if err := a.checkRole("user "+name, u.Role, u.Store); err != nil {
			return err
		}
		if ch.Disabled != nil {
			u.Disabled = *ch.Disabled
		}
		if hash != "" {
			u.Password = hash
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if u.Role != old.Role || u.Store != old.Store || (u.Disabled && !old.Disabled) || hash != "" {
			ended, err = tx.DeleteUserSessions(name, nil)
		}
		return err
	})
	if err != nil {
		return User{}, 0, fmt.Errorf("update user %s: %w", name, err)
	}
	if hash != "" {
		a.locks.clear(name)
	}
	return u, ended, nil
}

// ChangePassword is a user changing their own password: old must be right
// (a wrong one counts toward the lockout like a wrong sign-in). Every
// other session of the user ends; keep, the session token the change came
// from, stays signed in ("" for none).
func (a *Accounts) ChangePassword(ctx context.Context, name, old, pw, keep string) error {
	if err := checkPassword(pw); err != nil {
		return err
	}
	if _, err := a.check(ctx, name, old); err != nil {
		return err
	}
	hash, err := a.newHash(ctx, pw)
	if err != nil {
		return fmt.Errorf("change password of %s: %w", name, err)
	}
	var keepHash []byte
	if keep != "" {
		keepHash = tokenHash(keep)
	}
	err = a.h.store.Update(ctx, func(tx Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		u.Password = hash
		if err := tx.PutUser(u); err != nil {
			return err
		}
		_, err = tx.DeleteUserSessions(name, keepHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("change password of %s: %w", name, err)
	}
	return nil
}
