// Queries for routing rules and assignment (member loads, round-robin cursors). Included in both
// dialect modules after queries.rs (see lib.rs).

const ROUTING_COLUMNS: &str = "id, workspace_id, name, position, enabled, definition, created_at, updated_at";

pub async fn list_routing_rules(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<RoutingRuleRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {ROUTING_COLUMNS} FROM routing_rules WHERE workspace_id = $1 ORDER BY position, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn upsert_routing_rule(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<RoutingRuleId>,
    name: &str,
    position: i64,
    enabled: bool,
    definition: &str,
    now: Millis,
) -> Result<RoutingRuleRecord> {
    let query = match id {
        Some(id) => sqlx::query_as(sqlf!(
            "UPDATE routing_rules SET name = $3, position = $4, enabled = $5, definition = $6, updated_at = $7 \
             WHERE workspace_id = $1 AND id = $2 RETURNING {ROUTING_COLUMNS}"
        ))
        .bind(ws)
        .bind(id),
        None => sqlx::query_as(sqlf!(
            "INSERT INTO routing_rules (workspace_id, name, position, enabled, definition, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {ROUTING_COLUMNS}"
        ))
        .bind(ws),
    };
    Ok(query.bind(name).bind(position).bind(enabled).bind(definition).bind(now).fetch_one(&mut *c).await?)
}

pub async fn set_routing_rule_position(
    c: &mut Conn,
    ws: WorkspaceId,
    id: RoutingRuleId,
    position: i64,
) -> Result<bool> {
    let r = sqlx::query("UPDATE routing_rules SET position = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(position)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn delete_routing_rule(c: &mut Conn, ws: WorkspaceId, id: RoutingRuleId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM routing_rules WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// A queue's members with how many tickets that still need work each has assigned.
pub async fn queue_member_loads(c: &mut Conn, ws: WorkspaceId, queue: QueueId) -> Result<Vec<MemberLoad>> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, m.on_break, m.weight, \
         (SELECT COUNT(*) FROM tickets t \
         WHERE t.workspace_id = m.workspace_id AND t.assignee_id = m.user_id AND t.active) AS open_assigned \
         FROM queue_members m JOIN users u ON u.id = m.user_id \
         WHERE m.workspace_id = $1 AND m.queue_id = $2 AND u.active ORDER BY m.user_id",
    )
    .bind(ws)
    .bind(queue)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn round_robin_cursor(c: &mut Conn, ws: WorkspaceId, queue: QueueId, lock: bool) -> Result<Option<UserId>> {
    // NO KEY UPDATE, as for tickets: new tickets may still reference the queue meanwhile.
    let lock = if lock && DIALECT == Dialect::Postgres { " FOR NO KEY UPDATE" } else { "" };
    Ok(sqlx::query_scalar(sqlf!("SELECT round_robin_cursor FROM queues WHERE workspace_id = $1 AND id = $2{lock}"))
        .bind(ws)
        .bind(queue)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn set_round_robin_cursor(c: &mut Conn, ws: WorkspaceId, queue: QueueId, user: UserId) -> Result<()> {
    sqlx::query("UPDATE queues SET round_robin_cursor = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(queue)
        .bind(user)
        .execute(&mut *c)
        .await?;
    Ok(())
}
