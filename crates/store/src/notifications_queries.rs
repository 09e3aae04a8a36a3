// Queries for manager notifications. Included in both dialect modules after queries.rs (see
// lib.rs).

pub async fn insert_notification(
    c: &mut Conn,
    ws: WorkspaceId,
    kind: NotificationKind,
    ticket: Option<TicketId>,
    message: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (workspace_id, kind, ticket_id, message, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ws)
    .bind(kind.as_str())
    .bind(ticket)
    .bind(message)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn list_notifications(c: &mut Conn, ws: WorkspaceId, limit: i64) -> Result<Vec<NotificationRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, kind, ticket_id, message, created_at FROM notifications WHERE workspace_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(ws)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}
