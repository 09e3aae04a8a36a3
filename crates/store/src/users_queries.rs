// Queries for staff users. Included in both dialect modules after queries.rs (see lib.rs).

const USER_COLUMNS: &str =
    "id, workspace_id, email, name, role, password_hash, active, created_at, sessions_valid_after";

pub async fn insert_user(
    c: &mut Conn,
    ws: WorkspaceId,
    email: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
    now: Millis,
) -> Result<UserRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO users (workspace_id, email, name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
    ))
    .bind(ws)
    .bind(email)
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn update_user(
    c: &mut Conn,
    ws: WorkspaceId,
    id: UserId,
    name: &str,
    role: Role,
    active: bool,
) -> Result<UserRecord> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE users SET name = $3, role = $4, active = $5 WHERE workspace_id = $1 AND id = $2 \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(name)
    .bind(role.as_str())
    .bind(active)
    .fetch_one(&mut *c)
    .await?)
}

/// Sets a staff member's password hash; their sign-ins from before `now` stop working.
pub async fn set_user_password(c: &mut Conn, ws: WorkspaceId, id: UserId, hash: &str, now: Millis) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $3, sessions_valid_after = $4 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Ends every sign-in of a staff member made before `now`.
pub async fn end_user_sessions(c: &mut Conn, ws: WorkspaceId, id: UserId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE users SET sessions_valid_after = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Staff accounts with this email in any workspace, with the workspace slug, for sign-in.
pub async fn users_by_email(c: &mut Conn, email: &str) -> Result<Vec<(UserRecord, String)>> {
    let rows = sqlx::query(sqlf!(
        "SELECT u.id, u.workspace_id, u.email, u.name, u.role, u.password_hash, u.active, u.created_at, \
         u.sessions_valid_after, w.slug \
         FROM users u JOIN workspaces w ON w.id = u.workspace_id WHERE u.email = $1 ORDER BY u.id"
    ))
    .bind(email)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok((<UserRecord as sqlx::FromRow<_>>::from_row(r)?, r.try_get("slug")?))).collect()
}

pub async fn user_by_id(c: &mut Conn, ws: WorkspaceId, id: UserId) -> Result<Option<UserRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn user_by_email(c: &mut Conn, ws: WorkspaceId, email: &str) -> Result<Option<UserRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND email = $2"))
        .bind(ws)
        .bind(email)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_users(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<UserRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 ORDER BY name, id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}
