//! The WhatsApp channel's queries: its numbers and handled message ids through the core's generic
//! channel tables, and its own inbox and conversation tables (created by the core's migrations)
//! in SQL both databases run as written.

use switchboard_channel::on_tx;
use switchboard_desk::domain::*;
use switchboard_desk::store::{NewChannelMessage, StoreError, Tx, decode_json};

use crate::records::*;

type Result<T> = std::result::Result<T, StoreError>;

/// Creates a number (a channel account of the WhatsApp channel), or updates one of the
/// workspace's; a new token replaces the sealed one, `None` keeps it.
#[allow(clippy::too_many_arguments)]
pub async fn upsert_whatsapp_number(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: Option<ChannelAccountId>,
    phone_number_id: &str,
    display: &str,
    token_enc: Option<&str>,
    template_name: Option<&str>,
    template_language: Option<&str>,
    now: Millis,
) -> Result<WhatsappNumberRecord> {
    let token = match (token_enc, id) {
        (Some(t), _) => t.to_string(),
        (None, Some(id)) => {
            let stored = tx.channel_account(ws, WHATSAPP_CHANNEL, id).await?.ok_or(StoreError::NotFound)?;
            WhatsappNumberRecord::from_account(&stored)?.access_token_enc
        }
        (None, None) => String::new(),
    };
    let account = whatsapp_number_account(phone_number_id, display, &token, template_name, template_language);
    WhatsappNumberRecord::from_account(&tx.save_channel_account(ws, id, &account, now).await?)
}

/// The workspace's numbers.
pub async fn list_whatsapp_numbers(tx: &mut Tx, ws: WorkspaceId) -> Result<Vec<WhatsappNumberRecord>> {
    tx.channel_accounts(ws, WHATSAPP_CHANNEL).await?.iter().map(WhatsappNumberRecord::from_account).collect()
}

/// Deletes one of the workspace's numbers; false when it has none by that id.
pub async fn delete_whatsapp_number(tx: &mut Tx, ws: WorkspaceId, id: ChannelAccountId) -> Result<bool> {
    tx.delete_channel_account(ws, WHATSAPP_CHANNEL, id).await
}

/// The number a notification names, in whichever workspace holds it (this is the routing step).
pub async fn whatsapp_number_by_phone_id(tx: &mut Tx, phone_number_id: &str) -> Result<Option<WhatsappNumberRecord>> {
    tx.channel_account_by_route(WHATSAPP_CHANNEL, phone_number_id)
        .await?
        .as_ref()
        .map(WhatsappNumberRecord::from_account)
        .transpose()
}

/// Stores a notification's body; returns its id.
pub async fn insert_whatsapp_inbox(tx: &mut Tx, body: &str, now: Millis) -> Result<WhatsappInboxId> {
    let sql = "INSERT INTO whatsapp_inbox (body, received_at) VALUES ($1, $2) RETURNING id";
    Ok(on_tx!(tx, |c| sqlx::query_scalar(sql).bind(body).bind(now).fetch_one(c).await?))
}

/// A stored notification.
pub async fn whatsapp_inbox_by_id(tx: &mut Tx, id: WhatsappInboxId) -> Result<Option<WhatsappInboxRecord>> {
    let sql = "SELECT id, body, received_at, attempts, processed_at, note FROM whatsapp_inbox WHERE id = $1";
    Ok(on_tx!(tx, |c| sqlx::query_as(sql).bind(id).fetch_optional(c).await?))
}

/// Unprocessed notifications received before `before`, oldest first.
pub async fn pending_whatsapp_inbox(tx: &mut Tx, before: Millis, limit: i64) -> Result<Vec<WhatsappInboxId>> {
    let sql = "SELECT id FROM whatsapp_inbox WHERE processed_at IS NULL AND received_at <= $1 ORDER BY id LIMIT $2";
    Ok(on_tx!(tx, |c| sqlx::query_scalar(sql).bind(before).bind(limit).fetch_all(c).await?))
}

/// Counts an attempt; once `done`, the notification is not picked up again.
pub async fn finish_whatsapp_inbox(
    tx: &mut Tx,
    id: WhatsappInboxId,
    done: bool,
    note: Option<&str>,
    now: Millis,
) -> Result<()> {
    let sql = "UPDATE whatsapp_inbox SET attempts = attempts + 1, note = $2, \
               processed_at = CASE WHEN $3 THEN $4 ELSE processed_at END WHERE id = $1";
    on_tx!(tx, |c| sqlx::query(sql).bind(id).bind(note).bind(done).bind(now).execute(c).await.map(drop)?);
    Ok(())
}

/// Records a message id as handled; false when it had been handled before.
pub async fn mark_whatsapp_message_seen(tx: &mut Tx, ws: WorkspaceId, wamid: &str, now: Millis) -> Result<bool> {
    let seen = NewChannelMessage {
        workspace_id: ws,
        channel: WHATSAPP_CHANNEL,
        account_id: None,
        external_key: wamid,
        outcome: "seen",
        reason: None,
        sender: None,
        subject: None,
        ticket_id: None,
        entry_id: None,
        raw_sha256: None,
        raw_size: None,
        created_at: now,
    };
    tx.insert_channel_message(&seen).await
}

/// In any workspace: Meta's message ids are unique across its numbers.
pub async fn whatsapp_message_seen(tx: &mut Tx, wamid: &str) -> Result<bool> {
    tx.channel_message_known(WHATSAPP_CHANNEL, wamid).await
}

/// Where a contact is in a chat skill.
pub async fn whatsapp_conversation(
    tx: &mut Tx,
    ws: WorkspaceId,
    wa_id: &str,
) -> Result<Option<WhatsappConversationRecord>> {
    let sql = "SELECT workspace_id, wa_id, phone_number_id, step, subject, updated_at FROM whatsapp_conversations \
               WHERE workspace_id = $1 AND wa_id = $2";
    Ok(on_tx!(tx, |c| sqlx::query_as(sql).bind(ws).bind(wa_id).fetch_optional(c).await?))
}

/// Moves a contact to a step of a chat skill, on the number they wrote to.
pub async fn save_whatsapp_conversation(
    tx: &mut Tx,
    ws: WorkspaceId,
    wa_id: &str,
    phone_number_id: &str,
    step: &str,
    subject: Option<&str>,
    now: Millis,
) -> Result<()> {
    let sql = "INSERT INTO whatsapp_conversations (workspace_id, wa_id, phone_number_id, step, subject, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, wa_id) DO UPDATE SET \
               phone_number_id = excluded.phone_number_id, step = excluded.step, subject = excluded.subject, \
               updated_at = excluded.updated_at";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(ws)
        .bind(wa_id)
        .bind(phone_number_id)
        .bind(step)
        .bind(subject)
        .bind(now)
        .execute(c)
        .await
        .map(drop)?);
    Ok(())
}

/// Marks an outbound entry as a template message (name, language), in the entry's channel metadata.
pub async fn insert_whatsapp_template_entry(
    tx: &mut Tx,
    ws: WorkspaceId,
    entry: EntryId,
    name: &str,
    language: &str,
) -> Result<()> {
    let meta = serde_json::json!({ "template_name": name, "template_language": language }).to_string();
    tx.set_entry_channel_meta(ws, entry, &meta).await
}

/// The template (name, language) an outbound entry is to be sent as, if it is one.
pub async fn whatsapp_template_entry(tx: &mut Tx, entry: EntryId) -> Result<Option<(String, String)>> {
    let Some(meta) = tx.entry_channel_meta(entry).await? else { return Ok(None) };
    let meta: serde_json::Value = decode_json(&meta)?;
    Ok(match (meta["template_name"].as_str(), meta["template_language"].as_str()) {
        (Some(n), Some(l)) => Some((n.to_string(), l.to_string())),
        _ => None,
    })
}

/// Deletes processed notifications and handled message ids older than `before`; returns the
/// number of rows removed.
pub async fn purge_whatsapp_inbox(tx: &mut Tx, before: Millis) -> Result<u64> {
    let sql = "DELETE FROM whatsapp_inbox WHERE processed_at IS NOT NULL AND processed_at < $1";
    let a = on_tx!(tx, |c| sqlx::query(sql).bind(before).execute(c).await?.rows_affected());
    let b = tx.prune_channel_messages(WHATSAPP_CHANNEL, "seen", before).await?;
    Ok(a + b)
}
