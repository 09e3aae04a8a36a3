// WhatsApp channel queries, included next to queries.rs in both dialect modules (see lib.rs).

use crate::whatsapp_records::*;

/// Creates a number (a channel account of the WhatsApp channel), or updates one of the
/// workspace's; a new token replaces the sealed one, `None` keeps it.
pub async fn upsert_whatsapp_number(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<i64>,
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
            let stored = channel_account(&mut *c, ws, WHATSAPP_CHANNEL, id).await?.ok_or(StoreError::NotFound)?;
            WhatsappNumberRecord::from_account(&stored)?.access_token_enc
        }
        (None, None) => String::new(),
    };
    let account = whatsapp_number_account(phone_number_id, display, &token, template_name, template_language);
    WhatsappNumberRecord::from_account(&save_channel_account(&mut *c, ws, id, &account, now).await?)
}

pub async fn list_whatsapp_numbers(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<WhatsappNumberRecord>> {
    channel_accounts(&mut *c, ws, WHATSAPP_CHANNEL).await?.iter().map(WhatsappNumberRecord::from_account).collect()
}

pub async fn delete_whatsapp_number(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    delete_channel_account(&mut *c, ws, WHATSAPP_CHANNEL, id).await
}

/// The number a notification names, in whichever workspace holds it (this is the routing step).
pub async fn whatsapp_number_by_phone_id(c: &mut Conn, phone_number_id: &str) -> Result<Option<WhatsappNumberRecord>> {
    channel_account_by_route(&mut *c, WHATSAPP_CHANNEL, phone_number_id)
        .await?
        .as_ref()
        .map(WhatsappNumberRecord::from_account)
        .transpose()
}

pub async fn insert_whatsapp_inbox(c: &mut Conn, body: &str, now: Millis) -> Result<i64> {
    Ok(sqlx::query_scalar("INSERT INTO whatsapp_inbox (body, received_at) VALUES ($1, $2) RETURNING id")
        .bind(body)
        .bind(now)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn whatsapp_inbox_by_id(c: &mut Conn, id: i64) -> Result<Option<WhatsappInboxRecord>> {
    Ok(sqlx::query_as("SELECT id, body, received_at, attempts, processed_at, note FROM whatsapp_inbox WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Unprocessed notifications received before `before`, oldest first.
pub async fn pending_whatsapp_inbox(c: &mut Conn, before: Millis, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM whatsapp_inbox WHERE processed_at IS NULL AND received_at <= $1 ORDER BY id LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Counts an attempt; once `done`, the notification is not picked up again.
pub async fn finish_whatsapp_inbox(c: &mut Conn, id: i64, done: bool, note: Option<&str>, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE whatsapp_inbox SET attempts = attempts + 1, note = $2, \
         processed_at = CASE WHEN $3 THEN $4 ELSE processed_at END WHERE id = $1",
    )
    .bind(id)
    .bind(note)
    .bind(done)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Records a message id as handled; false when it had been handled before.
pub async fn mark_whatsapp_message_seen(c: &mut Conn, ws: WorkspaceId, wamid: &str, now: Millis) -> Result<bool> {
    let seen = crate::NewChannelMessage {
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
    insert_channel_message(&mut *c, &seen).await
}

/// In any workspace: Meta's message ids are unique across its numbers.
pub async fn whatsapp_message_seen(c: &mut Conn, wamid: &str) -> Result<bool> {
    channel_message_known(&mut *c, WHATSAPP_CHANNEL, wamid).await
}

pub async fn whatsapp_conversation(
    c: &mut Conn,
    ws: WorkspaceId,
    wa_id: &str,
) -> Result<Option<WhatsappConversationRecord>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, wa_id, phone_number_id, step, subject, updated_at FROM whatsapp_conversations \
         WHERE workspace_id = $1 AND wa_id = $2",
    )
    .bind(ws)
    .bind(wa_id)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn save_whatsapp_conversation(
    c: &mut Conn,
    ws: WorkspaceId,
    wa_id: &str,
    phone_number_id: &str,
    step: &str,
    subject: Option<&str>,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO whatsapp_conversations (workspace_id, wa_id, phone_number_id, step, subject, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, wa_id) DO UPDATE SET \
         phone_number_id = excluded.phone_number_id, step = excluded.step, subject = excluded.subject, \
         updated_at = excluded.updated_at",
    )
    .bind(ws)
    .bind(wa_id)
    .bind(phone_number_id)
    .bind(step)
    .bind(subject)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Marks an outbound entry as a template message (name, language), in the entry's channel metadata.
pub async fn insert_whatsapp_template_entry(
    c: &mut Conn,
    ws: WorkspaceId,
    entry: EntryId,
    name: &str,
    language: &str,
) -> Result<()> {
    let meta = serde_json::json!({ "template_name": name, "template_language": language }).to_string();
    set_entry_channel_meta(&mut *c, ws, entry, &meta).await
}

pub async fn whatsapp_template_entry(c: &mut Conn, entry: EntryId) -> Result<Option<(String, String)>> {
    let Some(meta) = entry_channel_meta(&mut *c, entry).await? else { return Ok(None) };
    let meta: serde_json::Value = crate::email_records::decode_json(&meta)?;
    Ok(match (meta["template_name"].as_str(), meta["template_language"].as_str()) {
        (Some(n), Some(l)) => Some((n.to_string(), l.to_string())),
        _ => None,
    })
}

/// Deletes processed notifications and handled message ids older than `before`; returns the
/// number of rows removed.
pub async fn purge_whatsapp_inbox(c: &mut Conn, before: Millis) -> Result<u64> {
    let a = sqlx::query("DELETE FROM whatsapp_inbox WHERE processed_at IS NOT NULL AND processed_at < $1")
        .bind(before)
        .execute(&mut *c)
        .await?;
    let b = prune_channel_messages(&mut *c, WHATSAPP_CHANNEL, "seen", before).await?;
    Ok(a.rows_affected() + b)
}
