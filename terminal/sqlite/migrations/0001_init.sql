-- The terminal's cache, journal and outbox.

-- Identity, cursors and counters: terminal, store, region, timezone,
-- head_seq, head_hash, feed_cursor, last_contact, z_number.
CREATE TABLE meta (
	k TEXT PRIMARY KEY,
	v TEXT NOT NULL
) WITHOUT ROWID;

-- What the hub says about stores, campaigns and issuing keys, as the
-- protocol's JSON.
CREATE TABLE stores (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE issuing_keys (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;

-- Settled business days: no void of them.
CREATE TABLE locks (
	store TEXT NOT NULL,
	day   TEXT NOT NULL,
	at    INTEGER NOT NULL,
	PRIMARY KEY (store, day)
) WITHOUT ROWID;

-- Codes as known here. A card secret only as its keyed hash; a dynamic
-- code's seed sealed with the key in cache.key. Times are Unix seconds.
CREATE TABLE codes (
	id          TEXT PRIMARY KEY,
	campaign    TEXT NOT NULL,
	format      INTEGER NOT NULL, -- 1 signed, 2 secret, 3 dynamic
	secret_hash BLOB,
	seed        BLOB,
	uses        INTEGER NOT NULL,
	uses_left   INTEGER NOT NULL,
	status      INTEGER NOT NULL, -- 0 active, 1 revoked, 2 blocked
	valid_from  INTEGER,
	valid_until INTEGER,
	scope       TEXT,             -- {"stores":[...],"regions":[...]} or NULL
	last_used   INTEGER,
	last_step   INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX codes_secret ON codes (secret_hash) WHERE secret_hash IS NOT NULL;

-- The journal: every decision, hash-chained and signed, append-only. body
-- is the exact signed bytes; the other columns are copies for queries.
CREATE TABLE journal (
	seq      INTEGER PRIMARY KEY,
	body     BLOB NOT NULL,
	sig      BLOB NOT NULL,
	hash     BLOB NOT NULL,
	kind     TEXT NOT NULL,
	at       INTEGER NOT NULL, -- Unix milliseconds, terminal clock
	day      TEXT NOT NULL,    -- business day in the store's zone
	code     TEXT,
	campaign TEXT,
	reason   TEXT NOT NULL,
	mode     TEXT NOT NULL,
	uses     INTEGER NOT NULL,
	amount   INTEGER NOT NULL,
	voids    INTEGER,          -- seq of the redemption a void undoes
	cashier  TEXT
);
CREATE INDEX journal_day ON journal (day);
CREATE INDEX journal_voids ON journal (voids) WHERE voids IS NOT NULL;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

-- Events the hub has not acknowledged.
CREATE TABLE outbox (seq INTEGER PRIMARY KEY);

-- Decisions journaled before their claim; a restart resolves them.
CREATE TABLE pending (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
