// Email channel queries, included next to queries.rs in both dialect modules (see lib.rs).

use crate::email_records::{EMAIL_CHANNEL, EmailMessageRecord, MailboxRecord};

/// Creates a mailbox (a channel account of the email channel) or updates one of the workspace's.
pub async fn upsert_mailbox(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<i64>,
    m: &crate::email_records::MailboxInput,
    now: Millis,
) -> Result<MailboxRecord> {
    let stored = match id {
        Some(id) => Some(mailbox_by_id(&mut *c, ws, id).await?.ok_or(StoreError::NotFound)?),
        None => None,
    };
    let account = save_channel_account(&mut *c, ws, id, &m.to_account(stored.as_ref()), now).await?;
    MailboxRecord::from_account(&account)
}

fn mailboxes(accounts: Vec<crate::ChannelAccountRecord>) -> Result<Vec<MailboxRecord>> {
    accounts.iter().map(MailboxRecord::from_account).collect()
}

pub async fn list_mailboxes(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<MailboxRecord>> {
    let mut all = mailboxes(channel_accounts(&mut *c, ws, EMAIL_CHANNEL).await?)?;
    all.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(all)
}

pub async fn mailbox_by_id(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<Option<MailboxRecord>> {
    channel_account(&mut *c, ws, EMAIL_CHANNEL, id).await?.as_ref().map(MailboxRecord::from_account).transpose()
}

/// Across workspaces: the inbound endpoint knows only the mailbox id until its secret is checked.
pub async fn mailbox_for_inbound(c: &mut Conn, id: i64) -> Result<Option<MailboxRecord>> {
    channel_account_any_workspace(&mut *c, EMAIL_CHANNEL, id)
        .await?
        .as_ref()
        .map(MailboxRecord::from_account)
        .transpose()
}

/// Across workspaces: the enabled mailboxes with IMAP settings, for the poller.
pub async fn imap_mailboxes(c: &mut Conn) -> Result<Vec<MailboxRecord>> {
    let all = mailboxes(enabled_channel_accounts(&mut *c, EMAIL_CHANNEL).await?)?;
    Ok(all.into_iter().filter(|m| m.imap_host.is_some()).collect())
}

pub async fn delete_mailbox(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    delete_channel_account(&mut *c, ws, EMAIL_CHANNEL, id).await
}

pub async fn set_imap_cursor(c: &mut Conn, ws: WorkspaceId, id: i64, uid_validity: i64, last_uid: i64) -> Result<()> {
    let state = crate::email_records::imap_cursor_state(uid_validity, last_uid);
    set_channel_account_state(&mut *c, ws, id, &state).await
}

/// What became of a message the workspace's mailboxes received before, by its key.
pub async fn email_message_by_key(c: &mut Conn, ws: WorkspaceId, key: &str) -> Result<Option<EmailMessageRecord>> {
    Ok(channel_message_by_key(&mut *c, ws, EMAIL_CHANNEL, key).await?.map(EmailMessageRecord::from_channel_message))
}

/// Records a received message; a second record under the same key keeps the first.
pub async fn insert_email_message(c: &mut Conn, m: &crate::email_records::NewEmailMessage<'_>) -> Result<()> {
    let record = crate::NewChannelMessage {
        workspace_id: m.workspace_id,
        channel: EMAIL_CHANNEL,
        account_id: Some(m.mailbox_id),
        external_key: m.dedupe_key,
        outcome: m.outcome,
        reason: m.reason,
        sender: m.from_address,
        subject: m.subject,
        ticket_id: m.ticket_id,
        entry_id: m.entry_id,
        raw_sha256: Some(m.raw_sha256),
        raw_size: Some(m.raw_size),
        created_at: m.created_at,
    };
    insert_channel_message(&mut *c, &record).await?;
    Ok(())
}

pub async fn list_email_messages(
    c: &mut Conn,
    ws: WorkspaceId,
    outcome: &str,
    limit: i64,
) -> Result<Vec<EmailMessageRecord>> {
    let rows = list_channel_messages(&mut *c, ws, EMAIL_CHANNEL, outcome, limit).await?;
    Ok(rows.into_iter().map(EmailMessageRecord::from_channel_message).collect())
}

pub async fn email_message_by_id(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<Option<EmailMessageRecord>> {
    Ok(channel_message_by_id(&mut *c, ws, EMAIL_CHANNEL, id).await?.map(EmailMessageRecord::from_channel_message))
}

pub async fn set_ticket_mailbox(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, mailbox: i64) -> Result<()> {
    set_ticket_channel_account(&mut *c, ws, ticket, mailbox).await
}

pub async fn ticket_mailbox(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Option<i64>> {
    Ok(ticket_channel(&mut *c, ws, ticket).await?.filter(|(ch, _)| ch == EMAIL_CHANNEL).and_then(|(_, a)| a))
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
