//! Rows for domain events and the event stream that webhooks and automation read.

use switchboard_domain::*;

/// A domain event as the dispatcher reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: EventId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: Option<TicketId>,
    #[sqlx(try_from = "String")]
    pub kind: EventKind,
    pub payload: String,
    pub created_at: Millis,
    /// The PostgreSQL transaction that wrote it (0 on SQLite): the stream's first sort key.
    pub tx_id: i64,
}

impl EventRecord {
    /// The stream position just after this event.
    pub fn position(&self) -> StreamPosition {
        StreamPosition { tx_id: self.tx_id, id: self.id }
    }
}

/// A consumer's place in the event stream: the last event it took, as (writing transaction,
/// event id), the order events are read in. The start is (0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamPosition {
    pub tx_id: i64,
    pub id: EventId,
}

impl Default for StreamPosition {
    fn default() -> Self {
        StreamPosition { tx_id: 0, id: EventId(0) }
    }
}
