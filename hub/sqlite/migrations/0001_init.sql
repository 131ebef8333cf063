-- The hub's ledger. Times are INTEGER Unix microseconds UTC (the precision
-- PostgreSQL keeps too), 0 for the zero time. Lists are JSON text, NULL when
-- empty. Records that are read whole and never queried by a field (stores,
-- campaigns, changes) are JSON in body; everything the hub filters or reads
-- on the ingest path is a column.

CREATE TABLE meta (
	k TEXT PRIMARY KEY,
	v BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE stores (
	id   TEXT PRIMARY KEY,
	body BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE campaigns (
	id   TEXT PRIMARY KEY,
	body BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE issuing_keys (
	id         TEXT PRIMARY KEY,
	public     BLOB NOT NULL,
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL,
	sealed     BLOB,           -- the private seed, sealed with the master key
	created    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE terminals (
	id         TEXT PRIMARY KEY,
	store      TEXT NOT NULL,
	public     BLOB,
	secret     BLOB,
	status     TEXT NOT NULL,
	created    INTEGER NOT NULL,
	head       INTEGER NOT NULL,
	head_hash  BLOB NOT NULL,
	last_seen  INTEGER NOT NULL,
	presence   TEXT,           -- protocol.Presence as JSON, NULL for none
	skew       INTEGER NOT NULL,
	skew_known INTEGER NOT NULL
);

CREATE TABLE enrollments (
	token_hash BLOB PRIMARY KEY,
	store      TEXT NOT NULL,
	terminal   TEXT NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	used       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE codes (
	id            TEXT PRIMARY KEY,
	campaign      TEXT NOT NULL,
	format        TEXT NOT NULL,
	secret_hash   BLOB UNIQUE,
	seed          BLOB,
	uses          INTEGER NOT NULL,
	used          INTEGER NOT NULL,
	status        TEXT NOT NULL,
	valid_from    INTEGER NOT NULL,
	valid_until   INTEGER NOT NULL,
	stores        TEXT,
	regions       TEXT,
	last_store    TEXT NOT NULL,
	last_terminal TEXT NOT NULL,
	last_at       INTEGER NOT NULL,
	last_step     INTEGER NOT NULL,
	order_ref     TEXT NOT NULL,
	issued        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX codes_campaign ON codes (campaign);

-- The ledger proper: one row per terminal event, append-only. The rowid is
-- the ingest order (EventFilter.AfterID).
CREATE TABLE events (
	id             INTEGER PRIMARY KEY,
	v              INTEGER NOT NULL,
	terminal       TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	prev           BLOB NOT NULL,
	kind           TEXT NOT NULL,
	at             INTEGER NOT NULL, -- terminal time
	store          TEXT NOT NULL,
	cashier        TEXT NOT NULL,
	mode           TEXT NOT NULL,
	entry          TEXT NOT NULL,
	reason         TEXT NOT NULL,
	code           TEXT NOT NULL,
	format         TEXT NOT NULL,
	campaign       TEXT NOT NULL,
	uses           INTEGER NOT NULL,
	amount         INTEGER NOT NULL,
	step           INTEGER NOT NULL,
	order_ref      TEXT NOT NULL,
	idem_key       TEXT NOT NULL,
	voids_terminal TEXT,             -- NULL: voids nothing
	voids_seq      INTEGER,
	note           TEXT NOT NULL,
	body           BLOB,             -- the signed bytes
	sig            BLOB,
	hash           BLOB NOT NULL,
	received       INTEGER NOT NULL, -- hub time
	flags          TEXT,
	UNIQUE (terminal, seq)
);
CREATE INDEX events_code ON events (code) WHERE code <> '';
CREATE INDEX events_store_at ON events (store, at);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TABLE claims (
	terminal       TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	kind           TEXT NOT NULL,
	code           TEXT NOT NULL,
	uses           INTEGER NOT NULL,
	step           INTEGER NOT NULL,
	voids_terminal TEXT,
	voids_seq      INTEGER,
	taken          INTEGER NOT NULL,
	reply          BLOB NOT NULL,    -- protocol.ClaimReply as JSON
	at             INTEGER NOT NULL,
	settled        INTEGER NOT NULL,
	undone         INTEGER NOT NULL,
	PRIMARY KEY (terminal, seq)
) WITHOUT ROWID;

-- AUTOINCREMENT: a seq is never handed out twice, even after the newest
-- change is gone.
CREATE TABLE changes (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	body        BLOB NOT NULL,       -- protocol.Change as JSON, seq 0
	aud_all     INTEGER NOT NULL,
	aud_stores  TEXT,
	aud_regions TEXT
);

CREATE TABLE locks (
	store TEXT NOT NULL,
	day   TEXT NOT NULL,
	at    INTEGER NOT NULL,
	PRIMARY KEY (store, day)
) WITHOUT ROWID;

CREATE TABLE alerts (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind      TEXT NOT NULL,
	key       TEXT NOT NULL,
	code      TEXT NOT NULL,
	stores    TEXT,
	terminals TEXT,
	events    TEXT,
	at        INTEGER NOT NULL,
	detail    TEXT NOT NULL,
	acked     INTEGER NOT NULL,
	acked_by  TEXT NOT NULL,
	note      TEXT NOT NULL
);
CREATE INDEX alerts_key ON alerts (kind, key, acked, at);
CREATE INDEX alerts_at ON alerts (at);
