-- One-time sign-in links for the My Tickets portal, sent by email.
--
-- Only the token's SHA-256 identifies a link. The token itself is kept sealed (encrypted with
-- the server's key) just until the email carrying it is sent or given up, because the job
-- runner that sends it may run in another process or after a restart.
CREATE TABLE customer_sign_in_links (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    contact_id      INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    token_sealed    TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    -- The email: pending, sent or failed, with its attempts as the outbox keeps them.
    send_status     TEXT NOT NULL DEFAULT 'pending',
    send_attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
CREATE INDEX customer_sign_in_links_pending ON customer_sign_in_links(next_attempt_at) WHERE send_status = 'pending';
-- The per-customer rate limit counts recent links.
CREATE INDEX customer_sign_in_links_contact ON customer_sign_in_links(contact_id, created_at);
CREATE INDEX customer_sign_in_links_expiry ON customer_sign_in_links(expires_at);
