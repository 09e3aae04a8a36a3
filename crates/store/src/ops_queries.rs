// Support-ops queries, included next to queries.rs in both dialect modules (see lib.rs).

const CALENDAR_COLUMNS: &str = "id, workspace_id, name, spec, created_at, updated_at";
const SLA_POLICY_COLUMNS: &str = "id, workspace_id, name, priority, help_topic_id, first_response_minutes, \
     resolution_minutes, calendar_id, created_at, updated_at";
const ROUTING_COLUMNS: &str = "id, workspace_id, name, position, enabled, definition, created_at, updated_at";
const WEBHOOK_COLUMNS: &str = "id, workspace_id, name, url, enabled, events, secret_enc, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "id, workspace_id, webhook_id, event, payload, status, attempts, next_attempt_at, \
     response_status, latency_ms, last_error, created_at, delivered_at";
const FLAG_COLUMNS: &str = "id, workspace_id, ticket_id, kind, reason, created_at, resolved_at, resolved_by";

// ---- settings and calendars ----

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

/// Workspaces with proactive follow-ups or auto-close switched on.
pub async fn inactivity_workspaces(c: &mut Conn) -> Result<Vec<(WorkspaceId, WorkspaceSettingsRecord)>> {
    let rows = sqlx::query(sqlf!(
        "SELECT workspace_id, {SETTINGS_COLUMNS} FROM workspace_settings \
         WHERE stale_after_hours IS NOT NULL OR auto_close_days IS NOT NULL OR transcript_retention_days IS NOT NULL \
         ORDER BY workspace_id"
    ))
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push((row.try_get("workspace_id")?, <WorkspaceSettingsRecord as sqlx::FromRow<_>>::from_row(&row)?));
    }
    Ok(out)
}

/// Tickets still needing work with no activity since `before` (the requester's messages only
/// when `customer_only`), after `after` in id order: a page of candidates for follow-ups.
pub async fn quiet_tickets(
    c: &mut Conn,
    ws: WorkspaceId,
    before: Millis,
    customer_only: bool,
    after: TicketId,
    limit: i64,
) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE workspace_id = $1 AND active AND id > $4 \
         AND COALESCE(CASE WHEN $3 THEN last_customer_message_at ELSE last_message_at END, created_at) < $2 \
         ORDER BY id LIMIT $5",
    )
    .bind(ws)
    .bind(before)
    .bind(customer_only)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

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

// ---- SLA policies and breaches ----

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

// ---- routing and assignment ----

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

// ---- webhooks ----

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
    .bind(a.status)
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

// ---- the event stream ----

/// Events after `after` in stream order, only those no transaction still running can precede.
///
/// PostgreSQL assigns an event's id when it is inserted, not when its transaction commits, so
/// "id > cursor" would skip an event committed after a newer one was read. We use transaction-id
/// visibility instead: each event carries the id of the transaction that wrote it (`tx_id`), the
/// stream is ordered by (tx_id, id), and a read takes only events whose transaction is older than
/// the oldest one still running (`pg_snapshot_xmin` of this statement's snapshot). Every such
/// transaction has ended, so its events are all visible now or never will be; every transaction
/// that commits later has a tx_id at or above that horizon, so its events sort after anything
/// handed out. Writers pay nothing (no lock, no extra statement). The price is latency: a long
/// write transaction anywhere on the server holds back events written after it began until it
/// ends. An insert lock serializing event writers until commit was the alternative; it would make
/// every ticket change in a busy helpdesk wait on every other one's commit.
/// SQLite runs one write transaction at a time, so its event ids are in commit order already.
pub async fn events_after(c: &mut Conn, after: StreamPosition, limit: i64) -> Result<Vec<EventRecord>> {
    const COLUMNS: &str = "SELECT id, workspace_id, ticket_id, kind, payload, created_at, tx_id FROM events";
    let rows = if DIALECT == Dialect::Postgres {
        sqlx::query_as(sqlf!(
            "{COLUMNS} WHERE (tx_id, id) > ($1, $2) \
             AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint ORDER BY tx_id, id LIMIT $3"
        ))
        .bind(after.tx_id)
        .bind(after.id)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?
    } else {
        sqlx::query_as(sqlf!("{COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after.id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
    };
    Ok(rows)
}

/// A named position in the event stream; the start when never stored.
pub async fn stream_cursor(c: &mut Conn, name: &str) -> Result<StreamPosition> {
    let v: Option<(i64, i64)> = sqlx::query_as("SELECT tx_id, position FROM stream_cursors WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *c)
        .await?;
    Ok(v.map(|(tx_id, id)| StreamPosition { tx_id, id }).unwrap_or_default())
}

/// The cursor, held until the transaction ends (PostgreSQL; SQLite's single writer already
/// serializes readers of it), so two dispatchers never hand out the same events.
pub async fn lock_stream_cursor(c: &mut Conn, name: &str) -> Result<StreamPosition> {
    if DIALECT == Dialect::Sqlite {
        return stream_cursor(c, name).await;
    }
    sqlx::query("INSERT INTO stream_cursors (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(&mut *c)
        .await?;
    let (tx_id, id): (i64, i64) =
        sqlx::query_as("SELECT tx_id, position FROM stream_cursors WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_one(&mut *c)
            .await?;
    Ok(StreamPosition { tx_id, id })
}

pub async fn set_stream_cursor(c: &mut Conn, name: &str, position: StreamPosition) -> Result<()> {
    sqlx::query(
        "INSERT INTO stream_cursors (name, position, tx_id) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, tx_id = excluded.tx_id",
    )
    .bind(name)
    .bind(position.id)
    .bind(position.tx_id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

// ---- notifications and quality flags ----

pub async fn insert_notification(
    c: &mut Conn,
    ws: WorkspaceId,
    kind: &str,
    ticket: Option<TicketId>,
    message: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (workspace_id, kind, ticket_id, message, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ws)
    .bind(kind)
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

// ---- transcript retention ----

/// Closed tickets whose transcript is due for deletion (closed before `closed_before`).
pub async fn purgeable_tickets(
    c: &mut Conn,
    ws: WorkspaceId,
    closed_before: Millis,
    limit: i64,
) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM tickets WHERE workspace_id = $1 AND closed_at IS NOT NULL AND closed_at < $2 \
         AND status = 'closed' AND transcript_purged_at IS NULL ORDER BY closed_at LIMIT $3",
    )
    .bind(ws)
    .bind(closed_before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Deletes a ticket's entries and attachment rows (the ticket, its history and events stay) and
/// returns the SHA-256 of the attachments it held.
pub async fn purge_transcript(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, now: Millis) -> Result<Vec<String>> {
    let shas: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM attachments WHERE workspace_id = $1 AND ticket_id = $2")
            .bind(ws)
            .bind(ticket)
            .fetch_all(&mut *c)
            .await?;
    sqlx::query("DELETE FROM attachments WHERE workspace_id = $1 AND ticket_id = $2")
        .bind(ws)
        .bind(ticket)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM outbox WHERE workspace_id = $1 AND ticket_id = $2")
        .bind(ws)
        .bind(ticket)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM entries WHERE workspace_id = $1 AND ticket_id = $2")
        .bind(ws)
        .bind(ticket)
        .execute(&mut *c)
        .await?;
    sqlx::query("UPDATE tickets SET transcript_purged_at = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(ticket)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(shas)
}

/// True while any attachment (of any workspace) still points at these bytes.
pub async fn blob_in_use(c: &mut Conn, sha256: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attachments WHERE sha256 = $1")
        .bind(sha256)
        .fetch_one(&mut *c)
        .await?;
    Ok(n > 0)
}

// ---- suggested macros ----

const SUGGESTION_COLUMNS: &str =
    "id, workspace_id, body, occurrences, ticket_count, status, canned_response_id, created_at, decided_at";

pub async fn workspace_ids(c: &mut Conn) -> Result<Vec<WorkspaceId>> {
    Ok(sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id").fetch_all(&mut *c).await?)
}

/// Public staff replies on tickets closed since `closed_since` (at most `limit`, newest tickets first).
pub async fn staff_replies_on_closed(
    c: &mut Conn,
    ws: WorkspaceId,
    closed_since: Millis,
    limit: i64,
) -> Result<Vec<(TicketId, String)>> {
    Ok(sqlx::query_as(
        "SELECT e.ticket_id, e.body FROM tickets t JOIN entries e ON e.ticket_id = t.id \
         WHERE t.workspace_id = $1 AND t.status = 'closed' AND t.closed_at >= $2 AND e.kind = 'reply' \
         AND e.author_user_id IS NOT NULL ORDER BY t.closed_at DESC, e.id LIMIT $3",
    )
    .bind(ws)
    .bind(closed_since)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Offers a repeated reply; a pending offer gets the new counts, a decided one is left alone.
pub async fn upsert_macro_suggestion(
    c: &mut Conn,
    ws: WorkspaceId,
    fingerprint: &str,
    body: &str,
    occurrences: i64,
    tickets: i64,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO macro_suggestions (workspace_id, fingerprint, body, occurrences, ticket_count, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, fingerprint) DO UPDATE SET \
         occurrences = excluded.occurrences, ticket_count = excluded.ticket_count \
         WHERE macro_suggestions.status = 'pending'",
    )
    .bind(ws)
    .bind(fingerprint)
    .bind(body)
    .bind(occurrences)
    .bind(tickets)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn pending_macro_suggestions(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<MacroSuggestionRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {SUGGESTION_COLUMNS} FROM macro_suggestions WHERE workspace_id = $1 AND status = 'pending' \
         ORDER BY occurrences DESC, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// Records an admin's decision on a pending suggestion; `None` when it was not pending.
pub async fn decide_macro_suggestion(
    c: &mut Conn,
    ws: WorkspaceId,
    id: MacroSuggestionId,
    status: &str,
    canned: Option<CannedResponseId>,
    now: Millis,
) -> Result<Option<MacroSuggestionRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE macro_suggestions SET status = $3, canned_response_id = $4, decided_at = $5 \
         WHERE workspace_id = $1 AND id = $2 AND status = 'pending' RETURNING {SUGGESTION_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(status)
    .bind(canned)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn macro_suggestion(
    c: &mut Conn,
    ws: WorkspaceId,
    id: MacroSuggestionId,
) -> Result<Option<MacroSuggestionRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {SUGGESTION_COLUMNS} FROM macro_suggestions WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

// ---- the outbox: replies waiting for a channel adapter ----

pub async fn due_outbox(c: &mut Conn, channel: Channel, now: Millis, limit: i64) -> Result<Vec<(i64, i64)>> {
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

pub async fn outbox_by_id(c: &mut Conn, id: i64) -> Result<Option<OutboxRecord>> {
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
    id: i64,
    attempts_before: i64,
    status: &str,
    next_attempt_at: Millis,
    error: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = $3, attempts = attempts + 1, next_attempt_at = $4, last_error = $5 \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempts_before)
    .bind(status)
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

// ---- after-close messages and manager alerts ----

/// Closed tickets of `ws` closed in `[from, to)` that have not had the `kind` follow-up, oldest
/// first; `skip_reason` leaves out tickets closed for that reason, `unrated_only` rated ones.
pub async fn closed_without_follow_up(
    c: &mut Conn,
    ws: WorkspaceId,
    kind: &str,
    from: Millis,
    to: Millis,
    skip_reason: Option<&str>,
    unrated_only: bool,
    limit: i64,
) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar(
        "SELECT t.id FROM tickets t WHERE t.workspace_id = $1 AND t.closed_at >= $2 AND t.closed_at < $3 \
         AND t.status = 'closed' AND ($4 IS NULL OR t.close_reason IS NULL OR t.close_reason <> $4) \
         AND (NOT $5 OR t.csat_rating IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM ticket_follow_ups f WHERE f.ticket_id = t.id AND f.kind = $6) \
         ORDER BY t.closed_at, t.id LIMIT $7",
    )
    .bind(ws)
    .bind(from)
    .bind(to)
    .bind(skip_reason)
    .bind(unrated_only)
    .bind(kind)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Marks the `kind` follow-up sent; false when it already was.
pub async fn insert_follow_up(c: &mut Conn, ticket: TicketId, kind: &str, now: Millis) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO ticket_follow_ups (ticket_id, kind, sent_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(ticket)
    .bind(kind)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn stamp_rating(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE tickets SET csat_rated_at = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(ticket)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Tickets not yet resolved that nobody holds, or that were escalated.
pub async fn queue_depth(c: &mut Conn, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND status IN ('open', 'in_progress', 'waiting') \
         AND (assignee_id IS NULL OR escalated)",
    )
    .bind(ws)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn count_events_since(c: &mut Conn, ws: WorkspaceId, kind: &str, since: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE workspace_id = $1 AND kind = $2 AND created_at >= $3")
        .bind(ws)
        .bind(kind)
        .bind(since)
        .fetch_one(&mut *c)
        .await?)
}

/// Ratings given in `[from, to)`: how many, and how many were satisfied (4 or 5 of 5).
pub async fn csat_counts(c: &mut Conn, ws: WorkspaceId, from: Millis, to: Millis) -> Result<(i64, i64)> {
    let (total, satisfied): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), SUM(CASE WHEN csat_rating >= 4 THEN 1 ELSE 0 END) FROM tickets \
         WHERE workspace_id = $1 AND csat_rated_at >= $2 AND csat_rated_at < $3",
    )
    .bind(ws)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *c)
    .await?;
    Ok((total, satisfied.unwrap_or(0)))
}

pub async fn manager_alert_raised(c: &mut Conn, ws: WorkspaceId, kind: &str) -> Result<bool> {
    let raised: Option<bool> =
        sqlx::query_scalar("SELECT raised FROM manager_alerts WHERE workspace_id = $1 AND kind = $2")
            .bind(ws)
            .bind(kind)
            .fetch_optional(&mut *c)
            .await?;
    Ok(raised.unwrap_or(false))
}

pub async fn set_manager_alert(c: &mut Conn, ws: WorkspaceId, kind: &str, raised: bool, now: Millis) -> Result<()> {
    sqlx::query(
        "INSERT INTO manager_alerts (workspace_id, kind, raised, changed_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, kind) DO UPDATE SET raised = excluded.raised, changed_at = excluded.changed_at",
    )
    .bind(ws)
    .bind(kind)
    .bind(raised)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
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
