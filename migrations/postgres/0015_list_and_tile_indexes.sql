-- The status tiles over a queue (`ticketCounts` with a queue filter) count each status up to the
-- list's cap; without an index leading with the queue and the status, PostgreSQL read a queue's
-- every ticket (or the whole table) to find them. SQLite's counters answer that filter, but the
-- two schemas keep the same indexes.
CREATE INDEX tickets_queue_status ON tickets(workspace_id, queue_id, status);
