// WhatsApp channel queries, included next to queries.rs in both dialect modules (see lib.rs).

use crate::whatsapp_records::*;

const WA_NUMBER_COLUMNS: &str = "id, workspace_id, phone_number_id, display_phone_number, access_token_enc, \
     template_name, template_language, created_at, updated_at";

/// Creates a number, or updates one of the workspace's; a new token replaces the sealed one,
/// `None` keeps it.
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
    match id {
        Some(id) => Ok(sqlx::query_as(sqlf!(
            "UPDATE whatsapp_numbers SET phone_number_id = $3, display_phone_number = $4, \
             access_token_enc = COALESCE($5, access_token_enc), template_name = $6, template_language = $7, \
             updated_at = $8 WHERE workspace_id = $1 AND id = $2 RETURNING {WA_NUMBER_COLUMNS}"
        ))
        .bind(ws)
        .bind(id)
        .bind(phone_number_id)
        .bind(display)
        .bind(token_enc)
        .bind(template_name)
        .bind(template_language)
        .bind(now)
        .fetch_one(&mut *c)
        .await?),
        None => Ok(sqlx::query_as(sqlf!(
            "INSERT INTO whatsapp_numbers (workspace_id, phone_number_id, display_phone_number, access_token_enc, \
             template_name, template_language, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             RETURNING {WA_NUMBER_COLUMNS}"
        ))
        .bind(ws)
        .bind(phone_number_id)
        .bind(display)
        .bind(token_enc.unwrap_or_default())
        .bind(template_name)
        .bind(template_language)
        .bind(now)
        .fetch_one(&mut *c)
        .await?),
    }
}

pub async fn list_whatsapp_numbers(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<WhatsappNumberRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {WA_NUMBER_COLUMNS} FROM whatsapp_numbers WHERE workspace_id = $1 ORDER BY id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

pub async fn delete_whatsapp_number(c: &mut Conn, ws: WorkspaceId, id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM whatsapp_numbers WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The number a notification names, in whichever workspace holds it (this is the routing step).
pub async fn whatsapp_number_by_phone_id(c: &mut Conn, phone_number_id: &str) -> Result<Option<WhatsappNumberRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {WA_NUMBER_COLUMNS} FROM whatsapp_numbers WHERE phone_number_id = $1"))
        .bind(phone_number_id)
        .fetch_optional(&mut *c)
        .await?)
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
    let r = sqlx::query(
        "INSERT INTO whatsapp_seen_messages (wamid, workspace_id, seen_at) \
         VALUES ($1, $2, $3) ON CONFLICT (wamid) DO NOTHING",
    )
    .bind(wamid)
    .bind(ws)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn whatsapp_message_seen(c: &mut Conn, wamid: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM whatsapp_seen_messages WHERE wamid = $1")
        .bind(wamid)
        .fetch_one(&mut *c)
        .await?;
    Ok(n > 0)
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

/// Marks an outbound entry as a template message (name, language).
pub async fn insert_whatsapp_template_entry(c: &mut Conn, entry: EntryId, name: &str, language: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO whatsapp_template_entries (entry_id, template_name, template_language) VALUES ($1, $2, $3)",
    )
    .bind(entry)
    .bind(name)
    .bind(language)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn whatsapp_template_entry(c: &mut Conn, entry: EntryId) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as("SELECT template_name, template_language FROM whatsapp_template_entries WHERE entry_id = $1")
        .bind(entry)
        .fetch_optional(&mut *c)
        .await?)
}

/// Deletes processed notifications and handled message ids older than `before`; returns the
/// number of rows removed.
pub async fn purge_whatsapp_inbox(c: &mut Conn, before: Millis) -> Result<u64> {
    let a = sqlx::query("DELETE FROM whatsapp_inbox WHERE processed_at IS NOT NULL AND processed_at < $1")
        .bind(before)
        .execute(&mut *c)
        .await?;
    let b = sqlx::query("DELETE FROM whatsapp_seen_messages WHERE seen_at < $1").bind(before).execute(&mut *c).await?;
    Ok(a.rows_affected() + b.rows_affected())
}
