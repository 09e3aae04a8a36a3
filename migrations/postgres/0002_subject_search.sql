-- Substring search on ticket subjects without reading every ticket (PostgreSQL twin of
-- migrations/sqlite/0002): a trigram GIN index, which ILIKE '%text%' uses as it is.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tickets_subject_trgm ON tickets USING gin (subject gin_trgm_ops);
