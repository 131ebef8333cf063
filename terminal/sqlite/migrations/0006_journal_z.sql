-- X and Z reports start from the last Z report: find it without scanning
-- the journal.
CREATE INDEX journal_z ON journal (seq) WHERE kind = 'z_report';
