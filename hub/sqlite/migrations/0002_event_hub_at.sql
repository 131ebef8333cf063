-- An event's time on the hub's clock, when the hub corrected its terminal's
-- flagged clock at ingest (hub.Event.HubAt); 0 when it trusted the
-- terminal's time.
ALTER TABLE events ADD COLUMN hub_at INTEGER NOT NULL DEFAULT 0;
