-- Event stream consumers read in an order no late commit can slip behind (see `events_after`):
-- by the id of the transaction that wrote each event, then by event id. Rows written before
-- this migration all count as transaction 0, so existing cursors (0, last event id) go on from
-- where they were.
ALTER TABLE events ADD COLUMN tx_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ALTER COLUMN tx_id SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX events_stream ON events(tx_id, id);
ALTER TABLE stream_cursors ADD COLUMN tx_id BIGINT NOT NULL DEFAULT 0;
