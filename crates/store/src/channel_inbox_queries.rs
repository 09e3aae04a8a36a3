// A channel's durable inbox, the names it gives authors (migration 0018) and the tickets whose
// conversations a channel keeps in step (archived on close, closed when gone), included next to
// queries.rs in both dialect modules (see lib.rs), after channel_queries.rs (whose imports it
// shares). Nothing here names a channel.

/// Names an entry's author as the channel did, for staff without a staff account.
pub async fn set_entry_author_label(c: &mut Conn, ws: WorkspaceId, entry: EntryId, label: &str) -> Result<()> {
    sqlx::query("UPDATE entries SET author_label = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(entry)
        .bind(label)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Stores an event in the channel's inbox; `None` when one with the same key is there already.
pub async fn insert_channel_inbox(
    c: &mut Conn,
    channel: &str,
    key: &str,
    payload: &str,
    now: Millis,
) -> Result<Option<ChannelInboxId>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO channel_inbox (channel, external_key, payload, received_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel, external_key) DO NOTHING RETURNING id",
    )
    .bind(channel)
    .bind(key)
    .bind(payload)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?)
}

const INBOX_COLUMNS: &str = "id, channel, external_key, payload, received_at, processed_at, attempts, note";

/// An inbox row by id.
pub async fn channel_inbox_row(c: &mut Conn, id: ChannelInboxId) -> Result<Option<ChannelInboxRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {INBOX_COLUMNS} FROM channel_inbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// The channel's unprocessed events received before `before`, oldest first.
pub async fn pending_channel_inbox(
    c: &mut Conn,
    channel: &str,
    before: Millis,
    limit: i64,
) -> Result<Vec<ChannelInboxId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM channel_inbox WHERE channel = $1 AND processed_at IS NULL AND received_at < $2 \
         ORDER BY id LIMIT $3",
    )
    .bind(channel)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Marks an event processed (`done`), or counts a failed attempt; `note` says why.
pub async fn finish_channel_inbox(
    c: &mut Conn,
    id: ChannelInboxId,
    done: bool,
    note: Option<&str>,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE channel_inbox SET attempts = attempts + 1, note = $3, \
         processed_at = CASE WHEN $2 THEN $4 ELSE processed_at END WHERE id = $1",
    )
    .bind(id)
    .bind(done)
    .bind(note)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Deletes a channel's processed events older than `before`.
pub async fn prune_channel_inbox(c: &mut Conn, channel: &str, before: Millis) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM channel_inbox WHERE channel = $1 AND processed_at IS NOT NULL AND received_at < $2")
        .bind(channel)
        .bind(before)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

/// Closed tickets of `channel` that still hold their conversation key (a chat room the channel
/// has not yet archived and deleted), oldest first, across workspaces.
pub async fn closed_tickets_with_thread(
    c: &mut Conn,
    channel: &str,
    limit: i64,
) -> Result<Vec<(WorkspaceId, TicketId, String)>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, id, thread_key FROM tickets \
         WHERE channel = $1 AND status = 'closed' AND thread_key IS NOT NULL ORDER BY id LIMIT $2",
    )
    .bind(channel)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

/// Open tickets of `channel` with a conversation key, across workspaces (to check that their
/// channels still exist).
pub async fn open_tickets_with_thread(
    c: &mut Conn,
    channel: &str,
    after: TicketId,
    limit: i64,
) -> Result<Vec<(WorkspaceId, TicketId, String)>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, id, thread_key FROM tickets \
         WHERE channel = $1 AND status <> 'closed' AND thread_key IS NOT NULL AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(channel)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}
