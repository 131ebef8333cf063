-- The roll-up of the events table (hub.Totals): per business day, store,
-- campaign, local hour and mode, the redemptions and voids ingested, net
-- uses and net value in fen. The hub adds to it in the transaction that
-- inserts each redemption or void, and rebuilds it from the events when
-- meta totals_version is missing or older than its rules.
CREATE TABLE totals (
	day         TEXT NOT NULL,    -- YYYY-MM-DD in the store's time zone
	store       TEXT NOT NULL,
	campaign    TEXT NOT NULL,
	hour        INTEGER NOT NULL, -- 0–23, local
	mode        TEXT NOT NULL,
	redemptions INTEGER NOT NULL,
	voids       INTEGER NOT NULL,
	uses        INTEGER NOT NULL,
	value       INTEGER NOT NULL,
	PRIMARY KEY (day, store, campaign, hour, mode)
) WITHOUT ROWID;
CREATE INDEX totals_store ON totals (store, day);
