-- A manager's switches between online and forced offline: who, when, why.
-- Local to the terminal (the hub sees the mode in the presence message).
CREATE TABLE mode_log (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL, -- Unix milliseconds, terminal clock
	manager TEXT NOT NULL,
	offline INTEGER NOT NULL, -- 1 forced offline, 0 back online
	note    TEXT NOT NULL
);
