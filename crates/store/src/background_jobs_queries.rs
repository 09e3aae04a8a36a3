// The Background jobs page's rows, included next to queries.rs in both dialect modules (see lib.rs).

const BACKGROUND_JOB_COLUMNS: &str = "id, workspace_id, kind, state, subject, source_id, dedup_key, processed, total, \
     error, requested_by, created_at, started_at, finished_at, updated_at";

/// Adds a job row; with a `dedup_key` another row holds already, nothing (None).
pub async fn insert_background_job(c: &mut Conn, j: &BackgroundJobRecord) -> Result<Option<BackgroundJobRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO background_jobs (workspace_id, kind, state, subject, source_id, dedup_key, processed, total, \
         error, requested_by, created_at, started_at, finished_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING {BACKGROUND_JOB_COLUMNS}"
    ))
    .bind(j.workspace_id)
    .bind(&j.kind)
    .bind(&j.state)
    .bind(&j.subject)
    .bind(j.source_id)
    .bind(&j.dedup_key)
    .bind(j.processed)
    .bind(j.total)
    .bind(&j.error)
    .bind(&j.requested_by)
    .bind(j.created_at)
    .bind(j.started_at)
    .bind(j.finished_at)
    .bind(j.updated_at)
    .fetch_optional(&mut *c)
    .await?)
}

/// Writes a job's state, progress, error and times as they are now.
pub async fn update_background_job(c: &mut Conn, j: &BackgroundJobRecord) -> Result<()> {
    sqlx::query(
        "UPDATE background_jobs SET state = $2, processed = $3, total = $4, error = $5, started_at = $6, \
         finished_at = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(j.id)
    .bind(&j.state)
    .bind(j.processed)
    .bind(j.total)
    .bind(&j.error)
    .bind(j.started_at)
    .bind(j.finished_at)
    .bind(j.updated_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The workspace's newest jobs first.
pub async fn background_jobs(c: &mut Conn, ws: WorkspaceId, limit: i64) -> Result<Vec<BackgroundJobRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {BACKGROUND_JOB_COLUMNS} FROM background_jobs WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(ws)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// One job, any workspace's (the runner's).
pub async fn background_job_by_id(c: &mut Conn, id: i64) -> Result<Option<BackgroundJobRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {BACKGROUND_JOB_COLUMNS} FROM background_jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// The job queued for a scheduled sync.
pub async fn background_job_by_key(c: &mut Conn, key: &str) -> Result<Option<BackgroundJobRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {BACKGROUND_JOB_COLUMNS} FROM background_jobs WHERE dedup_key = $1"))
        .bind(key)
        .fetch_optional(&mut *c)
        .await?)
}

/// Takes a queued job, or a running one whose worker stopped moving it before `stale_before`,
/// for this worker: true when it is now this worker's.
pub async fn claim_background_job(c: &mut Conn, id: i64, now: Millis, stale_before: Millis) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE background_jobs SET state = 'running', started_at = COALESCE(started_at, $2), updated_at = $2 \
         WHERE id = $1 AND (state = 'queued' OR (state = 'running' AND updated_at < $3))",
    )
    .bind(id)
    .bind(now)
    .bind(stale_before)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Jobs of a kind waiting for a worker (queued, or running without progress since
/// `stale_before`), with the time each last moved.
pub async fn runnable_background_jobs(
    c: &mut Conn,
    kind: &str,
    stale_before: Millis,
    limit: i64,
) -> Result<Vec<(i64, Millis)>> {
    Ok(sqlx::query_as(
        "SELECT id, updated_at FROM background_jobs WHERE kind = $1 \
         AND (state = 'queued' OR (state = 'running' AND updated_at < $2)) ORDER BY id LIMIT $3",
    )
    .bind(kind)
    .bind(stale_before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Drops a scheduled sync's row still queued (its sync happened another way).
pub async fn delete_queued_background_job(c: &mut Conn, key: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM background_jobs WHERE dedup_key = $1 AND state = 'queued'")
        .bind(key)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Keeps the workspace's newest `keep` jobs and every unfinished one.
pub async fn prune_background_jobs(c: &mut Conn, ws: WorkspaceId, keep: i64) -> Result<u64> {
    let r = sqlx::query(
        "DELETE FROM background_jobs WHERE workspace_id = $1 AND state IN ('completed', 'failed') AND id < \
         COALESCE((SELECT MIN(id) FROM (SELECT id FROM background_jobs WHERE workspace_id = $1 \
         ORDER BY id DESC LIMIT $2) AS newest), 0)",
    )
    .bind(ws)
    .bind(keep)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected())
}
