-- The email channel: mailboxes, every message they received (for dedupe, the quarantine and the
-- original's download), which mailbox a ticket came in through, and acknowledgements sent.

CREATE TABLE email_mailboxes (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces(id),
    name                  TEXT NOT NULL,
    -- The From address of replies, and where customers write to.
    address               TEXT NOT NULL,
    enabled               BOOLEAN NOT NULL DEFAULT TRUE,
    -- IMAP: no host means the mailbox only takes mail through the inbound endpoint.
    imap_host             TEXT,
    imap_port             INTEGER NOT NULL DEFAULT 993,
    -- tls, starttls or plain (plain only for tests on loopback).
    imap_security         TEXT NOT NULL DEFAULT 'tls',
    imap_user             TEXT,
    -- Encrypted with the server's key: it must be read back to log in.
    imap_password_enc     TEXT,
    imap_folder           TEXT NOT NULL DEFAULT 'INBOX',
    imap_processed_folder TEXT,
    imap_uid_validity     INTEGER,
    imap_last_uid         INTEGER NOT NULL DEFAULT 0,
    smtp_host             TEXT,
    smtp_port             INTEGER NOT NULL DEFAULT 587,
    smtp_security         TEXT NOT NULL DEFAULT 'starttls',
    smtp_user             TEXT,
    smtp_password_enc     TEXT,
    -- SHA-256 of the bearer secret of POST /inbound/email/{id}.
    inbound_secret_hash   TEXT,
    ack_enabled           BOOLEAN NOT NULL DEFAULT FALSE,
    ack_template          TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (workspace_id, address)
);

CREATE TABLE email_messages (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    mailbox_id   INTEGER NOT NULL REFERENCES email_mailboxes(id) ON DELETE CASCADE,
    -- The Message-ID, or a content hash for mail without one.
    dedupe_key   TEXT NOT NULL,
    -- ticket, auto_reply, bounce or quarantined.
    outcome      TEXT NOT NULL,
    reason       TEXT,
    from_address TEXT,
    subject      TEXT,
    ticket_id    INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    entry_id     INTEGER REFERENCES entries(id) ON DELETE SET NULL,
    -- The original message in the blob store.
    raw_sha256   TEXT NOT NULL,
    raw_size     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (mailbox_id, dedupe_key)
);
CREATE INDEX email_messages_quarantine ON email_messages (workspace_id, outcome, created_at);

CREATE TABLE email_tickets (
    ticket_id    INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    mailbox_id   INTEGER NOT NULL REFERENCES email_mailboxes(id) ON DELETE CASCADE
);

CREATE TABLE email_acknowledgements (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    sender       TEXT NOT NULL,
    sent_at      INTEGER NOT NULL
);
CREATE INDEX email_acknowledgements_sender ON email_acknowledgements (workspace_id, sender, sent_at);
