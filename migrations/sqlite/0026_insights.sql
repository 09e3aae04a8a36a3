-- Insights: additive daily counters kept current by the job runner from the event stream, per
-- workspace, local day (the workspace's time zone, as YYYY-MM-DD), queue, help topic (0 for
-- none), channel and staff member (0 for the ticket's own counters). `metric` names the counter
-- (InsightMetric); `bucket` is a duration histogram's bucket in minutes, or the rating for
-- `csat`, else 0. The insights page sums a period's rows: its cost follows days, not tickets.
CREATE TABLE insight_rollups (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    day           TEXT NOT NULL,
    queue_id      INTEGER NOT NULL,
    help_topic_id INTEGER NOT NULL,
    channel       TEXT NOT NULL,
    staff_id      INTEGER NOT NULL,
    metric        TEXT NOT NULL,
    bucket        INTEGER NOT NULL,
    value         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, queue_id, help_topic_id, channel, staff_id, metric, bucket)
);

-- What each ticket currently adds to insight_rollups (JSON), so a change takes its old share
-- out and puts the new one in, and the rollups always equal a rebuild.
CREATE TABLE insight_shares (
    ticket_id    INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    share        TEXT NOT NULL
);
CREATE INDEX insight_shares_workspace ON insight_shares(workspace_id);
