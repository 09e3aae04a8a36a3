//! Rows for help topics.

use switchboard_domain::*;

/// A help topic and the defaults it gives new tickets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HelpTopicRecord {
    pub id: HelpTopicId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub default_priority: Option<String>,
    pub default_queue_id: Option<QueueId>,
    pub default_assignee_id: Option<UserId>,
    pub due_offset_minutes: Option<i64>,
    pub active: bool,
    pub created_at: Millis,
    /// Goes up by one with every save of the topic's form; a save names the one it started from.
    pub version: i64,
    /// When the form was last saved, and by whom (their label); unset before the first save.
    pub updated_at: Option<Millis>,
    pub updated_by: Option<String>,
}
