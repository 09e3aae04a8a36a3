// Email channel queries, included next to queries.rs in both dialect modules (see lib.rs).

const MAILBOX_COLUMNS: &str = "id, workspace_id, name, address, enabled, imap_host, imap_port, imap_security, \
     imap_user, imap_password_enc, imap_folder, imap_processed_folder, imap_uid_validity, imap_last_uid, smtp_host, \
     smtp_port, smtp_security, smtp_user, smtp_password_enc, inbound_secret_hash, ack_enabled, ack_template, \
     created_at, updated_at";
const EMAIL_MESSAGE_COLUMNS: &str = "id, workspace_id, mailbox_id, dedupe_key, outcome, reason, from_address, subject, \
     ticket_id, entry_id, raw_sha256, raw_size, created_at";

pub async fn upsert_mailbox(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<i64>,
    m: &crate::email_records::MailboxInput,
    now: Millis,
) -> Result<crate::email_records::MailboxRecord> {
    let query = match id {
        // Secrets are write-only: a NULL keeps what is stored.
        Some(id) => sqlx::query_as(sqlf!(
            "UPDATE email_mailboxes SET name = $3, address = $4, enabled = $5, imap_host = $6, imap_port = $7, \
             imap_security = $8, imap_user = $9, imap_password_enc = COALESCE($10, imap_password_enc), \
             imap_folder = $11, imap_processed_folder = $12, smtp_host = $13, smtp_port = $14, smtp_security = $15, \
             smtp_user = $16, smtp_password_enc = COALESCE($17, smtp_password_enc), \
             inbound_secret_hash = COALESCE($18, inbound_secret_hash), ack_enabled = $19, ack_template = $20, \
             updated_at = $21 \
             WHERE workspace_id = $1 AND id = $2 RETURNING {MAILBOX_COLUMNS}"
        ))
        .bind(ws)
        .bind(id),
        None => sqlx::query_as(sqlf!(
            "INSERT INTO email_mailboxes (workspace_id, name, address, enabled, imap_host, imap_port, imap_security, \
             imap_user, imap_password_enc, imap_folder, imap_processed_folder, smtp_host, smtp_port, smtp_security, \
             smtp_user, smtp_password_enc, inbound_secret_hash, ack_enabled, ack_template, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) \
             RETURNING {MAILBOX_COLUMNS}"
        ))
        .bind(ws),
    };
    Ok(query
        .bind(&m.name)
        .bind(&m.address)
        .bind(m.enabled)
        .bind(&m.imap_host)
        .bind(m.imap_port)
        .bind(&m.imap_security)
        .bind(&m.imap_user)
        .bind(&m.imap_password_enc)
        .bind(&m.imap_folder)
        .bind(&m.imap_processed_folder)
        .bind(&m.smtp_host)
        .bind(m.smtp_port)
        .bind(&m.smtp_security)
        .bind(&m.smtp_user)
        .bind(&m.smtp_password_enc)
        .bind(&m.inbound_secret_hash)
        .bind(m.ack_enabled)
        .bind(&m.ack_template)
        .bind(now)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn list_mailboxes(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<crate::email_records::MailboxRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {MAILBOX_COLUMNS} FROM email_mailboxes WHERE workspace_id = $1 ORDER BY name, id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

pub async fn mailbox_by_id(
    c: &mut Conn,
    ws: WorkspaceId,
    id: i64,
) -> Result<Option<crate::email_records::MailboxRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {MAILBOX_COLUMNS} FROM email_mailboxes WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Across workspaces: the inbound endpoint knows only the mailbox id until its secret is checked.
pub async fn mailbox_for_inbound(c: &mut Conn, id: i64) -> Result<Option<crate::email_records::MailboxRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {MAILBOX_COLUMNS} FROM email_mailboxes WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Across workspaces: the enabled mailboxes with IMAP settings, for the poller.
pub async fn imap_mailboxes(c: &mut Conn) -> Result<Vec<crate::email_records::MailboxRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {MAILBOX_COLUMNS} FROM email_mailboxes WHERE enabled AND imap_host IS NOT NULL ORDER BY id"
    ))
    .fetch_all(&mut *c)
    .await?)
}

pub async fn delete_mailbox(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM email_mailboxes WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn set_imap_cursor(c: &mut Conn, ws: WorkspaceId, id: i64, uid_validity: i64, last_uid: i64) -> Result<()> {
    sqlx::query(
        "UPDATE email_mailboxes SET imap_uid_validity = $3, imap_last_uid = $4 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id)
    .bind(uid_validity)
    .bind(last_uid)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn email_message_by_key(
    c: &mut Conn,
    mailbox: i64,
    key: &str,
) -> Result<Option<crate::email_records::EmailMessageRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {EMAIL_MESSAGE_COLUMNS} FROM email_messages WHERE mailbox_id = $1 AND dedupe_key = $2"
    ))
    .bind(mailbox)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?)
}

/// Records a received message; a second record under the same key keeps the first.
pub async fn insert_email_message(c: &mut Conn, m: &crate::email_records::NewEmailMessage<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_messages (workspace_id, mailbox_id, dedupe_key, outcome, reason, from_address, subject, \
         ticket_id, entry_id, raw_sha256, raw_size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (mailbox_id, dedupe_key) DO NOTHING",
    )
    .bind(m.workspace_id)
    .bind(m.mailbox_id)
    .bind(m.dedupe_key)
    .bind(m.outcome)
    .bind(m.reason)
    .bind(m.from_address)
    .bind(m.subject)
    .bind(m.ticket_id)
    .bind(m.entry_id)
    .bind(m.raw_sha256)
    .bind(m.raw_size)
    .bind(m.created_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn list_email_messages(
    c: &mut Conn,
    ws: WorkspaceId,
    outcome: &str,
    limit: i64,
) -> Result<Vec<crate::email_records::EmailMessageRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {EMAIL_MESSAGE_COLUMNS} FROM email_messages WHERE workspace_id = $1 AND outcome = $2 \
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(ws)
    .bind(outcome)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn email_message_by_id(
    c: &mut Conn,
    ws: WorkspaceId,
    id: i64,
) -> Result<Option<crate::email_records::EmailMessageRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {EMAIL_MESSAGE_COLUMNS} FROM email_messages WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn set_ticket_mailbox(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, mailbox: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_tickets (ticket_id, workspace_id, mailbox_id) \
         VALUES ($1, $2, $3) ON CONFLICT (ticket_id) DO NOTHING",
    )
    .bind(ticket)
    .bind(ws)
    .bind(mailbox)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn ticket_mailbox(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT mailbox_id FROM email_tickets WHERE workspace_id = $1 AND ticket_id = $2")
        .bind(ws)
        .bind(ticket)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn count_acknowledgements(c: &mut Conn, ws: WorkspaceId, sender: &str, since: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_acknowledgements WHERE workspace_id = $1 AND sender = $2 AND sent_at >= $3",
    )
    .bind(ws)
    .bind(sender)
    .bind(since)
    .fetch_one(&mut *c)
    .await?)
}

/// Deletes acknowledgements sent before `before`; returns how many.
pub async fn prune_acknowledgements(c: &mut Conn, before: Millis) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM email_acknowledgements WHERE sent_at < $1")
        .bind(before)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

pub async fn insert_acknowledgement(c: &mut Conn, ws: WorkspaceId, sender: &str, now: Millis) -> Result<()> {
    sqlx::query("INSERT INTO email_acknowledgements (workspace_id, sender, sent_at) VALUES ($1, $2, $3)")
        .bind(ws)
        .bind(sender)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}
