package hub

import "time"

// The accounts' rows: HQ dashboard users, their sessions and API tokens.
// The rules over them are in accounts.go.

// AccountReader reads the accounts' rows; part of Reader. Lookups of one
// row return ErrNotFound when it does not exist.
type AccountReader interface {
	User(name string) (User, error)
	// Users returns every user, by name.
	Users() ([]User, error)
	// Session returns the session whose token has SHA-256 hash.
	Session(hash []byte) (Session, error)
	// APIToken returns a token by id, APITokenByHash by the SHA-256 of its
	// secret.
	APIToken(id string) (APIToken, error)
	APITokenByHash(hash []byte) (APIToken, error)
	// APITokens returns every token, revoked ones too, by creation time
	// then id.
	APITokens() ([]APIToken, error)
}

// AccountTx writes the accounts' rows; part of Tx.
type AccountTx interface {
	// PutUser inserts the user or replaces every field of it.
	PutUser(u User) error
	// PutSession inserts the session or replaces every field of it.
	PutSession(s Session) error
	// DeleteSession deletes a session; one that does not exist is no
	// error.
	DeleteSession(hash []byte) error
	// DeleteUserSessions deletes every session of user but keep (nil: every
	// one) and returns how many it deleted.
	DeleteUserSessions(user string, keep []byte) (int, error)
	// PurgeSessions deletes the sessions that expired at now or were last
	// seen before idleBefore, and returns how many.
	PurgeSessions(now, idleBefore time.Time) (int, error)
	// PutAPIToken inserts the token or replaces every field of it; a new id
	// whose hash another token has is ErrExists.
	PutAPIToken(t APIToken) error
}

// User is a person who signs in to the HQ dashboard.
type User struct {
	Name        string // the login, a protocol.ValidID
	DisplayName string
	Role        Role
	Store       string // RoleStoreManager: the one store they see; else ""
	// Password is the argon2id hash of the password in PHC form, with its
	// salt and parameters ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	Password   string
	Disabled   bool
	Created    time.Time
	LastSignIn time.Time // zero: never
}

// Session is a signed-in browser. Only the SHA-256 of its token is kept.
type Session struct {
	Hash    []byte
	User    string
	CSRF    string // the token unsafe requests of the session carry
	Created time.Time
	Seen    time.Time // last use, written at most once a minute
	Expires time.Time // absolute: Created + the maximum age
}

// APIToken is a bearer token HQ made for a program. Only the SHA-256 of
// its secret is kept; the secret is shown once, when it is made.
type APIToken struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Hash      []byte    `json:"-"`
	Role      Role      `json:"role"`
	Store     string    `json:"store,omitempty"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	Revoked   time.Time `json:"revoked,omitzero"`
}
