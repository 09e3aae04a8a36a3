// Queries for canned responses. Included in both dialect modules after queries.rs (see lib.rs).

const CANNED_COLUMNS: &str = "id, workspace_id, title, shortcut, body, help_topic_id, created_at, updated_at";

pub async fn upsert_canned_response(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<CannedResponseId>,
    title: &str,
    shortcut: Option<&str>,
    body: &str,
    topic: Option<HelpTopicId>,
    now: Millis,
) -> Result<CannedResponseRecord> {
    let q = match id {
        None => format!(
            "INSERT INTO canned_responses (workspace_id, title, shortcut, body, help_topic_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {CANNED_COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE canned_responses SET title = $2, shortcut = $3, body = $4, help_topic_id = $5, updated_at = $6 \
             WHERE workspace_id = $1 AND id = $7 RETURNING {CANNED_COLUMNS}"
        ),
    };
    let query =
        sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(ws).bind(title).bind(shortcut).bind(body).bind(topic).bind(now);
    let query = match id {
        None => query,
        Some(id) => query.bind(id),
    };
    Ok(query.fetch_one(&mut *c).await?)
}

pub async fn canned_response_by_id(
    c: &mut Conn,
    ws: WorkspaceId,
    id: CannedResponseId,
) -> Result<Option<CannedResponseRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {CANNED_COLUMNS} FROM canned_responses WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_canned_responses(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<CannedResponseRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {CANNED_COLUMNS} FROM canned_responses WHERE workspace_id = $1 ORDER BY title, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn delete_canned_response(c: &mut Conn, ws: WorkspaceId, id: CannedResponseId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM canned_responses WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}
