-- The other admin forms two people may edit at once carry a version too, as queues and help topics
-- do since 0015: a save names the version its form was loaded at, and a save of an older one is
-- refused, naming who saved since and when (updated_by holds the saver's label as history shows
-- it; these tables already keep updated_at).
ALTER TABLE canned_responses ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE canned_responses ADD COLUMN updated_by TEXT;
ALTER TABLE routing_rules ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE routing_rules ADD COLUMN updated_by TEXT;
ALTER TABLE sla_policies ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sla_policies ADD COLUMN updated_by TEXT;
ALTER TABLE webhooks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE webhooks ADD COLUMN updated_by TEXT;
ALTER TABLE business_calendars ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE business_calendars ADD COLUMN updated_by TEXT;

-- The workspace's settings row is edited through several forms (SLA settings, follow-ups and
-- auto-close, after-close messages, manager alerts, automation rules), each saving only its own
-- fields, so each form has a version of its own: saving one never refuses a save of another.
-- A workspace without a row for a form has never saved it (version 1).
CREATE TABLE settings_versions (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    form         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, form)
);
