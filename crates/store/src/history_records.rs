//! Rows for a ticket's history (the audit trail of its changes).

use switchboard_domain::*;

/// One recorded change to a ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRecord {
    pub id: HistoryId,
    pub ticket_id: TicketId,
    pub actor_user_id: Option<UserId>,
    pub actor_contact_id: Option<ContactId>,
    pub actor_label: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: Millis,
}

/// A change to record in a ticket's history.
#[derive(Debug, Clone)]
pub struct NewHistory {
    pub field: &'static str,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}
