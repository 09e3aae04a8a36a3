//! Rows for suggested macros (recurring staff replies proposed as canned responses).

use switchboard_domain::*;

/// A suggested macro: a staff reply that repeats across closed tickets.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MacroSuggestionRecord {
    pub id: MacroSuggestionId,
    pub workspace_id: WorkspaceId,
    pub body: String,
    pub occurrences: i64,
    pub ticket_count: i64,
    #[sqlx(try_from = "String")]
    pub status: SuggestionStatus,
    pub canned_response_id: Option<CannedResponseId>,
    pub created_at: Millis,
    pub decided_at: Option<Millis>,
}
