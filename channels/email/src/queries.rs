//! The email channel's queries: its mailboxes and received messages through the core's generic
//! channel tables, and its own acknowledgement table (created by the core's migrations) in SQL
//! both databases run as written.

use switchboard_channel::on_tx;
use switchboard_desk::domain::*;
use switchboard_desk::store::{ChannelAccountRecord, NewChannelMessage, StoreError, Tx};

use crate::records::{EMAIL_CHANNEL, EmailMessageRecord, MailboxInput, MailboxRecord, NewEmailMessage};

type Result<T> = std::result::Result<T, StoreError>;

fn mailboxes(accounts: Vec<ChannelAccountRecord>) -> Result<Vec<MailboxRecord>> {
    accounts.iter().map(MailboxRecord::from_account).collect()
}

/// Creates a mailbox (a channel account of the email channel) or updates one of the workspace's.
pub async fn upsert_mailbox(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: Option<ChannelAccountId>,
    m: &MailboxInput,
    now: Millis,
) -> Result<MailboxRecord> {
    let stored = match id {
        Some(id) => Some(mailbox_by_id(tx, ws, id).await?.ok_or(StoreError::NotFound)?),
        None => None,
    };
    let account = tx.save_channel_account(ws, id, &m.to_account(stored.as_ref()), now).await?;
    MailboxRecord::from_account(&account)
}

/// The workspace's mailboxes by name.
pub async fn list_mailboxes(tx: &mut Tx, ws: WorkspaceId) -> Result<Vec<MailboxRecord>> {
    let mut all = mailboxes(tx.channel_accounts(ws, EMAIL_CHANNEL).await?)?;
    all.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(all)
}

/// One of the workspace's mailboxes.
pub async fn mailbox_by_id(tx: &mut Tx, ws: WorkspaceId, id: ChannelAccountId) -> Result<Option<MailboxRecord>> {
    tx.channel_account(ws, EMAIL_CHANNEL, id).await?.as_ref().map(MailboxRecord::from_account).transpose()
}

/// Across workspaces: the inbound endpoint knows only the mailbox id until its secret is checked.
pub async fn mailbox_for_inbound(tx: &mut Tx, id: ChannelAccountId) -> Result<Option<MailboxRecord>> {
    tx.channel_account_any_workspace(EMAIL_CHANNEL, id).await?.as_ref().map(MailboxRecord::from_account).transpose()
}

/// Across workspaces: the enabled mailboxes with IMAP settings, for the poller.
pub async fn imap_mailboxes(tx: &mut Tx) -> Result<Vec<MailboxRecord>> {
    let all = mailboxes(tx.enabled_channel_accounts(EMAIL_CHANNEL).await?)?;
    Ok(all.into_iter().filter(|m| m.imap_host.is_some()).collect())
}

/// Deletes one of the workspace's mailboxes; false when it has none by that id.
pub async fn delete_mailbox(tx: &mut Tx, ws: WorkspaceId, id: ChannelAccountId) -> Result<bool> {
    tx.delete_channel_account(ws, EMAIL_CHANNEL, id).await
}

/// Moves the poller's cursor, kept in the mailbox account's state.
pub async fn set_imap_cursor(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: ChannelAccountId,
    uid_validity: i64,
    last_uid: i64,
) -> Result<()> {
    let state = crate::records::imap_cursor_state(uid_validity, last_uid);
    tx.set_channel_account_state(ws, id, &state).await
}

/// What became of a message the workspace's mailboxes received before, by its key.
pub async fn email_message_by_key(tx: &mut Tx, ws: WorkspaceId, key: &str) -> Result<Option<EmailMessageRecord>> {
    Ok(tx.channel_message_by_key(ws, EMAIL_CHANNEL, key).await?.map(EmailMessageRecord::from_channel_message))
}

/// Records a received message; a second record under the same key keeps the first.
pub async fn insert_email_message(tx: &mut Tx, m: &NewEmailMessage<'_>) -> Result<()> {
    let record = NewChannelMessage {
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
    tx.insert_channel_message(&record).await?;
    Ok(())
}

/// Received messages with `outcome`, newest first.
pub async fn list_email_messages(
    tx: &mut Tx,
    ws: WorkspaceId,
    outcome: &str,
    limit: i64,
) -> Result<Vec<EmailMessageRecord>> {
    let rows = tx.list_channel_messages(ws, EMAIL_CHANNEL, outcome, limit).await?;
    Ok(rows.into_iter().map(EmailMessageRecord::from_channel_message).collect())
}

/// One received message of the workspace's.
pub async fn email_message_by_id(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: ChannelMessageId,
) -> Result<Option<EmailMessageRecord>> {
    Ok(tx.channel_message_by_id(ws, EMAIL_CHANNEL, id).await?.map(EmailMessageRecord::from_channel_message))
}

/// The mailbox a ticket is answered from, when it is an email ticket that has one.
pub async fn ticket_mailbox(tx: &mut Tx, ws: WorkspaceId, ticket: TicketId) -> Result<Option<ChannelAccountId>> {
    Ok(tx.ticket_channel(ws, ticket).await?.filter(|(ch, _)| ch == EMAIL_CHANNEL).and_then(|(_, a)| a))
}

/// How many acknowledgements `sender` was sent since `since`.
pub async fn count_acknowledgements(tx: &mut Tx, ws: WorkspaceId, sender: &str, since: Millis) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM email_acknowledgements WHERE workspace_id = $1 AND sender = $2 AND sent_at >= $3";
    Ok(on_tx!(tx, |c| sqlx::query_scalar(sql).bind(ws).bind(sender).bind(since).fetch_one(c).await?))
}

/// Deletes acknowledgements sent before `before`; returns how many.
pub async fn prune_acknowledgements(tx: &mut Tx, before: Millis) -> Result<u64> {
    let sql = "DELETE FROM email_acknowledgements WHERE sent_at < $1";
    Ok(on_tx!(tx, |c| sqlx::query(sql).bind(before).execute(c).await?.rows_affected()))
}

/// Counts an acknowledgement sent to `sender`.
pub async fn insert_acknowledgement(tx: &mut Tx, ws: WorkspaceId, sender: &str, now: Millis) -> Result<()> {
    let sql = "INSERT INTO email_acknowledgements (workspace_id, sender, sent_at) VALUES ($1, $2, $3)";
    on_tx!(tx, |c| sqlx::query(sql).bind(ws).bind(sender).bind(now).execute(c).await.map(drop)?);
    Ok(())
}
