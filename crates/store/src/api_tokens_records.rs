//! Rows for API tokens.

use switchboard_domain::*;

/// An integrator's API token (never the token itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub id: ApiTokenId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub token_prefix: String,
    pub scopes: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}
