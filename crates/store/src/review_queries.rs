// Queries for quality review flags. Included in both dialect modules after queries.rs (see lib.rs).

const FLAG_COLUMNS: &str = "id, workspace_id, ticket_id, kind, reason, created_at, resolved_at, resolved_by";

/// Flags a ticket for review; a flag of the same kind still open is kept as it is.
pub async fn insert_quality_flag(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    kind: QualityFlagKind,
    reason: &str,
    now: Millis,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO quality_flags (workspace_id, ticket_id, kind, reason, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (ticket_id, kind) WHERE resolved_at IS NULL DO NOTHING",
    )
    .bind(ws)
    .bind(ticket)
    .bind(kind.as_str())
    .bind(reason)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list_quality_flags(
    c: &mut Conn,
    ws: WorkspaceId,
    include_resolved: bool,
    limit: i64,
) -> Result<Vec<QualityFlagRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {FLAG_COLUMNS} FROM quality_flags WHERE workspace_id = $1 AND ($2 OR resolved_at IS NULL) \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(ws)
    .bind(include_resolved)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn resolve_quality_flag(
    c: &mut Conn,
    ws: WorkspaceId,
    id: QualityFlagId,
    by: Option<UserId>,
    now: Millis,
) -> Result<Option<QualityFlagRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE quality_flags SET resolved_at = $3, resolved_by = $4 \
         WHERE workspace_id = $1 AND id = $2 AND resolved_at IS NULL \
         RETURNING {FLAG_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(now)
    .bind(by)
    .fetch_optional(&mut *c)
    .await?)
}
