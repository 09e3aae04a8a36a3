//! Rows for insights: a ticket as the rollups read it, and a period's summed counters.

use switchboard_domain::*;

/// The ticket fields the insights rollups are computed from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InsightTicketRow {
    pub id: TicketId,
    pub workspace_id: WorkspaceId,
    pub queue_id: QueueId,
    pub help_topic_id: Option<HelpTopicId>,
    pub channel: String,
    pub created_at: Millis,
    pub first_responded_at: Option<Millis>,
    pub resolved_at: Option<Millis>,
    pub escalated: bool,
    pub first_response_due_at: Option<Millis>,
    pub resolution_due_at: Option<Millis>,
    pub csat_rating: Option<i64>,
    pub csat_rated_at: Option<Millis>,
    pub sla_policy_id: Option<SlaPolicyId>,
}

/// A status or assignee change from the ticket's history, as insights read it (reopenings,
/// claims, the closer).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InsightHistoryRow {
    pub actor_user_id: Option<UserId>,
    pub actor_label: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: Millis,
}

/// One rollup counter's key and the amount to add to it (negative to take a share out).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct InsightRollupRow {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    pub queue_id: i64,
    /// 0 for none.
    pub help_topic_id: i64,
    pub channel: String,
    /// 0 for the ticket's own counters.
    pub staff_id: i64,
    pub metric: String,
    pub bucket: i64,
    pub value: i64,
}

/// Which rollup rows a period's sum reads: all when a filter is `None`.
#[derive(Debug, Clone, Default)]
pub struct InsightFilter {
    pub queue_id: Option<i64>,
    /// 0 for tickets without a help topic.
    pub help_topic_id: Option<i64>,
    pub channel: Option<String>,
}
