// Queries for SLA policies, the SLA clock scan, breaches and the trend. Included in both dialect
// modules after queries.rs (see lib.rs).

const SLA_POLICY_COLUMNS: &str = "id, workspace_id, name, priority, help_topic_id, first_response_minutes, \
     resolution_minutes, calendar_id, created_at, updated_at";

pub async fn upsert_sla_policy(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<SlaPolicyId>,
    p: &SlaPolicyInput,
    now: Millis,
) -> Result<SlaPolicyRecord> {
    let query = match id {
        Some(id) => sqlx::query_as(sqlf!(
            "UPDATE sla_policies SET name = $3, priority = $4, help_topic_id = $5, first_response_minutes = $6, \
             resolution_minutes = $7, calendar_id = $8, updated_at = $9 WHERE workspace_id = $1 AND id = $2 \
             RETURNING {SLA_POLICY_COLUMNS}"
        ))
        .bind(ws)
        .bind(id),
        None => sqlx::query_as(sqlf!(
            "INSERT INTO sla_policies (workspace_id, name, priority, help_topic_id, first_response_minutes, \
             resolution_minutes, calendar_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             RETURNING {SLA_POLICY_COLUMNS}"
        ))
        .bind(ws),
    };
    Ok(query
        .bind(&p.name)
        .bind(p.priority.as_str())
        .bind(p.help_topic_id)
        .bind(p.first_response_minutes)
        .bind(p.resolution_minutes)
        .bind(p.calendar_id)
        .bind(now)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn list_sla_policies(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<SlaPolicyRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {SLA_POLICY_COLUMNS} FROM sla_policies WHERE workspace_id = $1 ORDER BY priority, name"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// The policy for a priority: the one narrowed to `topic` if there is one, else the general one.
pub async fn sla_policy_for(
    c: &mut Conn,
    ws: WorkspaceId,
    priority: Priority,
    topic: Option<HelpTopicId>,
) -> Result<Option<SlaPolicyRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {SLA_POLICY_COLUMNS} FROM sla_policies WHERE workspace_id = $1 AND priority = $2 \
         AND (help_topic_id IS NULL OR help_topic_id = $3) ORDER BY help_topic_id IS NULL LIMIT 1"
    ))
    .bind(ws)
    .bind(priority.as_str())
    .bind(topic)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn sla_policy_by_id(c: &mut Conn, ws: WorkspaceId, id: SlaPolicyId) -> Result<Option<SlaPolicyRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {SLA_POLICY_COLUMNS} FROM sla_policies WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn delete_sla_policy(c: &mut Conn, ws: WorkspaceId, id: SlaPolicyId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM sla_policies WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Open tickets whose next SLA target has passed, across workspaces, oldest due first. Reads the
/// partial index on `sla_due_at`, which holds only tickets that still need work and are not paused.
/// Tickets whose next SLA check is due, in (check time, id) order after `after`.
pub async fn overdue_tickets(
    c: &mut Conn,
    now: Millis,
    after: Option<(Millis, TicketId)>,
    limit: i64,
) -> Result<Vec<OverdueTicket>> {
    let (after_due, after_id) = after.unwrap_or((i64::MIN, TicketId(0)));
    Ok(sqlx::query_as(
        "SELECT workspace_id, id, sla_next_check_at, first_response_due_at, first_responded_at, resolution_due_at \
         FROM tickets WHERE sla_next_check_at IS NOT NULL AND sla_next_check_at <= $1 \
         AND (sla_next_check_at > $2 OR (sla_next_check_at = $2 AND id > $3)) ORDER BY sla_next_check_at, id LIMIT $4",
    )
    .bind(now)
    .bind(after_due)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Moves a ticket's next SLA check (to its next unmissed target, or none), unless the ticket
/// changed since it was read.
pub async fn set_sla_next_check(c: &mut Conn, ticket: TicketId, was: Millis, next: Option<Millis>) -> Result<()> {
    sqlx::query("UPDATE tickets SET sla_next_check_at = $3 WHERE id = $1 AND sla_next_check_at = $2")
        .bind(ticket)
        .bind(was)
        .bind(next)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Records a breach; false when this target of this ticket was already recorded.
pub async fn insert_sla_breach(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    target: SlaTarget,
    due_at: Millis,
    now: Millis,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO sla_breaches (workspace_id, ticket_id, target, due_at, detected_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (ticket_id, target) DO NOTHING",
    )
    .bind(ws)
    .bind(ticket)
    .bind(target.as_str())
    .bind(due_at)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list_sla_breaches(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<SlaBreachRecord>> {
    Ok(sqlx::query_as(
        "SELECT ticket_id, target, due_at, detected_at FROM sla_breaches \
         WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY detected_at",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_all(&mut *c)
    .await?)
}

/// The targets of these tickets already recorded as breached.
pub async fn breached_targets(c: &mut Conn, tickets: &[TicketId]) -> Result<Vec<(TicketId, String)>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("SELECT ticket_id, target FROM sla_breaches WHERE ticket_id IN (");
    let mut sep = q.separated(", ");
    for t in tickets {
        sep.push_bind(*t);
    }
    q.push(")");
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// What happened since `since`, for the SLA dashboard's trend: `("opened" | "breach" |
/// "resolved", when)` per ticket opened, SLA target missed and ticket resolved.
pub async fn trend_events(c: &mut Conn, ws: WorkspaceId, since: Millis) -> Result<Vec<(String, Millis)>> {
    Ok(sqlx::query_as(
        "SELECT 'opened', created_at FROM tickets WHERE workspace_id = $1 AND created_at >= $2 \
         UNION ALL SELECT 'breach', detected_at FROM sla_breaches WHERE workspace_id = $1 AND detected_at >= $2 \
         UNION ALL SELECT 'resolved', resolved_at FROM tickets WHERE workspace_id = $1 AND resolved_at >= $2",
    )
    .bind(ws)
    .bind(since)
    .fetch_all(&mut *c)
    .await?)
}
