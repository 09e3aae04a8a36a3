//! Rows for routing rules and assignment (member loads, round-robin cursors).

use switchboard_domain::*;

/// A routing rule; `definition` holds its join, clauses and actions as JSON.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoutingRuleRecord {
    pub id: RoutingRuleId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub position: i64,
    pub enabled: bool,
    pub definition: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A queue member with their current load, as auto-assignment reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberLoad {
    pub user_id: UserId,
    pub on_break: bool,
    pub weight: i64,
    pub open_assigned: i64,
}
