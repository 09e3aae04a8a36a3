// Queries for follow-ups: inactivity (stale nudges, auto-close, transcript retention), after-close
// messages and manager alerts. Included in both dialect modules after queries.rs (see lib.rs).

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

/// Deletes a ticket's entries and attachment rows (the ticket, its history and events stay),
/// clears the reference to the original of each message the ticket's channel received (the
/// original is the transcript too; the record of the message stays, its original gone), and
/// returns the SHA-256 of the bytes it held.
pub async fn purge_transcript(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, now: Millis) -> Result<Vec<String>> {
    let mut shas: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM attachments WHERE workspace_id = $1 AND ticket_id = $2")
            .bind(ws)
            .bind(ticket)
            .fetch_all(&mut *c)
            .await?;
    let originals: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT raw_sha256 FROM channel_messages \
         WHERE workspace_id = $1 AND ticket_id = $2 AND raw_sha256 IS NOT NULL",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_all(&mut *c)
    .await?;
    for sha in originals {
        if !shas.contains(&sha) {
            shas.push(sha);
        }
    }
    sqlx::query("UPDATE channel_messages SET raw_sha256 = NULL WHERE workspace_id = $1 AND ticket_id = $2")
        .bind(ws)
        .bind(ticket)
        .execute(&mut *c)
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

/// True while any attachment or received message's original (of any workspace) still points at
/// these bytes.
pub async fn blob_in_use(c: &mut Conn, sha256: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM attachments WHERE sha256 = $1) \
         + (SELECT COUNT(*) FROM channel_messages WHERE raw_sha256 = $1)",
    )
    .bind(sha256)
    .fetch_one(&mut *c)
    .await?;
    Ok(n > 0)
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

pub async fn count_events_since(c: &mut Conn, ws: WorkspaceId, kind: EventKind, since: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE workspace_id = $1 AND kind = $2 AND created_at >= $3")
        .bind(ws)
        .bind(kind.as_str())
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
