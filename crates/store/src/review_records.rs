//! Rows for quality review flags.

use switchboard_domain::*;

/// A ticket in the quality review list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QualityFlagRecord {
    pub id: QualityFlagId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    #[sqlx(try_from = "String")]
    pub kind: QualityFlagKind,
    pub reason: String,
    pub created_at: Millis,
    pub resolved_at: Option<Millis>,
    pub resolved_by: Option<UserId>,
}
