// Queries for workspaces (tenants), their ticket counter and their support settings. Included in
// both dialect modules after queries.rs (see lib.rs).

pub async fn insert_workspace(
    c: &mut Conn,
    slug: &str,
    name: &str,
    prefix: &str,
    tz: &str,
    now: Millis,
) -> Result<WorkspaceRecord> {
    Ok(sqlx::query_as(
        "INSERT INTO workspaces (slug, name, ticket_prefix, time_zone, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, slug, name, ticket_prefix, time_zone, created_at",
    )
    .bind(slug)
    .bind(name)
    .bind(prefix)
    .bind(tz)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn workspace_by_slug(c: &mut Conn, slug: &str) -> Result<Option<WorkspaceRecord>> {
    Ok(sqlx::query_as("SELECT id, slug, name, ticket_prefix, time_zone, created_at FROM workspaces WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn workspace_by_id(c: &mut Conn, id: WorkspaceId) -> Result<WorkspaceRecord> {
    Ok(sqlx::query_as("SELECT id, slug, name, ticket_prefix, time_zone, created_at FROM workspaces WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *c)
        .await?)
}

/// The workspace's next ticket number, SQLite's way: one write runs at a time there, so the
/// counter row costs no waiting and numbers have no gaps. (PostgreSQL takes `nextval` of the
/// workspace's sequence inside the insert; see migrations/postgres/0013.)
async fn take_ticket_number(c: &mut Conn, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE workspaces SET next_ticket_number = next_ticket_number + 1 WHERE id = $1 \
         RETURNING next_ticket_number - 1",
    )
    .bind(ws)
    .fetch_one(&mut *c)
    .await?)
}

/// The highest ticket number used in the workspace (0 for none); numbers may have gaps.
pub async fn last_ticket_number(c: &mut Conn, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) FROM tickets WHERE workspace_id = $1")
        .bind(ws)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn workspace_ids(c: &mut Conn) -> Result<Vec<WorkspaceId>> {
    Ok(sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id").fetch_all(&mut *c).await?)
}

const SETTINGS_COLUMNS: &str = "at_risk_percent, automation_rules, alert_sla_breach, stale_after_hours, stale_message, \
     auto_close_days, auto_close_warning_days, auto_close_escalated_days, auto_close_customer_only, \
     transcript_retention_days, csat_request_enabled, csat_request_message, post_close_follow_up_days, \
     post_close_follow_up_message, alert_queue_depth, alert_csat_drop_percent, alert_escalation_spike, \
     alert_escalation_window_minutes, negative_csat_message, negative_csat_reopen";

pub async fn workspace_settings(c: &mut Conn, ws: WorkspaceId) -> Result<WorkspaceSettingsRecord> {
    let row: Option<WorkspaceSettingsRecord> =
        sqlx::query_as(sqlf!("SELECT {SETTINGS_COLUMNS} FROM workspace_settings WHERE workspace_id = $1"))
            .bind(ws)
            .fetch_optional(&mut *c)
            .await?;
    Ok(row.unwrap_or_default())
}

/// The settings for a change that saves them. The row may not exist yet (defaults), so there is
/// no row to lock: on PostgreSQL a transaction-level advisory lock on the workspace's settings
/// makes such changes take turns instead; SQLite's writer already does.
pub async fn workspace_settings_for_update(c: &mut Conn, ws: WorkspaceId) -> Result<WorkspaceSettingsRecord> {
    if DIALECT == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('workspace_settings'), ($1 % 2147483647)::int)")
            .bind(ws)
            .execute(&mut *c)
            .await?;
    }
    workspace_settings(c, ws).await
}

pub async fn save_workspace_settings(
    c: &mut Conn,
    ws: WorkspaceId,
    s: &WorkspaceSettingsRecord,
    now: Millis,
) -> Result<()> {
    sqlx::query(sqlf!(
        "INSERT INTO workspace_settings (workspace_id, {SETTINGS_COLUMNS}, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $12) \
         ON CONFLICT (workspace_id) DO UPDATE SET \
         at_risk_percent = excluded.at_risk_percent, automation_rules = excluded.automation_rules, \
         alert_sla_breach = excluded.alert_sla_breach, stale_after_hours = excluded.stale_after_hours, \
         stale_message = excluded.stale_message, auto_close_days = excluded.auto_close_days, \
         auto_close_warning_days = excluded.auto_close_warning_days, \
         auto_close_escalated_days = excluded.auto_close_escalated_days, \
         auto_close_customer_only = excluded.auto_close_customer_only, \
         transcript_retention_days = excluded.transcript_retention_days, \
         csat_request_enabled = excluded.csat_request_enabled, csat_request_message = excluded.csat_request_message, \
         post_close_follow_up_days = excluded.post_close_follow_up_days, \
         post_close_follow_up_message = excluded.post_close_follow_up_message, \
         alert_queue_depth = excluded.alert_queue_depth, alert_csat_drop_percent = excluded.alert_csat_drop_percent, \
         alert_escalation_spike = excluded.alert_escalation_spike, \
         alert_escalation_window_minutes = excluded.alert_escalation_window_minutes, \
         negative_csat_message = excluded.negative_csat_message, negative_csat_reopen = excluded.negative_csat_reopen, \
         updated_at = excluded.updated_at"
    ))
    .bind(ws)
    .bind(s.at_risk_percent)
    .bind(&s.automation_rules)
    .bind(s.alert_sla_breach)
    .bind(s.stale_after_hours)
    .bind(&s.stale_message)
    .bind(s.auto_close_days)
    .bind(s.auto_close_warning_days)
    .bind(s.auto_close_escalated_days)
    .bind(s.auto_close_customer_only)
    .bind(s.transcript_retention_days)
    .bind(now)
    .bind(s.csat_request_enabled)
    .bind(&s.csat_request_message)
    .bind(s.post_close_follow_up_days)
    .bind(&s.post_close_follow_up_message)
    .bind(s.alert_queue_depth)
    .bind(s.alert_csat_drop_percent)
    .bind(s.alert_escalation_spike)
    .bind(s.alert_escalation_window_minutes)
    .bind(&s.negative_csat_message)
    .bind(s.negative_csat_reopen)
    .execute(&mut *c)
    .await?;
    Ok(())
}
