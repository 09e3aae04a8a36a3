// Queries for business-hours calendars. Included in both dialect modules after queries.rs (see
// lib.rs).

const CALENDAR_COLUMNS: &str = "id, workspace_id, name, spec, created_at, updated_at";

pub async fn upsert_calendar(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<CalendarId>,
    name: &str,
    spec: &str,
    now: Millis,
) -> Result<CalendarRecord> {
    let query = match id {
        Some(id) => sqlx::query_as(sqlf!(
            "UPDATE business_calendars SET name = $3, spec = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2 \
             RETURNING {CALENDAR_COLUMNS}"
        ))
        .bind(ws)
        .bind(id),
        None => sqlx::query_as(sqlf!(
            "INSERT INTO business_calendars (workspace_id, name, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             RETURNING {CALENDAR_COLUMNS}"
        ))
        .bind(ws),
    };
    Ok(query.bind(name).bind(spec).bind(now).fetch_one(&mut *c).await?)
}

pub async fn list_calendars(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<CalendarRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {CALENDAR_COLUMNS} FROM business_calendars WHERE workspace_id = $1 ORDER BY name"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

pub async fn delete_calendar(c: &mut Conn, ws: WorkspaceId, id: CalendarId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM business_calendars WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn calendar_by_id(c: &mut Conn, ws: WorkspaceId, id: CalendarId) -> Result<Option<CalendarRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {CALENDAR_COLUMNS} FROM business_calendars WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}
