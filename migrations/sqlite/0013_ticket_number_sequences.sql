-- PostgreSQL's migration of this number gives each workspace a sequence for its ticket numbers,
-- so creates do not wait on each other's commits. SQLite runs one write transaction at a time and
-- keeps its counter row (no gaps); nothing changes here, and the numbering stays the same on both.
SELECT 1;
