// Queries for insights: the facts a ticket's share is computed from, the shares, and the daily
// rollups. Included in both dialect modules after queries.rs (see lib.rs).

pub async fn insight_ticket_row(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Option<InsightTicketRow>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, queue_id, help_topic_id, channel, created_at, first_responded_at, resolved_at, \
         escalated, first_response_due_at, resolution_due_at, csat_rating, csat_rated_at, sla_policy_id \
         FROM tickets WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_optional(&mut *c)
    .await?)
}

/// Public staff replies on a ticket: (author, when), oldest first.
pub async fn insight_staff_replies(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<(i64, Millis)>> {
    Ok(sqlx::query_as(
        "SELECT author_user_id, created_at FROM entries \
         WHERE ticket_id = $1 AND workspace_id = $2 AND kind = 'reply' AND author_user_id IS NOT NULL ORDER BY id",
    )
    .bind(ticket)
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// The ticket's status and assignee changes, oldest first.
pub async fn insight_history(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<InsightHistoryRow>> {
    Ok(sqlx::query_as(
        "SELECT actor_user_id, actor_label, field, old_value, new_value, created_at FROM ticket_history \
         WHERE ticket_id = $1 AND workspace_id = $2 AND field IN ('status', 'assignee') ORDER BY id",
    )
    .bind(ticket)
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// The share a ticket adds to the rollups now (JSON), if it was ever computed.
pub async fn insight_share(c: &mut Conn, ticket: TicketId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT share FROM insight_shares WHERE ticket_id = $1")
        .bind(ticket)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn save_insight_share(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, share: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO insight_shares (ticket_id, workspace_id, share) VALUES ($1, $2, $3) \
         ON CONFLICT (ticket_id) DO UPDATE SET share = excluded.share",
    )
    .bind(ticket)
    .bind(ws)
    .bind(share)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Adds each row's value to its counter (creating it at 0 first); counters that come to 0 are
/// deleted, so the table holds only what some ticket adds.
pub async fn add_insight_rollups(c: &mut Conn, ws: WorkspaceId, rows: &[InsightRollupRow]) -> Result<()> {
    // Several hundred rows per statement stay far below either database's bind limit (9 each).
    for chunk in rows.chunks(500) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO insight_rollups \
             (workspace_id, day, queue_id, help_topic_id, channel, staff_id, metric, bucket, value) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(ws)
                .push_bind(&r.day)
                .push_bind(r.queue_id)
                .push_bind(r.help_topic_id)
                .push_bind(&r.channel)
                .push_bind(r.staff_id)
                .push_bind(&r.metric)
                .push_bind(r.bucket)
                .push_bind(r.value);
        });
        q.push(
            " ON CONFLICT (workspace_id, day, queue_id, help_topic_id, channel, staff_id, metric, bucket) \
             DO UPDATE SET value = insight_rollups.value + excluded.value",
        );
        q.build().execute(&mut *c).await?;
    }
    let days: Vec<&str> = {
        let mut d: Vec<&str> = rows.iter().map(|r| r.day.as_str()).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    for day in days {
        sqlx::query("DELETE FROM insight_rollups WHERE workspace_id = $1 AND day = $2 AND value = 0")
            .bind(ws)
            .bind(day)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Forgets every rollup and share of the workspace (before a rebuild).
pub async fn clear_insights(c: &mut Conn, ws: WorkspaceId) -> Result<()> {
    sqlx::query("DELETE FROM insight_rollups WHERE workspace_id = $1").bind(ws).execute(&mut *c).await?;
    sqlx::query("DELETE FROM insight_shares WHERE workspace_id = $1").bind(ws).execute(&mut *c).await?;
    Ok(())
}

/// The rollups between two local days (inclusive), summed over queues and matching `f`, kept
/// apart by day, help topic, channel, staff member, metric and bucket.
pub async fn insight_rollup_sums(
    c: &mut Conn,
    ws: WorkspaceId,
    from: &str,
    to: &str,
    f: &InsightFilter,
) -> Result<Vec<InsightRollupRow>> {
    Ok(sqlx::query_as(
        "SELECT day, CAST(0 AS BIGINT) AS queue_id, help_topic_id, channel, staff_id, metric, bucket, \
         CAST(SUM(value) AS BIGINT) AS value FROM insight_rollups \
         WHERE workspace_id = $1 AND day >= $2 AND day <= $3 \
         AND ($4 IS NULL OR queue_id = $4) AND ($5 IS NULL OR help_topic_id = $5) AND ($6 IS NULL OR channel = $6) \
         GROUP BY day, help_topic_id, channel, staff_id, metric, bucket",
    )
    .bind(ws)
    .bind(from)
    .bind(to)
    .bind(f.queue_id)
    .bind(f.help_topic_id)
    .bind(f.channel.as_deref())
    .fetch_all(&mut *c)
    .await?)
}

/// Tickets opened and closed before the local day `before`, matching `f`: the backlog the
/// period starts with.
pub async fn insight_totals_before(
    c: &mut Conn,
    ws: WorkspaceId,
    before: &str,
    f: &InsightFilter,
) -> Result<(i64, i64)> {
    let (opened, closed): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT CAST(SUM(CASE WHEN metric = 'opened' THEN value ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN metric = 'closed' THEN value ELSE 0 END) AS BIGINT) FROM insight_rollups \
         WHERE workspace_id = $1 AND day < $2 AND staff_id = 0 AND metric IN ('opened', 'closed') \
         AND ($3 IS NULL OR queue_id = $3) AND ($4 IS NULL OR help_topic_id = $4) AND ($5 IS NULL OR channel = $5)",
    )
    .bind(ws)
    .bind(before)
    .bind(f.queue_id)
    .bind(f.help_topic_id)
    .bind(f.channel.as_deref())
    .fetch_one(&mut *c)
    .await?;
    Ok((opened.unwrap_or(0), closed.unwrap_or(0)))
}

/// Every non-zero rollup row of the workspace, in key order (for comparing a rebuild).
pub async fn all_insight_rollups(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<InsightRollupRow>> {
    Ok(sqlx::query_as(
        "SELECT day, queue_id, help_topic_id, channel, staff_id, metric, bucket, value FROM insight_rollups \
         WHERE workspace_id = $1 AND value <> 0 \
         ORDER BY day, queue_id, help_topic_id, channel, staff_id, metric, bucket",
    )
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}
