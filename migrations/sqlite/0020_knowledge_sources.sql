-- Knowledge URL sources (issue 18): a page fetched through the outbound guard and re-synced on
-- its own interval; its text is a knowledge document (origin `url`) versioned like any other.

CREATE TABLE knowledge_sources (
    id                INTEGER PRIMARY KEY,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces(id),
    url               TEXT NOT NULL,
    refresh_minutes   INTEGER NOT NULL,
    -- The document holding the page's text; NULL until the first successful sync.
    document_id       INTEGER REFERENCES knowledge_documents(id),
    -- When the job runner syncs it next. A sync in progress moves it ahead by its claim, so a
    -- replica that died mid-sync leaves it to be picked up again.
    next_sync_at      INTEGER NOT NULL,
    -- Set while a sync holds the source; past, the claim is void (its syncer died).
    syncing_until     INTEGER,
    -- The last attempt, successful or not, and the last successful one.
    last_attempt_at   INTEGER,
    last_synced_at    INTEGER,
    first_synced_at   INTEGER,
    -- Why the last attempt failed; NULL after a success.
    last_error        TEXT,
    -- The last time one of its chunks was among a knowledge search's results.
    last_retrieved_at INTEGER,
    created_at        INTEGER NOT NULL,
    created_by        TEXT,
    UNIQUE (workspace_id, url)
);
CREATE INDEX knowledge_sources_due ON knowledge_sources(next_sync_at);
CREATE INDEX knowledge_sources_document ON knowledge_sources(document_id);
