-- HQ dashboard accounts: users with argon2id password hashes (PHC strings),
-- their sessions (SHA-256 of the cookie's token) and API tokens (SHA-256 of
-- the secret). Times are microseconds since the epoch, 0 for none.
CREATE TABLE users (
	name         TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	role         TEXT NOT NULL,
	store        TEXT NOT NULL,
	password     TEXT NOT NULL,
	disabled     INTEGER NOT NULL,
	created      INTEGER NOT NULL,
	last_sign_in INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
	hash      BLOB PRIMARY KEY,
	user_name TEXT NOT NULL,
	csrf      TEXT NOT NULL,
	created   INTEGER NOT NULL,
	seen      INTEGER NOT NULL,
	expires   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	store      TEXT NOT NULL,
	created    INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	last_used  INTEGER NOT NULL,
	revoked    INTEGER NOT NULL
) WITHOUT ROWID;
