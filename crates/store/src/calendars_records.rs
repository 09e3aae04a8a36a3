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
}
