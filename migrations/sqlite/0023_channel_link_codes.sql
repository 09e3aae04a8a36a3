-- One-time codes that link a channel account (a Discord guild) to a workspace from inside the
-- channel: an admin creates one in the web helpdesk and types it where the channel asks for it.
-- Only the code's SHA-256 is kept; a code works once, until expires_at.
CREATE TABLE channel_link_codes (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    -- The module's key: discord.
    channel      TEXT NOT NULL,
    code_hash    TEXT NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    -- The external key of the account it linked (a guild id).
    used_for     TEXT
);
CREATE INDEX channel_link_codes_workspace ON channel_link_codes(workspace_id, channel, created_at);
