-- Background jobs, the help center and sooner retries of failed URL syncs (issue 18).

-- A public document is in the portal's help center: every customer of its workspace may browse,
-- search and read it. Staff documents stay private unless an admin says otherwise.
ALTER TABLE knowledge_documents ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX knowledge_documents_public ON knowledge_documents(workspace_id, public);

-- Failed syncs in a row: a failing source is tried again sooner than its interval (1, 2, 4, ...
-- minutes, never later than the interval), and back on its interval after a success.
ALTER TABLE knowledge_sources ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

-- Long-running work the Background jobs page shows: URL syncs and re-indexing, with their state
-- (queued, running, completed, failed), progress and times. The work itself is the job runner's;
-- a row is its account for people.
CREATE TABLE background_jobs (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    -- knowledge_sync or reindex.
    kind         TEXT NOT NULL,
    -- queued, running, completed or failed.
    state        TEXT NOT NULL,
    -- What it works on, for people: a source's URL, or what a re-index rewrites.
    subject      TEXT NOT NULL,
    -- The URL source a sync fetches.
    source_id    INTEGER,
    -- The scheduled sync this row stands for (its source and due time): seeing the same due
    -- source again queues no second row.
    dedup_key    TEXT,
    processed    INTEGER NOT NULL DEFAULT 0,
    total        INTEGER,
    -- Why it failed.
    error        TEXT,
    requested_by TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    -- Moved by each step of progress: a running job that stopped moving lost its worker.
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX background_jobs_key ON background_jobs(dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX background_jobs_recent ON background_jobs(workspace_id, id);
CREATE INDEX background_jobs_state ON background_jobs(state, kind);
