-- After-close messages (the CSAT request and the post-close follow-up) and manager alerts.

ALTER TABLE workspace_settings ADD COLUMN csat_request_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE workspace_settings ADD COLUMN csat_request_message TEXT;
-- Days after close to ask whether the issue was really resolved (NULL: off).
ALTER TABLE workspace_settings ADD COLUMN post_close_follow_up_days BIGINT;
ALTER TABLE workspace_settings ADD COLUMN post_close_follow_up_message TEXT;
-- After a poor rating (1 or 2 of 5): a message to the requester (NULL: none), and/or reopen.
ALTER TABLE workspace_settings ADD COLUMN negative_csat_message TEXT;
ALTER TABLE workspace_settings ADD COLUMN negative_csat_reopen BOOLEAN NOT NULL DEFAULT FALSE;
-- Manager alert thresholds (NULL: off).
ALTER TABLE workspace_settings ADD COLUMN alert_queue_depth BIGINT;
ALTER TABLE workspace_settings ADD COLUMN alert_csat_drop_percent BIGINT;
ALTER TABLE workspace_settings ADD COLUMN alert_escalation_spike BIGINT;
ALTER TABLE workspace_settings ADD COLUMN alert_escalation_window_minutes BIGINT NOT NULL DEFAULT 60;

-- One row per after-close message sent: the row is written in the message's transaction, so
-- the sweep sends each at most once, however many runners race.
CREATE TABLE ticket_follow_ups (
    ticket_id  BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, kind)
);

-- Whether each manager alert is currently raised: an alert notifies when its condition starts
-- holding, and again only after it stopped holding in between.
CREATE TABLE manager_alerts (
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
    kind         TEXT NOT NULL,
    raised       BOOLEAN NOT NULL,
    changed_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, kind)
);

-- When the requester rated the ticket: the CSAT-drop alert compares two weeks of ratings.
ALTER TABLE tickets ADD COLUMN csat_rated_at BIGINT;
CREATE INDEX tickets_rated ON tickets(workspace_id, csat_rated_at) WHERE csat_rated_at IS NOT NULL;
-- The escalation-spike alert counts recent escalation events.
CREATE INDEX events_kind_time ON events(workspace_id, kind, created_at);

-- The breach scan's cursor per ticket: the earliest SLA target it has not checked yet. The scan
-- moves it past each missed target, so a ticket that already breached everything is not read
-- again every scan; saving a ticket with a new SLA due time resets it.
ALTER TABLE tickets ADD COLUMN sla_next_check_at BIGINT;
UPDATE tickets SET sla_next_check_at = sla_due_at;
CREATE INDEX tickets_sla_next_check ON tickets(sla_next_check_at, id) WHERE sla_next_check_at IS NOT NULL;
-- The scan's own index is superseded by the one above; the list's SLA filters use tickets_sla_due.
DROP INDEX tickets_sla_scan;
-- The SLA dashboard's trend counts tickets resolved per day.
CREATE INDEX tickets_resolved ON tickets(workspace_id, resolved_at) WHERE resolved_at IS NOT NULL;
