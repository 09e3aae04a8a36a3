// Queries for API tokens. Included in both dialect modules after queries.rs (see lib.rs).

const TOKEN_COLUMNS: &str =
    "id, workspace_id, name, token_prefix, scopes, created_by, created_at, last_used_at, revoked_at";

pub async fn insert_api_token(
    c: &mut Conn,
    ws: WorkspaceId,
    name: &str,
    hash: &str,
    prefix: &str,
    scopes: &str,
    created_by: Option<UserId>,
    now: Millis,
) -> Result<ApiTokenRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO api_tokens (workspace_id, name, token_hash, token_prefix, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(ws)
    .bind(name)
    .bind(hash)
    .bind(prefix)
    .bind(scopes)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn api_token_by_hash(c: &mut Conn, hash: &str) -> Result<Option<ApiTokenRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"))
        .bind(hash)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_api_tokens(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<ApiTokenRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE workspace_id = $1 ORDER BY id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

pub async fn revoke_api_token(c: &mut Conn, ws: WorkspaceId, id: ApiTokenId, now: Millis) -> Result<bool> {
    let r =
        sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(ws)
            .bind(id)
            .bind(now)
            .execute(&mut *c)
            .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn touch_api_token(c: &mut Conn, id: ApiTokenId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *c).await?;
    Ok(())
}
