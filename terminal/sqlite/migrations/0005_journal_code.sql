-- The feed re-applies this terminal's unacknowledged uses of each code it
-- changes: without this index every code change scanned the outbox.
CREATE INDEX journal_code ON journal (code) WHERE code IS NOT NULL;
