//! Rows for manager notifications.

use switchboard_domain::*;

/// A message for the workspace's managers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub ticket_id: Option<TicketId>,
    pub message: String,
    pub created_at: Millis,
}
