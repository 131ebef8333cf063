-- The register's idempotency key of each event, so a retried COMMIT is
-- answered with the decision already recorded instead of decided again.
ALTER TABLE journal ADD COLUMN idem_key TEXT;
CREATE UNIQUE INDEX journal_idem_key ON journal (idem_key) WHERE idem_key IS NOT NULL;
