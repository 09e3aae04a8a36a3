//! Rows for staff users.

use switchboard_domain::*;

/// A staff member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub password_hash: Option<String>,
    pub active: bool,
    pub created_at: Millis,
    /// Sign-in tokens issued before this no longer work.
    pub sessions_valid_after: Option<Millis>,
}
