-- The status tiles over a queue (`ticketCounts` with a queue filter) count each status up to the
-- list's cap; without an index leading with the queue and the status, PostgreSQL read a queue's
-- every ticket (or the whole table) to find them. SQLite's counters answer that filter, but the
-- two schemas keep the same indexes.
CREATE INDEX tickets_queue_status ON tickets(workspace_id, queue_id, status);

-- Admin forms two people may edit at once (queues, help topics) carry the version they were loaded
-- at; a save of an older version is refused, naming who saved since and when (updated_by holds
-- the saver's label as history shows it).
ALTER TABLE queues ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE queues ADD COLUMN updated_at INTEGER;
ALTER TABLE queues ADD COLUMN updated_by TEXT;
ALTER TABLE help_topics ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE help_topics ADD COLUMN updated_at INTEGER;
ALTER TABLE help_topics ADD COLUMN updated_by TEXT;
