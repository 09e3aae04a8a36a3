//! Rows for manager notifications.

use switchboard_domain::*;

/// A message for the workspace's managers.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub workspace_id: WorkspaceId,
    #[sqlx(try_from = "String")]
    pub kind: NotificationKind,
    pub ticket_id: Option<TicketId>,
    pub message: String,
    pub created_at: Millis,
}
