package hub

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Sign-in refusals. ErrBadSignIn is the one answer to a wrong password and
// to a name nobody has, which cost the same: the answer never tells which.
var (
	ErrBadSignIn = errors.New("wrong name or password")
	ErrDisabled  = errors.New("this account is disabled; ask an HQ admin")
	ErrNoSession = errors.New("not signed in, or the session ended; sign in again")
)

// LockedError is a sign-in refused because the name had too many wrong
// passwords in a row; known and unknown names lock alike.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many wrong passwords: sign-in for this name is locked until %s UTC",
		e.Until.UTC().Format("15:04:05"))
}

// Session token sizes: 32 random bytes, as base64url text.
const (
	tokenBytes = 32
	tokenText  = 43 // base64.RawURLEncoding of 32 bytes
	// touchEvery is how stale a session's Seen may get before a request
	// writes it again.
	touchEvery = time.Minute
)

// newToken returns 32 random bytes as base64url text.
func newToken(rnd io.Reader) (string, error) {
	var b [tokenBytes]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidToken reports whether s has the shape of a session or CSRF token:
// 43 base64url characters. Anything else is refused before it is hashed
// or looked up.
func ValidToken(s string) bool {
	if len(s) != tokenText {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	// The last character carries 2 unused bits, which must be zero.
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// dummyHash is the hash unknown names are checked against, so that they
// cost what a known name costs.
func (a *Accounts) dummyHash(ctx context.Context) (string, error) {
	var err error
	a.dummyOnce.Do(func() {
		var tok string
		if tok, err = newToken(a.rand); err == nil {
			a.dummy, err = a.newHash(ctx, tok)
		}
	})
	if err == nil && a.dummy == "" {
		err = errors.New("no dummy hash") // a first attempt failed; the next process start retries
	}
	return a.dummy, err
}

// check verifies name's password: the user and whether the stored hash
// should be made again with the current cost. A locked name is refused
// before anything is hashed.
func (a *Accounts) check(ctx context.Context, name, pw string) (User, error) {
	now := a.now()
	// A try is reserved before hashing and settled after, so tries made
	// at once count together: no more than LockAfter of them are ever
	// checked in a run.
	if until, ok := a.locks.begin(name, now, a.cfg.LockAfter, a.cfg.LockFor); !ok {
		return User{}, &LockedError{Until: until}
	}
	settled := false
	defer func() {
		if !settled {
			a.locks.done(name, a.now(), false, a.cfg.LockAfter, a.cfg.LockFor) // an error: counted as a wrong try
		}
	}()
	var u User
	err := a.h.store.View(ctx, func(r Reader) error {
		var err error
		u, err = r.User(name)
		return err
	})
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("sign in: %w", err)
	}
	stored := u.Password
	if !known || len(pw) > MaxPassword {
		if stored, err = a.dummyHash(ctx); err != nil {
			return User{}, fmt.Errorf("sign in: %w", err)
		}
	}
	ok, _, err := a.kdf.verify(ctx, pw, stored)
	if err != nil {
		return User{}, fmt.Errorf("sign in %s: %w", name, err)
	}
	right := ok && known && len(pw) <= MaxPassword
	settled = true
	if until, ok := a.locks.done(name, a.now(), right, a.cfg.LockAfter, a.cfg.LockFor); !ok {
		return User{}, &LockedError{Until: until} // locked by other tries while this one was checked
	}
	if !right {
		return User{}, ErrBadSignIn
	}
	if u.Disabled {
		return User{}, ErrDisabled
	}
	return u, nil
}

// SignIn checks name's password and starts a session: it returns the
// session's token (for the cookie; only its hash is kept), the session and
// the user. Wrong passwords and unknown names are ErrBadSignIn; a locked
// name *LockedError; a disabled user ErrDisabled.
func (a *Accounts) SignIn(ctx context.Context, name, pw string) (string, Session, User, error) {
	u, err := a.check(ctx, name, pw)
	if err != nil {
		return "", Session{}, User{}, err
	}
	var rehash string
	if ph, err := parsePHC(u.Password); err == nil && ph.kdf.weaker(a.cfg.KDF) {
		if rehash, err = a.newHash(ctx, pw); err != nil {
			return "", Session{}, User{}, fmt.Errorf("sign in %s: %w", name, err)
		}
	}
	tok, err := newToken(a.rand)
	if err != nil {
		return "", Session{}, User{}, fmt.Errorf("sign in %s: %w", name, err)
	}
	csrf, err := newToken(a.rand)
	if err != nil {
		return "", Session{}, User{}, fmt.Errorf("sign in %s: %w", name, err)
	}
	now := a.now().UTC()
	s := Session{Hash: tokenHash(tok), User: name, CSRF: csrf, Created: now, Seen: now, Expires: now.Add(a.cfg.MaxAge)}
	err = a.h.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.PurgeSessions(now, now.Add(-a.cfg.IdleTimeout)); err != nil {
			return err
		}
		cur, err := tx.User(name)
		if err != nil {
			return err
		}
		if cur.Password != u.Password || cur.Disabled {
			return ErrBadSignIn // changed while the password was checked
		}
		u = cur
		u.LastSignIn = now
		if rehash != "" {
			u.Password = rehash
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return tx.PutSession(s)
	})
	if errors.Is(err, ErrBadSignIn) {
		return "", Session{}, User{}, ErrBadSignIn
	}
	if err != nil {
		return "", Session{}, User{}, fmt.Errorf("sign in %s: %w", name, err)
	}
	return tok, s, u, nil
}

// Session returns the live session of token and its user, and notes the
// use (at most once a minute). A token of no session, an expired or idle
// one, or one of a disabled user is ErrNoSession.
func (a *Accounts) Session(ctx context.Context, token string) (Session, User, error) {
	if !ValidToken(token) {
		return Session{}, User{}, ErrNoSession
	}
	hash := tokenHash(token)
	var s Session
	var u User
	err := a.h.store.View(ctx, func(r Reader) error {
		var err error
		if s, err = r.Session(hash); err != nil {
			return err
		}
		u, err = r.User(s.User)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Session{}, User{}, ErrNoSession
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("session: %w", err)
	}
	now := a.now().UTC()
	if !now.Before(s.Expires) || now.Sub(s.Seen) >= a.cfg.IdleTimeout || u.Disabled {
		if err := a.h.store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(hash) }); err != nil {
			return Session{}, User{}, fmt.Errorf("end session: %w", err)
		}
		return Session{}, User{}, ErrNoSession
	}
	if now.Sub(s.Seen) >= touchEvery {
		s.Seen = now
		err := a.h.store.Update(ctx, func(tx Tx) error {
			if _, err := tx.Session(hash); err != nil {
				return err // signed out meanwhile: do not bring it back
			}
			return tx.PutSession(s)
		})
		if errors.Is(err, ErrNotFound) {
			return Session{}, User{}, ErrNoSession
		}
		if err != nil {
			return Session{}, User{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return s, u, nil
}

// SignOut ends the session of token; an unknown token is no error.
func (a *Accounts) SignOut(ctx context.Context, token string) error {
	if !ValidToken(token) {
		return nil
	}
	if err := a.h.store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(tokenHash(token)) }); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// maxTracked bounds the names the lockout remembers; past it, a name not
// locked is forgotten to make room.
const maxTracked = 10_000

// lockout counts wrong passwords per name, known or not.
type lockout struct {
	mu sync.Mutex // guards m
	m  map[string]*attempts
}

type attempts struct {
	n       int       // wrong passwords in a row
	last    time.Time // the last one
	until   time.Time // locked until; zero: not locked
	pending int       // tries begun and not yet settled
}

// begin reserves a try for name. It is refused while name is locked, and
// when the tries already under way could complete a run of after wrong
// passwords: then until is when to try again.
func (l *lockout) begin(name string, now time.Time, after int, lockFor time.Duration) (until time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.entry(name, now, lockFor)
	if now.Before(a.until) {
		return a.until, false
	}
	if now.Sub(a.last) > lockFor {
		a.n = 0 // an old run of failures is forgotten
	}
	if a.n+a.pending >= after {
		return now.Add(lockFor), false
	}
	a.pending++
	return time.Time{}, true
}

// done settles a try begin reserved. A wrong password counts toward the
// lock; a right one ends the run of failures, unless other tries locked
// name meanwhile: then it is refused too (ok false, and until when).
func (l *lockout) done(name string, now time.Time, right bool, after int, lockFor time.Duration) (until time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.entry(name, now, lockFor)
	if a.pending > 0 {
		a.pending--
	}
	if !right {
		l.failLocked(a, now, after, lockFor)
		return time.Time{}, true
	}
	if now.Before(a.until) {
		return a.until, false
	}
	a.n = 0
	if a.pending == 0 {
		delete(l.m, name)
	}
	return time.Time{}, true
}

// entry returns name's attempts, made when missing. Callers hold mu.
func (l *lockout) entry(name string, now time.Time, lockFor time.Duration) *attempts {
	a := l.m[name]
	if a == nil {
		if len(l.m) >= maxTracked {
			l.evict(now, lockFor)
		}
		a = &attempts{}
		l.m[name] = a
	}
	return a
}

// failLocked counts a wrong password: the after-th in a row (each within
// lockFor of the one before) locks the name for lockFor. Callers hold mu.
func (l *lockout) failLocked(a *attempts, now time.Time, after int, lockFor time.Duration) {
	if now.Sub(a.last) > lockFor {
		a.n = 0 // an old run of failures is forgotten
	}
	a.n++
	a.last = now
	if a.n >= after {
		a.n, a.until = 0, now.Add(lockFor)
	}
}

// evict drops stale names, or else one that is not locked. Callers hold mu.
func (l *lockout) evict(now time.Time, lockFor time.Duration) {
	for k, a := range l.m {
		if now.Sub(a.last) > lockFor && !now.Before(a.until) && a.pending == 0 {
			delete(l.m, k)
		}
	}
	if len(l.m) < maxTracked {
		return
	}
	for k, a := range l.m {
		if !now.Before(a.until) && a.pending == 0 {
			delete(l.m, k)
			return
		}
	}
}

func (l *lockout) clear(name string) {
	l.mu.Lock()
	delete(l.m, name)
	l.mu.Unlock()
}
