// Sign-in queries (customers' links, failed password sign-ins), included next to queries.rs in both dialect
// modules (see lib.rs).

const SIGN_IN_LINK_COLUMNS: &str = "id, workspace_id, contact_id, token_hash, token_sealed, created_at, expires_at, \
     used_at, send_status, send_attempts, next_attempt_at, last_error";

pub async fn insert_sign_in_link(
    c: &mut Conn,
    ws: WorkspaceId,
    contact: ContactId,
    token_hash: &str,
    token_sealed: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<CustomerSignInLinkRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO customer_sign_in_links (workspace_id, contact_id, token_hash, token_sealed, created_at, \
         expires_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING {SIGN_IN_LINK_COLUMNS}"
    ))
    .bind(ws)
    .bind(contact)
    .bind(token_hash)
    .bind(token_sealed)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *c)
    .await?)
}

/// Links made for `contact` since `since`: the per-customer rate limit.
pub async fn count_sign_in_links_since(
    c: &mut Conn,
    ws: WorkspaceId,
    contact: ContactId,
    since: Millis,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM customer_sign_in_links WHERE workspace_id = $1 AND contact_id = $2 AND created_at >= $3",
    )
    .bind(ws)
    .bind(contact)
    .bind(since)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn sign_in_link_by_id(c: &mut Conn, id: SignInLinkId) -> Result<Option<CustomerSignInLinkRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {SIGN_IN_LINK_COLUMNS} FROM customer_sign_in_links WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Links whose email is due now, with the attempts made so far; for the job runner.
pub async fn due_sign_in_links(c: &mut Conn, now: Millis, limit: i64) -> Result<Vec<(SignInLinkId, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, send_attempts FROM customer_sign_in_links WHERE send_status = 'pending' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Records send attempt number `attempts_before + 1`; the sealed token is dropped once the email
/// is sent or given up. False when that attempt was already recorded.
pub async fn record_sign_in_link_attempt(
    c: &mut Conn,
    id: SignInLinkId,
    attempts_before: i64,
    status: SendStatus,
    next_attempt_at: Millis,
    error: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE customer_sign_in_links SET send_status = $3, send_attempts = send_attempts + 1, \
         next_attempt_at = $4, last_error = $5, \
         token_sealed = CASE WHEN $3 = 'pending' THEN token_sealed ELSE NULL END \
         WHERE id = $1 AND send_attempts = $2 AND send_status = 'pending'",
    )
    .bind(id)
    .bind(attempts_before)
    .bind(status.as_str())
    .bind(next_attempt_at)
    .bind(error)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Spends the unexpired, unused link with this token hash; `None` when there is none (unknown,
/// used or expired), so two concurrent uses cannot both succeed.
pub async fn use_sign_in_link(c: &mut Conn, token_hash: &str, now: Millis) -> Result<Option<CustomerSignInLinkRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE customer_sign_in_links SET used_at = $2, token_sealed = NULL \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING {SIGN_IN_LINK_COLUMNS}"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?)
}

/// Whether the contact signed in with a link at or after `since`.
pub async fn link_sign_in_since(c: &mut Conn, ws: WorkspaceId, contact: ContactId, since: Millis) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM customer_sign_in_links \
         WHERE workspace_id = $1 AND contact_id = $2 AND used_at >= $3)",
    )
    .bind(ws)
    .bind(contact)
    .bind(since)
    .fetch_one(&mut *c)
    .await?)
}

/// Spends the contact's other links: signing in with one link retires the rest.
pub async fn retire_sign_in_links(c: &mut Conn, ws: WorkspaceId, contact: ContactId, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE customer_sign_in_links SET used_at = $3, token_sealed = NULL \
         WHERE workspace_id = $1 AND contact_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(ws)
    .bind(contact)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Deletes links that expired before `before`; returns how many.
pub async fn prune_sign_in_links(c: &mut Conn, before: Millis) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM customer_sign_in_links WHERE expires_at < $1")
        .bind(before)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

// ---- sign-in attempts (see migration 0009) ----

/// Attempts of `kind` for `email` from `client` since `since`.
pub async fn count_sign_in_attempts(c: &mut Conn, kind: &str, email: &str, client: &str, since: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM sign_in_attempts WHERE kind = $1 AND email = $2 AND client = $3 AND at >= $4",
    )
    .bind(kind)
    .bind(email)
    .bind(client)
    .bind(since)
    .fetch_one(&mut *c)
    .await?)
}

/// Attempts of `kind` from `client`, whatever the address, since `since`.
pub async fn count_client_sign_in_attempts(c: &mut Conn, kind: &str, client: &str, since: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_attempts WHERE kind = $1 AND client = $2 AND at >= $3")
        .bind(kind)
        .bind(client)
        .bind(since)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn record_sign_in_attempt(c: &mut Conn, kind: &str, email: &str, client: &str, now: Millis) -> Result<()> {
    sqlx::query("INSERT INTO sign_in_attempts (kind, email, client, at) VALUES ($1, $2, $3, $4)")
        .bind(kind)
        .bind(email)
        .bind(client)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Forgets the attempts of `kind` for `email` from `client` (a success clears its failures).
pub async fn clear_sign_in_attempts(c: &mut Conn, kind: &str, email: &str, client: &str) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_attempts WHERE kind = $1 AND email = $2 AND client = $3")
        .bind(kind)
        .bind(email)
        .bind(client)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Deletes attempts older than `before` (they no longer count); the job runner's sweep.
pub async fn prune_sign_in_attempts(c: &mut Conn, before: Millis) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sign_in_attempts WHERE at < $1").bind(before).execute(&mut *c).await?.rows_affected())
}
