//! Rows for bulk import (contacts and tickets, for loads and benchmarks).

use switchboard_domain::*;

/// A ticket loaded in bulk (imports, benchmarks): the row and its first entry, no history.
#[derive(Debug, Clone)]
pub struct ImportedTicket {
    pub number: i64,
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub source: Source,
    pub queue_id: QueueId,
    pub requester_id: ContactId,
    pub thread_key: Option<String>,
    pub sla_due_at: Option<Millis>,
    pub created_at: Millis,
}
