-- Support operations: routing rules, SLA policies on business-hours calendars, automation,
-- webhooks, breaches, notifications and quality flags.

-- A weekly schedule with holidays in one time zone, stored as the JSON the API accepts.
CREATE TABLE business_calendars (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    spec         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

-- One row per workspace once anything is configured; absent means the defaults.
CREATE TABLE workspace_settings (
    workspace_id     INTEGER PRIMARY KEY REFERENCES workspaces(id),
    at_risk_percent  INTEGER NOT NULL DEFAULT 25 CHECK (at_risk_percent BETWEEN 1 AND 99),
    -- The seed's automation rule array, validated and normalized.
    automation_rules TEXT NOT NULL DEFAULT '[]',
    alert_sla_breach BOOLEAN NOT NULL DEFAULT TRUE,
    -- Proactive follow-up: an open ticket without messages for this long gets stale_message once.
    stale_after_hours        INTEGER,
    stale_message            TEXT,
    -- Inactivity auto-close (NULL: off), with a warning this many days before, a longer period
    -- for escalated tickets, and optionally only the customer's messages counting as activity.
    auto_close_days          INTEGER,
    auto_close_warning_days  INTEGER,
    auto_close_escalated_days INTEGER,
    auto_close_customer_only BOOLEAN NOT NULL DEFAULT FALSE,
    -- Closed tickets' transcripts (entries and attachments) are deleted this many days after close.
    transcript_retention_days INTEGER,
    updated_at       INTEGER NOT NULL
);

-- Targets by priority, optionally narrowed to one help topic (the narrower policy wins).
CREATE TABLE sla_policies (
    id                     INTEGER PRIMARY KEY,
    workspace_id           INTEGER NOT NULL REFERENCES workspaces(id),
    name                   TEXT NOT NULL,
    priority               TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    help_topic_id          INTEGER REFERENCES help_topics(id) ON DELETE CASCADE,
    first_response_minutes INTEGER NOT NULL CHECK (first_response_minutes >= 5),
    resolution_minutes     INTEGER NOT NULL CHECK (resolution_minutes >= 5),
    -- NULL counts every minute (a 24/7 calendar in the workspace's time zone).
    calendar_id            INTEGER REFERENCES business_calendars(id),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE UNIQUE INDEX sla_policies_scope ON sla_policies(workspace_id, priority, COALESCE(help_topic_id, 0));

CREATE TABLE routing_rules (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    -- {"join": "and"|"or", "clauses": [...], "actions": [...]}
    definition   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX routing_rules_position ON routing_rules(workspace_id, position);

-- The SLA clock of a ticket: which policy set its targets, and time paused while waiting on the customer.
ALTER TABLE tickets ADD COLUMN sla_policy_id INTEGER REFERENCES sla_policies(id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN sla_paused_at INTEGER;
ALTER TABLE tickets ADD COLUMN sla_paused_minutes INTEGER NOT NULL DEFAULT 0;
-- Message times for follow-ups and auto-close (automatic messages do not count), and when the
-- ticket was last nudged or warned, so each happens once per quiet spell.
ALTER TABLE tickets ADD COLUMN last_message_at INTEGER;
ALTER TABLE tickets ADD COLUMN last_customer_message_at INTEGER;
ALTER TABLE tickets ADD COLUMN stale_nudged_at INTEGER;
ALTER TABLE tickets ADD COLUMN auto_close_warned_at INTEGER;
ALTER TABLE tickets ADD COLUMN transcript_purged_at INTEGER;
-- The retention purge reads closed tickets by close time.
CREATE INDEX tickets_closed ON tickets(workspace_id, closed_at) WHERE closed_at IS NOT NULL;
-- A purge deletes a ticket's attachments and asks whether anything else still holds their bytes.
CREATE INDEX attachments_ticket ON attachments(ticket_id);
CREATE INDEX attachments_sha256 ON attachments(sha256);

-- A missed target, recorded once per target per ticket.
CREATE TABLE sla_breaches (
    workspace_id INTEGER NOT NULL,
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    target       TEXT NOT NULL CHECK (target IN ('first_response', 'resolution')),
    due_at       INTEGER NOT NULL,
    detected_at  INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, target)
);
CREATE INDEX sla_breaches_workspace ON sla_breaches(workspace_id, detected_at);
-- The breach scan reads open tickets by due time across workspaces.
CREATE INDEX tickets_sla_scan ON tickets(sla_due_at) WHERE sla_due_at IS NOT NULL;

CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    -- Comma-joined event names.
    events       TEXT NOT NULL,
    -- The signing secret, encrypted with the server's key (it must be read back to sign).
    secret_enc   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

-- One event for one endpoint: the payload is fixed when the event happens, so retries send the same bytes.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    response_status INTEGER,
    latency_ms      INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, id DESC);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';

-- Messages to managers (automation notify actions, SLA breach alerts).
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,
    ticket_id    INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
    message      TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX notifications_workspace ON notifications(workspace_id, id DESC);

CREATE TABLE quality_flags (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    ticket_id    INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('escalated', 'negative_csat', 'low_confidence')),
    reason       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolved_by  INTEGER REFERENCES users(id)
);
-- At most one open flag of a kind per ticket.
CREATE UNIQUE INDEX quality_flags_open ON quality_flags(ticket_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX quality_flags_workspace ON quality_flags(workspace_id, resolved_at, id DESC);

-- How far each consumer of the event stream (the webhook dispatcher) has read.
CREATE TABLE stream_cursors (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);

-- Staff replies that repeat across closed tickets, offered as canned responses; never turned
-- into one without an admin accepting it. A dismissed text is not offered again.
CREATE TABLE macro_suggestions (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id),
    fingerprint        TEXT NOT NULL,
    body               TEXT NOT NULL,
    occurrences        INTEGER NOT NULL,
    ticket_count       INTEGER NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'dismissed')),
    canned_response_id INTEGER REFERENCES canned_responses(id) ON DELETE SET NULL,
    created_at         INTEGER NOT NULL,
    decided_at         INTEGER,
    UNIQUE (workspace_id, fingerprint)
);
