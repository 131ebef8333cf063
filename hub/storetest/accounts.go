package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// The accounts' rows: users, sessions, API tokens.

func testAccounts(t *testing.T, s hub.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, s) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, s) })
	t.Run("PurgeSessions", func(t *testing.T) { testPurgeSessions(t, s) })
	t.Run("APITokens", func(t *testing.T) { testAPITokens(t, s) })
}

func testUsers(t *testing.T, s hub.Store) {
	view(t, s, func(r hub.Reader) error {
		_, err := r.User("nobody")
		isErr(t, "unknown user", err, hub.ErrNotFound)
		us, err := r.Users()
		check(t, "users", err)
		if len(us) != 0 {
			t.Errorf("users of an empty store: got %v, want none", us)
		}
		return nil
	})
	b := hub.User{Name: "bo", DisplayName: "王博 Bo", Role: hub.RoleStoreManager, Store: "s1",
		Password: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", Created: at(0)}
	a := hub.User{Name: "al", DisplayName: "Al", Role: hub.RoleAdmin, Password: "x", Created: at(time.Second),
		LastSignIn: at(time.Minute)}
	update(t, s, func(tx hub.Tx) error {
		check(t, "put bo", tx.PutUser(b))
		return tx.PutUser(a)
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.User("bo")
		check(t, "user bo", err)
		same(t, "user bo", got, b)
		us, err := r.Users()
		check(t, "users", err)
		same(t, "users (by name)", us, []hub.User{a, b})
		return nil
	})
	// Replace every field.
	b.DisplayName, b.Role, b.Store, b.Password, b.Disabled, b.LastSignIn = "Bo", hub.RoleViewer, "", "y", true, at(time.Hour)
	update(t, s, func(tx hub.Tx) error { return tx.PutUser(b) })
	view(t, s, func(r hub.Reader) error {
		got, err := r.User("bo")
		check(t, "user bo", err)
		same(t, "user bo replaced", got, b)
		return nil
	})
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testSessions(t *testing.T, s hub.Store) {
	s1 := hub.Session{Hash: hashOf("one"), User: "al", CSRF: "csrf-1", Created: at(0), Seen: at(time.Minute), Expires: at(7 * 24 * time.Hour)}
	s2 := hub.Session{Hash: hashOf("two"), User: "al", CSRF: "csrf-2", Created: at(0), Seen: at(0), Expires: at(time.Hour)}
	s3 := hub.Session{Hash: hashOf("three"), User: "bo", CSRF: "csrf-3", Created: at(0), Seen: at(0), Expires: at(time.Hour)}
	update(t, s, func(tx hub.Tx) error {
		for _, x := range []hub.Session{s1, s2, s3} {
			check(t, "put session", tx.PutSession(x))
		}
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Session(hashOf("one"))
		check(t, "session one", err)
		same(t, "session one", got, s1)
		_, err = r.Session(hashOf("none"))
		isErr(t, "unknown session", err, hub.ErrNotFound)
		return nil
	})
	s1.Seen = at(2 * time.Minute)
	update(t, s, func(tx hub.Tx) error { return tx.PutSession(s1) })
	view(t, s, func(r hub.Reader) error {
		got, err := r.Session(hashOf("one"))
		check(t, "session one", err)
		same(t, "session one touched", got, s1)
		return nil
	})
	// Every session of al but the one kept.
	update(t, s, func(tx hub.Tx) error {
		n, err := tx.DeleteUserSessions("al", hashOf("one"))
		check(t, "delete al's sessions", err)
		if n != 1 {
			t.Errorf("sessions of al deleted but one: got %d, want 1", n)
		}
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		_, err := r.Session(hashOf("two"))
		isErr(t, "deleted session", err, hub.ErrNotFound)
		_, err = r.Session(hashOf("one"))
		check(t, "kept session", err)
		_, err = r.Session(hashOf("three"))
		check(t, "bo's session", err)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		n, err := tx.DeleteUserSessions("al", nil)
		check(t, "delete every session of al", err)
		if n != 1 {
			t.Errorf("sessions of al deleted: got %d, want 1", n)
		}
		check(t, "delete bo's", tx.DeleteSession(hashOf("three")))
		return tx.DeleteSession(hashOf("three")) // again: no error
	})
	view(t, s, func(r hub.Reader) error {
		for _, h := range []string{"one", "three"} {
			_, err := r.Session(hashOf(h))
			isErr(t, "deleted session "+h, err, hub.ErrNotFound)
		}
		return nil
	})
}

func testPurgeSessions(t *testing.T, s hub.Store) {
	live := hub.Session{Hash: hashOf("live"), User: "al", CSRF: "c", Created: at(0), Seen: at(time.Hour), Expires: at(3 * time.Hour)}
	expired := hub.Session{Hash: hashOf("expired"), User: "al", CSRF: "c", Created: at(0), Seen: at(time.Hour), Expires: at(2 * time.Hour)}
	idle := hub.Session{Hash: hashOf("idle"), User: "al", CSRF: "c", Created: at(0), Seen: at(59 * time.Minute), Expires: at(3 * time.Hour)}
	update(t, s, func(tx hub.Tx) error {
		for _, x := range []hub.Session{live, expired, idle} {
			check(t, "put session", tx.PutSession(x))
		}
		n, err := tx.PurgeSessions(at(2*time.Hour), at(time.Hour))
		check(t, "purge", err)
		if n != 2 {
			t.Errorf("purged: got %d, want 2 (one expired at now, one seen before the idle limit)", n)
		}
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		_, err := r.Session(hashOf("live"))
		check(t, "live session", err)
		for _, h := range []string{"expired", "idle"} {
			_, err := r.Session(hashOf(h))
			isErr(t, h+" session", err, hub.ErrNotFound)
		}
		return nil
	})
}

func testAPITokens(t *testing.T, s hub.Store) {
	t1 := hub.APIToken{ID: "tok-1", Name: "BI export", Hash: hashOf("hxt_1"), Role: hub.RoleViewer, Created: at(time.Minute), CreatedBy: "al"}
	t2 := hub.APIToken{ID: "tok-2", Name: "store s1 kiosk", Hash: hashOf("hxt_2"), Role: hub.RoleStoreManager, Store: "s1",
		Created: at(0), CreatedBy: "admin"}
	update(t, s, func(tx hub.Tx) error {
		check(t, "put tok-1", tx.PutAPIToken(t1))
		check(t, "put tok-2", tx.PutAPIToken(t2))
		dup := t1
		dup.ID = "tok-3"
		isErr(t, "a new token with another's hash", tx.PutAPIToken(dup), hub.ErrExists)
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.APIToken("tok-2")
		check(t, "tok-2", err)
		same(t, "tok-2", got, t2)
		got, err = r.APITokenByHash(hashOf("hxt_1"))
		check(t, "tok-1 by hash", err)
		same(t, "tok-1 by hash", got, t1)
		_, err = r.APIToken("tok-9")
		isErr(t, "unknown token", err, hub.ErrNotFound)
		_, err = r.APITokenByHash(hashOf("hxt_9"))
		isErr(t, "unknown hash", err, hub.ErrNotFound)
		ts, err := r.APITokens()
		check(t, "tokens", err)
		same(t, "tokens (by creation)", ts, []hub.APIToken{t2, t1})
		return nil
	})
	t1.LastUsed, t1.Revoked = at(time.Hour), at(2*time.Hour)
	update(t, s, func(tx hub.Tx) error { return tx.PutAPIToken(t1) })
	view(t, s, func(r hub.Reader) error {
		got, err := r.APIToken("tok-1")
		check(t, "tok-1", err)
		same(t, "tok-1 revoked", got, t1)
		if !bytes.Equal(got.Hash, hashOf("hxt_1")) {
			t.Errorf("hash changed")
		}
		return nil
	})
}
