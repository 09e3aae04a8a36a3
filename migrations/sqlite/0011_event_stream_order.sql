-- The PostgreSQL migration of the same number orders the event stream by writing transaction.
-- SQLite commits one write transaction at a time, so event ids already are in commit order:
-- the columns exist for the same rows on both databases and stay 0 here.
ALTER TABLE events ADD COLUMN tx_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stream_cursors ADD COLUMN tx_id INTEGER NOT NULL DEFAULT 0;
