-- Knowledge documents (issue 18): pasted and uploaded documents in folders, their version
-- history, and the chunks the search layer indexes. Per workspace; nothing is shared.

CREATE TABLE knowledge_folders (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE knowledge_documents (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    folder_id    INTEGER REFERENCES knowledge_folders(id),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    -- text, markdown, html, json or csv: how the body is read when it is chunked.
    format       TEXT NOT NULL,
    -- paste or upload.
    origin       TEXT NOT NULL,
    -- An upload's file name: uploading the same name again refreshes this document.
    file_name    TEXT,
    -- SHA-256 of format, title and body: a save with the same hash is no change.
    content_hash TEXT NOT NULL,
    -- The current version's number; the versions table holds it and up to 49 before it.
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT
);
CREATE UNIQUE INDEX knowledge_documents_file ON knowledge_documents(workspace_id, file_name)
    WHERE file_name IS NOT NULL;
CREATE INDEX knowledge_documents_folder ON knowledge_documents(workspace_id, folder_id);

CREATE TABLE knowledge_versions (
    document_id  INTEGER NOT NULL REFERENCES knowledge_documents(id),
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    version      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    format       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT,
    PRIMARY KEY (document_id, version)
);

-- A document's text cut at its headings; a chunk keeps the headings above it (a JSON array).
-- Ids are never reused, so a chunk removed from the index by id cannot come back as another.
CREATE TABLE knowledge_chunks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    document_id  INTEGER NOT NULL REFERENCES knowledge_documents(id),
    position     INTEGER NOT NULL,
    heading_path TEXT NOT NULL,
    text         TEXT NOT NULL,
    UNIQUE (document_id, position)
);
