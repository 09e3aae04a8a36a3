// Queries for queues and their members. Included in both dialect modules after queries.rs (see
// lib.rs).

const QUEUE_COLUMNS: &str =
    "id, workspace_id, name, is_default, assignment_mode, created_at, version, updated_at, updated_by";

pub async fn insert_queue(
    c: &mut Conn,
    ws: WorkspaceId,
    name: &str,
    is_default: bool,
    mode: AssignmentMode,
    now: Millis,
) -> Result<QueueRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO queues (workspace_id, name, is_default, assignment_mode, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {QUEUE_COLUMNS}"
    ))
    .bind(ws)
    .bind(name)
    .bind(is_default)
    .bind(mode.as_str())
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn update_queue(
    c: &mut Conn,
    ws: WorkspaceId,
    id: QueueId,
    name: &str,
    mode: AssignmentMode,
) -> Result<QueueRecord> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE queues SET name = $3, assignment_mode = $4 WHERE workspace_id = $1 AND id = $2 \
         RETURNING {QUEUE_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(name)
    .bind(mode.as_str())
    .fetch_one(&mut *c)
    .await?)
}

/// Makes `id` the workspace's one default queue.
pub async fn set_default_queue(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<()> {
    // Two statements: the partial unique index allows only one default at a time.
    sqlx::query("UPDATE queues SET is_default = FALSE WHERE workspace_id = $1 AND is_default AND id <> $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query("UPDATE queues SET is_default = TRUE WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn delete_queue(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<()> {
    sqlx::query("DELETE FROM queue_members WHERE workspace_id = $1 AND queue_id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM queues WHERE workspace_id = $1 AND id = $2").bind(ws).bind(id).execute(&mut *c).await?;
    Ok(())
}

pub async fn queue_ticket_count(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND queue_id = $2")
        .bind(ws)
        .bind(id)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn list_queues(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<QueueRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {QUEUE_COLUMNS} FROM queues WHERE workspace_id = $1 ORDER BY is_default DESC, name, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn queue_by_id(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<Option<QueueRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {QUEUE_COLUMNS} FROM queues WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn default_queue(c: &mut Conn, ws: WorkspaceId) -> Result<Option<QueueRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {QUEUE_COLUMNS} FROM queues WHERE workspace_id = $1 AND is_default"))
        .bind(ws)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn upsert_queue_member(
    c: &mut Conn,
    ws: WorkspaceId,
    queue: QueueId,
    user: UserId,
    role: MemberRole,
    weight: i64,
    on_break: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO queue_members (queue_id, user_id, workspace_id, role, weight, on_break) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (queue_id, user_id) DO UPDATE SET role = excluded.role, weight = excluded.weight, on_break = \
         excluded.on_break",
    )
    .bind(queue)
    .bind(user)
    .bind(ws)
    .bind(role.as_str())
    .bind(weight)
    .bind(on_break)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn remove_queue_member(c: &mut Conn, ws: WorkspaceId, queue: QueueId, user: UserId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM queue_members WHERE workspace_id = $1 AND queue_id = $2 AND user_id = $3")
        .bind(ws)
        .bind(queue)
        .bind(user)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list_queue_members(c: &mut Conn, ws: WorkspaceId, queue: QueueId) -> Result<Vec<QueueMemberRecord>> {
    Ok(sqlx::query_as(
        "SELECT m.queue_id, m.user_id, u.name AS user_name, u.email AS user_email, m.role, m.weight, m.on_break \
         FROM queue_members m JOIN users u ON u.id = m.user_id \
         WHERE m.workspace_id = $1 AND m.queue_id = $2 ORDER BY u.name, u.id",
    )
    .bind(ws)
    .bind(queue)
    .fetch_all(&mut *c)
    .await?)
}
