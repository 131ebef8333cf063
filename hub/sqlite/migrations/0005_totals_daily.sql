-- The roll-up summed over the hours: what a report reads (a month of a
-- 500-store chain is a few hundred thousand rows here, millions in
-- totals). Kept in the same statements as totals (AddTotals, ClearTotals)
-- and filled from it once here.
CREATE TABLE totals_daily (
	day         TEXT NOT NULL,
	store       TEXT NOT NULL,
	campaign    TEXT NOT NULL,
	mode        TEXT NOT NULL,
	redemptions INTEGER NOT NULL,
	voids       INTEGER NOT NULL,
	uses        INTEGER NOT NULL,
	value       INTEGER NOT NULL,
	PRIMARY KEY (day, store, campaign, mode)
) WITHOUT ROWID;
CREATE INDEX totals_daily_store ON totals_daily (store, day);
INSERT INTO totals_daily (day, store, campaign, mode, redemptions, voids, uses, value)
	SELECT day, store, campaign, mode, sum(redemptions), sum(voids), sum(uses), sum(value)
	FROM totals GROUP BY day, store, campaign, mode;
