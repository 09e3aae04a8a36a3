//! Rows for SLA policies, the SLA clock scan, breaches and the trend.

use switchboard_domain::*;

/// First-response and resolution targets for a priority, optionally one help topic.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaPolicyRecord {
    pub id: SlaPolicyId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    pub help_topic_id: Option<HelpTopicId>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<CalendarId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What an SLA policy is saved with.
#[derive(Debug, Clone)]
pub struct SlaPolicyInput {
    pub name: String,
    pub priority: Priority,
    pub help_topic_id: Option<HelpTopicId>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<CalendarId>,
}

/// A ticket with a pending SLA target that has passed, as the breach scan reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueTicket {
    pub workspace_id: WorkspaceId,
    pub id: TicketId,
    /// When the scan was due to look at this ticket (its earliest target not yet checked).
    pub sla_next_check_at: Millis,
    pub first_response_due_at: Option<Millis>,
    pub first_responded_at: Option<Millis>,
    pub resolution_due_at: Option<Millis>,
}

/// A missed SLA target.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlaBreachRecord {
    pub ticket_id: TicketId,
    #[sqlx(try_from = "String")]
    pub target: SlaTarget,
    pub due_at: Millis,
    pub detected_at: Millis,
}
