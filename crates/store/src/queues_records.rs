//! Rows for queues and their members.

use switchboard_domain::*;

/// A queue with its open-ticket count.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRecord {
    pub id: QueueId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub is_default: bool,
    #[sqlx(try_from = "String")]
    pub assignment_mode: AssignmentMode,
    pub created_at: Millis,
    /// Goes up by one with every save of the queue's form; a save names the one it started from.
    pub version: i64,
    /// When the form was last saved, and by whom (their label); unset before the first save.
    pub updated_at: Option<Millis>,
    pub updated_by: Option<String>,
}

/// A member of a queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueMemberRecord {
    pub queue_id: QueueId,
    pub user_id: UserId,
    pub user_name: String,
    pub user_email: String,
    #[sqlx(try_from = "String")]
    pub role: MemberRole,
    pub weight: i64,
    pub on_break: bool,
}
