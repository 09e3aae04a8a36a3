//! Rows for business-hours calendars.

use switchboard_domain::*;

/// A business-hours calendar; `spec` is the JSON the API accepts (see `CalendarSpec`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalendarRecord {
    pub id: CalendarId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub spec: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Goes up by one with every save of its admin form; a save names the one it started from.
    pub version: i64,
    /// Who saved the form last (their label); unset before its first edit.
    pub updated_by: Option<String>,
}
