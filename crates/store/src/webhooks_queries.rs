// Queries for webhooks and their deliveries. Included in both dialect modules after queries.rs (see
// lib.rs).

const WEBHOOK_COLUMNS: &str =
    "id, workspace_id, name, url, enabled, events, secret_enc, created_at, updated_at, version, updated_by";

const DELIVERY_COLUMNS: &str = "id, workspace_id, webhook_id, event, payload, status, attempts, next_attempt_at, \
     response_status, latency_ms, last_error, created_at, delivered_at";

pub async fn upsert_webhook(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<WebhookId>,
    name: &str,
    url: &str,
    enabled: bool,
    events: &str,
    secret_enc: Option<&str>,
    now: Millis,
) -> Result<WebhookRecord> {
    let query = match id {
        Some(id) => sqlx::query_as(sqlf!(
            "UPDATE webhooks SET name = $3, url = $4, enabled = $5, events = $6, secret_enc = COALESCE($7, \
             secret_enc), updated_at = $8 WHERE workspace_id = $1 AND id = $2 RETURNING {WEBHOOK_COLUMNS}"
        ))
        .bind(ws)
        .bind(id),
        None => sqlx::query_as(sqlf!(
            "INSERT INTO webhooks (workspace_id, name, url, enabled, events, secret_enc, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {WEBHOOK_COLUMNS}"
        ))
        .bind(ws),
    };
    Ok(query.bind(name).bind(url).bind(enabled).bind(events).bind(secret_enc).bind(now).fetch_one(&mut *c).await?)
}

pub async fn list_webhooks(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<WebhookRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = $1 ORDER BY name"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

pub async fn webhook_by_id(c: &mut Conn, ws: WorkspaceId, id: WebhookId) -> Result<Option<WebhookRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn delete_webhook(c: &mut Conn, ws: WorkspaceId, id: WebhookId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Enabled endpoints of a workspace subscribed to `event`.
pub async fn webhooks_for_event(c: &mut Conn, ws: WorkspaceId, event: &str) -> Result<Vec<WebhookRecord>> {
    let hooks: Vec<WebhookRecord> =
        sqlx::query_as(sqlf!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = $1 AND enabled ORDER BY id"))
            .bind(ws)
            .fetch_all(&mut *c)
            .await?;
    Ok(hooks.into_iter().filter(|h| h.events.split(',').any(|e| e == event)).collect())
}

pub async fn insert_webhook_delivery(
    c: &mut Conn,
    ws: WorkspaceId,
    hook: WebhookId,
    event: &str,
    payload: &str,
    now: Millis,
) -> Result<WebhookDeliveryId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (workspace_id, webhook_id, event, payload, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(ws)
    .bind(hook)
    .bind(event)
    .bind(payload)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn webhook_delivery(c: &mut Conn, id: WebhookDeliveryId) -> Result<Option<WebhookDeliveryRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Pending deliveries whose next attempt is due, oldest first.
pub async fn due_webhook_deliveries(c: &mut Conn, now: Millis, limit: i64) -> Result<Vec<(WebhookDeliveryId, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, attempts FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn record_delivery_attempt(c: &mut Conn, id: WebhookDeliveryId, a: &DeliveryAttempt) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, next_attempt_at = $3, response_status = \
         $4, latency_ms = $5, last_error = $6, delivered_at = CASE WHEN $2 = 'delivered' THEN $7 ELSE delivered_at END \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(a.status.as_str())
    .bind(a.next_attempt_at)
    .bind(a.response_status)
    .bind(a.latency_ms)
    .bind(&a.error)
    .bind(a.now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn list_webhook_deliveries(
    c: &mut Conn,
    ws: WorkspaceId,
    hook: WebhookId,
    limit: i64,
) -> Result<Vec<WebhookDeliveryRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE workspace_id = $1 AND webhook_id = $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(ws)
    .bind(hook)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}
