// Queries for entries (replies, notes), their mentions and attachments. Included in both dialect
// modules after queries.rs (see lib.rs).

// author_label: the name a channel gave a staff author who has no staff account (migration 0018).
const ENTRY_SELECT: &str = "SELECT e.id, e.ticket_id, e.kind, e.author_user_id, e.author_contact_id, \
     COALESCE(u.name, c.name, e.author_label) AS author_name, e.channel, e.external_message_id, e.body, \
     e.delivery_status, e.delivery_error, e.created_at FROM entries e LEFT JOIN users u ON u.id = e.author_user_id \
     LEFT JOIN contacts c ON c.id = e.author_contact_id";

pub async fn insert_entry(c: &mut Conn, e: &NewEntry) -> Result<EntryId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO entries (workspace_id, ticket_id, kind, author_user_id, author_contact_id, channel, \
         external_message_id, body, delivery_status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(e.workspace_id)
    .bind(e.ticket_id)
    .bind(e.kind.as_str())
    .bind(e.author_user_id)
    .bind(e.author_contact_id)
    .bind(e.channel.as_str())
    .bind(&e.external_message_id)
    .bind(&e.body)
    .bind(e.delivery_status.map(DeliveryStatus::as_str))
    .bind(e.created_at)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn entry_by_id(c: &mut Conn, ws: WorkspaceId, id: EntryId) -> Result<Option<EntryRecord>> {
    Ok(sqlx::query_as(sqlf!("{ENTRY_SELECT} WHERE e.workspace_id = $1 AND e.id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn entry_by_external_id(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: Channel,
    external_id: &str,
) -> Result<Option<EntryRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "{ENTRY_SELECT} WHERE e.workspace_id = $1 AND e.channel = $2 AND e.external_message_id = $3"
    ))
    .bind(ws)
    .bind(channel.as_str())
    .bind(external_id)
    .fetch_optional(&mut *c)
    .await?)
}

/// A ticket's thread, oldest first; `public_only` leaves out internal notes and system entries.
pub async fn list_entries(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    public_only: bool,
) -> Result<Vec<EntryRecord>> {
    let filter = if public_only { " AND e.kind = 'reply'" } else { "" };
    Ok(sqlx::query_as(sqlf!("{ENTRY_SELECT} WHERE e.workspace_id = $1 AND e.ticket_id = $2{filter} ORDER BY e.id"))
        .bind(ws)
        .bind(ticket)
        .fetch_all(&mut *c)
        .await?)
}

/// The body of a ticket's first public entry: the requester's opening message, which routing reads.
pub async fn opening_entry_body(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT body FROM entries WHERE workspace_id = $1 AND ticket_id = $2 AND kind = 'reply' ORDER BY id LIMIT 1",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn has_staff_reply(c: &mut Conn, ticket: TicketId) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM entries WHERE ticket_id = $1 AND kind = 'reply' AND author_user_id IS NOT NULL",
    )
    .bind(ticket)
    .fetch_one(&mut *c)
    .await?
        > 0)
}

pub async fn insert_mentions(c: &mut Conn, ws: WorkspaceId, entry: EntryId, users: &[UserId]) -> Result<()> {
    for u in users {
        sqlx::query(
            "INSERT INTO entry_mentions (entry_id, user_id, workspace_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(entry)
        .bind(*u)
        .bind(ws)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub async fn mentions_of_entries(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<(EntryId, UserId)>> {
    Ok(sqlx::query_as(
        "SELECT m.entry_id, m.user_id FROM entry_mentions m JOIN entries e ON e.id = m.entry_id \
         WHERE m.workspace_id = $1 AND e.ticket_id = $2 ORDER BY m.entry_id",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn insert_attachment(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    entry: EntryId,
    file_name: &str,
    content_type: &str,
    size: i64,
    sha256: &str,
    now: Millis,
) -> Result<AttachmentId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO attachments (workspace_id, ticket_id, entry_id, file_name, content_type, size_bytes, sha256, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(ws)
    .bind(ticket)
    .bind(entry)
    .bind(file_name)
    .bind(content_type)
    .bind(size)
    .bind(sha256)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn list_attachments(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<AttachmentRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, ticket_id, entry_id, file_name, content_type, size_bytes, sha256, created_at \
         FROM attachments WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn attachment_by_id(c: &mut Conn, ws: WorkspaceId, id: AttachmentId) -> Result<Option<AttachmentRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, ticket_id, entry_id, file_name, content_type, size_bytes, sha256, created_at \
         FROM attachments WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?)
}
