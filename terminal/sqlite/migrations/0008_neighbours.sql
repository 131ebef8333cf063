-- The store's other terminals' redemptions and voids, as the hub's feed
-- names them (protocol.Change.By): one row per event, keyed by its id, so
-- a claim's row is replaced by its event's and an undone claim deletes it.
-- Never a card secret: code is the code id. Rows older than a week (by the
-- feed's clock) are pruned as changes are applied.
CREATE TABLE neighbours (
	terminal TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	kind     TEXT NOT NULL,    -- redemption or void
	code     TEXT NOT NULL,    -- code id
	campaign TEXT NOT NULL,
	uses     INTEGER NOT NULL,
	amount   INTEGER NOT NULL, -- fen
	mode     TEXT NOT NULL,    -- online or offline
	cashier  TEXT NOT NULL,
	at       INTEGER NOT NULL, -- Unix milliseconds, the redeeming terminal's clock
	change   INTEGER NOT NULL, -- the feed seq that told us
	PRIMARY KEY (terminal, seq)
) WITHOUT ROWID;
CREATE INDEX neighbours_at ON neighbours (at);
