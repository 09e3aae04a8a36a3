//! Rows for the outbox: replies waiting for a channel adapter, and their delivery status.

use switchboard_domain::*;

/// A reply waiting for (or done with) delivery by its channel's adapter.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRecord {
    pub id: OutboxId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    #[sqlx(try_from = "String")]
    pub status: SendStatus,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
}
