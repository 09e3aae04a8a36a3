-- WhatsApp channel: the business phone numbers of each workspace, the durable inbox of webhook
-- notifications, the chat-skill state per contact, and the message ids already handled.

-- A WhatsApp Business phone number; Meta's phone number id routes a notification to its workspace.
CREATE TABLE whatsapp_numbers (
    id                   INTEGER PRIMARY KEY,
    workspace_id         INTEGER NOT NULL REFERENCES workspaces(id),
    phone_number_id      TEXT NOT NULL UNIQUE,
    display_phone_number TEXT NOT NULL,
    -- The Graph API access token, sealed with a key derived from the server secret.
    access_token_enc     TEXT NOT NULL,
    -- The approved template offered outside the 24-hour customer-service window.
    template_name        TEXT,
    template_language    TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX whatsapp_numbers_workspace ON whatsapp_numbers(workspace_id);

-- Every signed notification, stored before the webhook answers 200, processed afterwards.
CREATE TABLE whatsapp_inbox (
    id           INTEGER PRIMARY KEY,
    body         TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    processed_at INTEGER,
    -- Why a notification (or part of it) was skipped, e.g. an unknown phone number id.
    note         TEXT
);
CREATE INDEX whatsapp_inbox_pending ON whatsapp_inbox(id) WHERE processed_at IS NULL;

-- Where a contact is in a chat skill (e.g. asked for the subject of a new ticket).
CREATE TABLE whatsapp_conversations (
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id),
    wa_id           TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    step            TEXT NOT NULL,
    subject         TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, wa_id)
);

-- Inbound message ids already handled: Meta redelivers, and a skill step must not run twice.
CREATE TABLE whatsapp_seen_messages (
    wamid        TEXT PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    seen_at      INTEGER NOT NULL
);

-- Entries that go out as the number's template message instead of free-form text.
CREATE TABLE whatsapp_template_entries (
    entry_id          INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
    template_name     TEXT NOT NULL,
    template_language TEXT NOT NULL
);
