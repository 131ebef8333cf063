-- Staff of this terminal: cashiers and store managers. A PIN is kept only
-- as argon2id over an HMAC of it under a key derived from the terminal's
-- secret key (pin_kdf names the parameters, pin_salt is random per row);
-- a badge only as an HMAC-SHA256 under another derived key, unique, so a
-- scan is found by an indexed equality.
CREATE TABLE staff (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
	pin_kdf    TEXT NOT NULL DEFAULT '', -- '' : no PIN
	pin_salt   BLOB,
	pin_hash   BLOB,
	badge_hash BLOB UNIQUE,              -- NULL: no badge
	disabled   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Failed sign-ins, the lockout rule's state: one row per staff number
-- ('pin:' || id, also for numbers that are not staff) and one for the
-- terminal's badge scans ('badge'). A success deletes its row.
CREATE TABLE staff_attempts (
	subject  TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_at  INTEGER NOT NULL, -- Unix milliseconds of the last failure
	until_at INTEGER NOT NULL  -- Unix milliseconds the lockout ends; 0: none
) WITHOUT ROWID;
