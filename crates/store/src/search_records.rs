//! What the search index is built from (see `search_queries.rs`).

use switchboard_domain::*;

/// A ticket as its search document needs it: the searchable text and who may find it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketSearchRow {
    pub id: TicketId,
    pub workspace_id: WorkspaceId,
    pub requester_id: ContactId,
    pub subject: String,
    /// Comma-joined, as on the ticket.
    pub tags: String,
    pub requester_name: String,
    pub requester_email: Option<String>,
    pub updated_at: Millis,
}

/// One entry's text, for its ticket's search document.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntrySearchRow {
    pub ticket_id: TicketId,
    /// `reply` (public), `note` or `system` (staff only).
    pub kind: String,
    pub body: String,
}
