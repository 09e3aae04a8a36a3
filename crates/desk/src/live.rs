use switchboard_domain::{ContactId, EntryId, TicketId, WorkspaceId};

/// A committed change, pushed to live subscribers (GraphQL subscriptions, the web UI).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveEvent {
    /// The workspace it happened in; subscribers only see their own.
    pub workspace_id: WorkspaceId,
    /// `ticket.opened`, `ticket.updated`, `entry.created`, `ticket.closed`, `ticket.reopened`.
    pub kind: &'static str,
    /// The ticket it concerns.
    pub ticket_id: TicketId,
    /// The ticket's number as shown, e.g. `SD-00012`.
    pub ticket_number: String,
    /// The ticket's requester, so customer subscriptions can be filtered.
    pub requester_id: ContactId,
    /// The new entry, for `entry.created`.
    pub entry_id: Option<EntryId>,
    /// True when the change is staff-only (an internal note).
    pub internal: bool,
}
