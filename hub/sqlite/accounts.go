package sqlite

import (
	"fmt"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// The accounts' rows (migrations/0003_accounts.sql): users, sessions, API
// tokens.

const (
	userCols  = `name, display_name, role, store, password, disabled, created, last_sign_in`
	sessCols  = `hash, user_name, csrf, created, seen, expires`
	tokenCols = `id, name, hash, role, store, created, created_by, last_used, revoked`
)

var (
	qUser    = rq(`SELECT ` + userCols + ` FROM users WHERE name = ?`)
	qUsers   = rq(`SELECT ` + userCols + ` FROM users ORDER BY name`)
	qPutUser = wq(`INSERT INTO users (` + userCols + `) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
		store = excluded.store, password = excluded.password, disabled = excluded.disabled,
		created = excluded.created, last_sign_in = excluded.last_sign_in`)

	qSession      = rq(`SELECT ` + sessCols + ` FROM sessions WHERE hash = ?`)
	qPutSession   = wq(`INSERT OR REPLACE INTO sessions (` + sessCols + `) VALUES (?,?,?,?,?,?)`)
	qDelSession   = wq(`DELETE FROM sessions WHERE hash = ?`)
	qDelUserSess  = wq(`DELETE FROM sessions WHERE user_name = ? AND hash IS NOT ?`)
	qPurgeSession = wq(`DELETE FROM sessions WHERE expires <= ? OR seen < ?`)

	qAPIToken       = rq(`SELECT ` + tokenCols + ` FROM api_tokens WHERE id = ?`)
	qAPITokenByHash = rq(`SELECT ` + tokenCols + ` FROM api_tokens WHERE hash = ?`)
	qAPITokens      = rq(`SELECT ` + tokenCols + ` FROM api_tokens ORDER BY created, id`)
	qPutAPIToken    = wq(`INSERT INTO api_tokens (` + tokenCols + `) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, hash = excluded.hash, role = excluded.role,
		store = excluded.store, created = excluded.created, created_by = excluded.created_by,
		last_used = excluded.last_used, revoked = excluded.revoked`)
)

func scanUser(r scanner) (hub.User, error) {
	var u hub.User
	var role string
	var created, last int64
	if err := r.Scan(&u.Name, &u.DisplayName, &role, &u.Store, &u.Password, &u.Disabled, &created, &last); err != nil {
		return hub.User{}, err
	}
	u.Role, u.Created, u.LastSignIn = hub.Role(role), fromMicros(created), fromMicros(last)
	return u, nil
}

func (t *txn) User(name string) (hub.User, error) {
	u, err := scanUser(t.row(qUser, name))
	if err != nil {
		return hub.User{}, lookupFailed("user", name, err)
	}
	return u, nil
}

func (t *txn) Users() ([]hub.User, error) {
	var out []hub.User
	err := t.rows(qUsers, nil, func(r scanner) error {
		u, err := scanUser(r)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return out, nil
}

func (t *txn) PutUser(u hub.User) error {
	_, err := t.exec(qPutUser, u.Name, u.DisplayName, string(u.Role), u.Store, u.Password, boolInt(u.Disabled),
		micros(u.Created), micros(u.LastSignIn))
	if err != nil {
		return fmt.Errorf("put user %s: %w", u.Name, err)
	}
	return nil
}

func (t *txn) Session(hash []byte) (hub.Session, error) {
	var s hub.Session
	var created, seen, expires int64
	err := t.row(qSession, hash).Scan(&s.Hash, &s.User, &s.CSRF, &created, &seen, &expires)
	if err != nil {
		return hub.Session{}, fmt.Errorf("session: %w", notFound(err))
	}
	s.Created, s.Seen, s.Expires = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return s, nil
}

func (t *txn) PutSession(s hub.Session) error {
	_, err := t.exec(qPutSession, s.Hash, s.User, s.CSRF, micros(s.Created), micros(s.Seen), micros(s.Expires))
	if err != nil {
		return fmt.Errorf("put session of %s: %w", s.User, err)
	}
	return nil
}

func (t *txn) DeleteSession(hash []byte) error {
	if _, err := t.exec(qDelSession, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (t *txn) DeleteUserSessions(user string, keep []byte) (int, error) {
	var k any
	if keep != nil {
		k = keep
	}
	res, err := t.exec(qDelUserSess, user, k)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %s: %w", user, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *txn) PurgeSessions(now, idleBefore time.Time) (int, error) {
	res, err := t.exec(qPurgeSession, micros(now), micros(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func scanAPIToken(r scanner) (hub.APIToken, error) {
	var x hub.APIToken
	var role string
	var created, used, revoked int64
	err := r.Scan(&x.ID, &x.Name, &x.Hash, &role, &x.Store, &created, &x.CreatedBy, &used, &revoked)
	if err != nil {
		return hub.APIToken{}, err
	}
	x.Role, x.Created, x.LastUsed, x.Revoked = hub.Role(role), fromMicros(created), fromMicros(used), fromMicros(revoked)
	return x, nil
}

func (t *txn) APIToken(id string) (hub.APIToken, error) {
	x, err := scanAPIToken(t.row(qAPIToken, id))
	if err != nil {
		return hub.APIToken{}, lookupFailed("api token", id, err)
	}
	return x, nil
}

func (t *txn) APITokenByHash(hash []byte) (hub.APIToken, error) {
	x, err := scanAPIToken(t.row(qAPITokenByHash, hash))
	if err != nil {
		return hub.APIToken{}, fmt.Errorf("api token by hash: %w", notFound(err))
	}
	return x, nil
}

func (t *txn) APITokens() ([]hub.APIToken, error) {
	var out []hub.APIToken
	err := t.rows(qAPITokens, nil, func(r scanner) error {
		x, err := scanAPIToken(r)
		out = append(out, x)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	return out, nil
}

func (t *txn) PutAPIToken(x hub.APIToken) error {
	_, err := t.exec(qPutAPIToken, x.ID, x.Name, x.Hash, string(x.Role), x.Store, micros(x.Created), x.CreatedBy,
		micros(x.LastUsed), micros(x.Revoked))
	if isDuplicate(err) {
		return fmt.Errorf("api token %s: its hash is another token's: %w", x.ID, hub.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("put api token %s: %w", x.ID, err)
	}
	return nil
}
