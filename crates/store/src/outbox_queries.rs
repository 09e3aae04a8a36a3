// Queries for the outbox: replies waiting for a channel adapter, and their delivery status.
// Included in both dialect modules after queries.rs (see lib.rs).

pub async fn insert_outbox(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    entry: EntryId,
    channel: Channel,
    now: Millis,
) -> Result<OutboxId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (workspace_id, ticket_id, entry_id, channel, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(ws)
    .bind(ticket)
    .bind(entry)
    .bind(channel.as_str())
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn pending_outbox_count(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE workspace_id = $1 AND ticket_id = $2 AND status = 'pending'",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn due_outbox(c: &mut Conn, channel: Channel, now: Millis, limit: i64) -> Result<Vec<(OutboxId, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, attempts FROM outbox WHERE status = 'pending' AND channel = $1 AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at, id LIMIT $3",
    )
    .bind(channel.as_str())
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn outbox_by_id(c: &mut Conn, id: OutboxId) -> Result<Option<OutboxRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, ticket_id, entry_id, channel, status, attempts, next_attempt_at, last_error, \
         created_at FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await?)
}

/// Records attempt number `attempts_before + 1`; false when that attempt was already recorded.
pub async fn record_outbox_attempt(
    c: &mut Conn,
    id: OutboxId,
    attempts_before: i64,
    status: SendStatus,
    next_attempt_at: Millis,
    error: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = $3, attempts = attempts + 1, next_attempt_at = $4, last_error = $5 \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempts_before)
    .bind(status.as_str())
    .bind(next_attempt_at)
    .bind(error)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_entry_delivery(
    c: &mut Conn,
    ws: WorkspaceId,
    entry: EntryId,
    status: DeliveryStatus,
    error: Option<&str>,
    external_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE entries SET delivery_status = $3, delivery_error = $4, \
         external_message_id = COALESCE($5, external_message_id) WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(entry)
    .bind(status.as_str())
    .bind(error)
    .bind(external_id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn thread_message_ids(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    before: EntryId,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT external_message_id FROM entries WHERE workspace_id = $1 AND ticket_id = $2 AND id < $3 \
         AND external_message_id IS NOT NULL AND kind = 'reply' ORDER BY id",
    )
    .bind(ws)
    .bind(ticket)
    .bind(before)
    .fetch_all(&mut *c)
    .await?)
}
