// Queries for help topics. Included in both dialect modules after queries.rs (see lib.rs).

const HELP_TOPIC_COLUMNS: &str = "id, workspace_id, name, default_priority, default_queue_id, default_assignee_id, \
     due_offset_minutes, active, created_at, version, updated_at, updated_by";

pub async fn upsert_help_topic(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<HelpTopicId>,
    name: &str,
    priority: Option<Priority>,
    queue: Option<QueueId>,
    assignee: Option<UserId>,
    due_offset: Option<i64>,
    active: bool,
    now: Millis,
) -> Result<HelpTopicRecord> {
    let q = match id {
        None => format!(
            "INSERT INTO help_topics (workspace_id, name, default_priority, default_queue_id, default_assignee_id, \
             due_offset_minutes, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING {HELP_TOPIC_COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE help_topics SET name = $2, default_priority = $3, default_queue_id = $4, default_assignee_id = $5, \
             due_offset_minutes = $6, active = $7 WHERE workspace_id = $1 AND id = $8 RETURNING {HELP_TOPIC_COLUMNS}"
        ),
    };
    let query = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(ws)
        .bind(name)
        .bind(priority.map(Priority::as_str))
        .bind(queue)
        .bind(assignee)
        .bind(due_offset)
        .bind(active);
    let query = match id {
        None => query.bind(now),
        Some(id) => query.bind(id),
    };
    Ok(query.fetch_one(&mut *c).await?)
}

pub async fn help_topic_by_id(c: &mut Conn, ws: WorkspaceId, id: HelpTopicId) -> Result<Option<HelpTopicRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {HELP_TOPIC_COLUMNS} FROM help_topics WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_help_topics(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<HelpTopicRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {HELP_TOPIC_COLUMNS} FROM help_topics WHERE workspace_id = $1 ORDER BY name, id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}
