// Queries for a ticket's history (the audit trail of its changes). Included in both dialect modules
// after queries.rs (see lib.rs).

pub async fn insert_history(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    actor_user: Option<UserId>,
    actor_contact: Option<ContactId>,
    actor_label: &str,
    changes: &[NewHistory],
    now: Millis,
) -> Result<()> {
    for h in changes {
        sqlx::query(
            "INSERT INTO ticket_history (workspace_id, ticket_id, actor_user_id, actor_contact_id, actor_label, field, \
             old_value, new_value, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(ws)
        .bind(ticket)
        .bind(actor_user)
        .bind(actor_contact)
        .bind(actor_label)
        .bind(h.field)
        .bind(&h.old_value)
        .bind(&h.new_value)
        .bind(now)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub async fn list_history(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<HistoryRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, ticket_id, actor_user_id, actor_contact_id, actor_label, field, old_value, new_value, created_at \
         FROM ticket_history WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_all(&mut *c)
    .await?)
}
