// Queries for suggested macros (recurring staff replies proposed as canned responses). Included in
// both dialect modules after queries.rs (see lib.rs).

const SUGGESTION_COLUMNS: &str =
    "id, workspace_id, body, occurrences, ticket_count, status, canned_response_id, created_at, decided_at";

/// Public staff replies on tickets resolved since `resolved_since`, closed or not yet (at most
/// `limit`, most recently resolved tickets first). Closing stamps `resolved_at` too.
pub async fn staff_replies_on_resolved(
    c: &mut Conn,
    ws: WorkspaceId,
    resolved_since: Millis,
    limit: i64,
) -> Result<Vec<(TicketId, String)>> {
    Ok(sqlx::query_as(
        "SELECT e.ticket_id, e.body FROM tickets t JOIN entries e ON e.ticket_id = t.id \
         WHERE t.workspace_id = $1 AND t.status IN ('resolved', 'closed') AND t.resolved_at >= $2 \
         AND e.kind = 'reply' AND e.author_user_id IS NOT NULL ORDER BY t.resolved_at DESC, e.id LIMIT $3",
    )
    .bind(ws)
    .bind(resolved_since)
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
    status: SuggestionStatus,
    canned: Option<CannedResponseId>,
    now: Millis,
) -> Result<Option<MacroSuggestionRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE macro_suggestions SET status = $3, canned_response_id = $4, decided_at = $5 \
         WHERE workspace_id = $1 AND id = $2 AND status = 'pending' RETURNING {SUGGESTION_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(status.as_str())
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
