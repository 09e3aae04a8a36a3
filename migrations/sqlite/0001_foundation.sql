-- The ticket core. Times are milliseconds since the Unix epoch (UTC) in INTEGER columns, so both
-- databases compare and index them the same way.

CREATE TABLE workspaces (
    id                 INTEGER PRIMARY KEY,
    slug               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    ticket_prefix      TEXT NOT NULL DEFAULT 'SD',
    next_ticket_number INTEGER NOT NULL DEFAULT 1,
    time_zone          TEXT NOT NULL DEFAULT 'UTC',
    created_at         INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
);
CREATE INDEX users_email ON users(email);

-- A requester. Each typed identity is unique within the workspace so channels can find the contact.
CREATE TABLE contacts (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces(id),
    name                  TEXT NOT NULL,
    email                 TEXT,
    phone                 TEXT,
    whatsapp_id           TEXT,
    discord_user_id       TEXT,
    requester_type        TEXT NOT NULL DEFAULT 'manual' CHECK (requester_type IN ('business_partner', 'account', 'manual')),
    business_partner_ref  TEXT,
    password_hash         TEXT,
    created_at            INTEGER NOT NULL
);
CREATE UNIQUE INDEX contacts_email ON contacts(workspace_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX contacts_phone ON contacts(workspace_id, phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX contacts_whatsapp ON contacts(workspace_id, whatsapp_id) WHERE whatsapp_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_discord ON contacts(workspace_id, discord_user_id) WHERE discord_user_id IS NOT NULL;

CREATE TABLE queues (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id),
    name               TEXT NOT NULL,
    is_default         BOOLEAN NOT NULL DEFAULT FALSE,
    assignment_mode    TEXT NOT NULL DEFAULT 'manual' CHECK (assignment_mode IN ('manual', 'round_robin', 'load_balanced')),
    round_robin_cursor INTEGER,
    created_at         INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE UNIQUE INDEX queues_one_default ON queues(workspace_id) WHERE is_default;

CREATE TABLE queue_members (
    queue_id     INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    role         TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'lead')),
    weight       INTEGER NOT NULL DEFAULT 1,
    on_break     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (queue_id, user_id)
);

CREATE TABLE help_topics (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces(id),
    name                TEXT NOT NULL,
    default_priority    TEXT,
    default_queue_id    INTEGER REFERENCES queues(id) ON DELETE SET NULL,
    default_assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    due_offset_minutes  INTEGER,
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    created_at          INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE canned_responses (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    title         TEXT NOT NULL,
    shortcut      TEXT,
    body          TEXT NOT NULL,
    help_topic_id INTEGER REFERENCES help_topics(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses(workspace_id, shortcut) WHERE shortcut IS NOT NULL;

CREATE TABLE tickets (
    id                    INTEGER PRIMARY KEY,
    workspace_id          INTEGER NOT NULL REFERENCES workspaces(id),
    number                INTEGER NOT NULL,
    subject               TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting', 'resolved', 'closed')),
    -- Still needs work: derived from status so the open-ticket views read one index range.
    active                BOOLEAN GENERATED ALWAYS AS (status IN ('open', 'in_progress', 'waiting')) STORED,
    priority              TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    source                TEXT NOT NULL,
    queue_id              INTEGER NOT NULL REFERENCES queues(id),
    help_topic_id         INTEGER REFERENCES help_topics(id),
    requester_id          INTEGER NOT NULL REFERENCES contacts(id),
    assignee_id           INTEGER REFERENCES users(id),
    -- Comma-joined copy of ticket_tags for display; ticket_tags is what filters read.
    tags                  TEXT NOT NULL DEFAULT '',
    escalated             BOOLEAN NOT NULL DEFAULT FALSE,
    chat_originated       BOOLEAN NOT NULL DEFAULT FALSE,
    thread_key            TEXT,
    first_response_due_at INTEGER,
    resolution_due_at     INTEGER,
    -- The earliest SLA target still pending, or NULL: what the SLA filters and the breach scan read.
    sla_due_at            INTEGER,
    sla_started_at        INTEGER,
    first_responded_at    INTEGER,
    resolved_at           INTEGER,
    closed_at             INTEGER,
    close_reason          TEXT,
    close_note            TEXT,
    csat_rating           INTEGER,
    csat_comment          TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    UNIQUE (workspace_id, number)
);
-- The queue views read newest first within a workspace (and queue, and the open set): one index
-- range each, already in order, so the first page and the count never sort.
CREATE INDEX tickets_newest ON tickets(workspace_id, created_at DESC, id DESC);
CREATE INDEX tickets_queue_view ON tickets(workspace_id, queue_id, active, created_at DESC, id DESC);
CREATE INDEX tickets_active_view ON tickets(workspace_id, active, created_at DESC, id DESC);
CREATE INDEX tickets_status_view ON tickets(workspace_id, status, created_at DESC, id DESC);
CREATE INDEX tickets_assignee_view ON tickets(workspace_id, assignee_id, active, created_at DESC);
CREATE INDEX tickets_requester ON tickets(workspace_id, requester_id, created_at DESC);
CREATE INDEX tickets_sla_due ON tickets(workspace_id, sla_due_at) WHERE sla_due_at IS NOT NULL;
CREATE UNIQUE INDEX tickets_thread_key ON tickets(workspace_id, thread_key) WHERE thread_key IS NOT NULL;

CREATE TABLE ticket_tags (
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL,
    tag          TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags(workspace_id, tag);

CREATE TABLE entries (
    id                  INTEGER PRIMARY KEY,
    workspace_id        INTEGER NOT NULL,
    ticket_id           INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('reply', 'note', 'system')),
    author_user_id      INTEGER REFERENCES users(id),
    author_contact_id   INTEGER REFERENCES contacts(id),
    channel             TEXT NOT NULL,
    external_message_id TEXT,
    body                TEXT NOT NULL,
    delivery_status     TEXT,
    delivery_error      TEXT,
    created_at          INTEGER NOT NULL
);
CREATE INDEX entries_ticket ON entries(ticket_id, id);
-- Ingest is idempotent: a redelivered message (same channel and external id) finds this row.
CREATE UNIQUE INDEX entries_external ON entries(workspace_id, channel, external_message_id) WHERE external_message_id IS NOT NULL;

CREATE TABLE entry_mentions (
    entry_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    workspace_id INTEGER NOT NULL,
    PRIMARY KEY (entry_id, user_id)
);
CREATE INDEX entry_mentions_user ON entry_mentions(workspace_id, user_id);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    entry_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_entry ON attachments(entry_id);

CREATE TABLE ticket_history (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL,
    ticket_id        INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    actor_user_id    INTEGER REFERENCES users(id),
    actor_contact_id INTEGER REFERENCES contacts(id),
    actor_label      TEXT NOT NULL,
    field            TEXT NOT NULL,
    old_value        TEXT,
    new_value        TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX ticket_history_ticket ON ticket_history(ticket_id, id);

-- Domain events, written in the transaction of the change; automation, webhooks and live views read them.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    ticket_id    INTEGER,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX events_workspace ON events(workspace_id, id);

-- Outbound deliveries waiting for a channel worker; written with the entry they deliver.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    entry_id        INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox(channel, next_attempt_at) WHERE status = 'pending';

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    -- SHA-256 of the token: tokens are 256 random bits, so a slow password hash buys nothing.
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_by   INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
