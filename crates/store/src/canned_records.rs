//! Rows for canned responses.

use switchboard_domain::*;

/// A canned response (reply template).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CannedResponseRecord {
    pub id: CannedResponseId,
    pub workspace_id: WorkspaceId,
    pub title: String,
    pub shortcut: Option<String>,
    pub body: String,
    pub help_topic_id: Option<HelpTopicId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}
