-- Printed slips: one row per journal event a slip was printed (or tried)
-- for. A redemption without a printed row is an unprinted slip the
-- manager can reprint; a printer failure never touches the journal.
CREATE TABLE slips (
	seq     INTEGER PRIMARY KEY, -- the journal event
	printed INTEGER NOT NULL,    -- successful prints (more than 1: reprinted)
	tries   INTEGER NOT NULL,
	error   TEXT NOT NULL,       -- why the last try failed ('' when it printed)
	at      INTEGER NOT NULL     -- Unix milliseconds of the last try
);
