// Queries for bulk import (contacts and tickets, for loads and benchmarks). Included in both
// dialect modules after queries.rs (see lib.rs).

/// Inserts contacts by email in one statement, returning (email, id) for all of them.
pub async fn import_contacts(
    c: &mut Conn,
    ws: WorkspaceId,
    emails: &[String],
    now: Millis,
) -> Result<Vec<(String, ContactId)>> {
    let mut out = Vec::with_capacity(emails.len());
    for chunk in emails.chunks(1000) {
        let mut q =
            QueryBuilder::<Db>::new("INSERT INTO contacts (workspace_id, name, email, requester_type, created_at) ");
        q.push_values(chunk, |mut b, e| {
            b.push_bind(ws).push_bind(e.clone()).push_bind(e.clone()).push_bind("manual").push_bind(now);
        });
        q.push(" RETURNING email, id");
        let rows: Vec<(String, ContactId)> = q.build_query_as().fetch_all(&mut *c).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Inserts tickets with their first entry, 500 to a statement, and moves the workspace's
/// ticket counter past them. No history or events: this is a load, not a change.
pub async fn import_tickets(c: &mut Conn, ws: WorkspaceId, tickets: &[ImportedTicket]) -> Result<()> {
    for chunk in tickets.chunks(500) {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO tickets (workspace_id, number, subject, status, priority, source, queue_id, requester_id, \
             thread_key, sla_due_at, sla_started_at, resolved_at, closed_at, close_reason, created_at, updated_at, \
             resolution_due_at, sla_next_check_at, channel) ",
        );
        q.push_values(chunk, |mut b, t| {
            let finished = (!t.status.is_active()).then_some(t.created_at + 3_600_000);
            let closed = (t.status == TicketStatus::Closed).then_some(t.created_at + 3_600_000);
            b.push_bind(ws)
                .push_bind(t.number)
                .push_bind(t.subject.clone())
                .push_bind(t.status.as_str())
                .push_bind(t.priority.as_str())
                .push_bind(t.source.as_str())
                .push_bind(t.queue_id)
                .push_bind(t.requester_id)
                .push_bind(t.thread_key.clone())
                .push_bind(t.sla_due_at)
                .push_bind(t.sla_due_at.map(|_| t.created_at))
                .push_bind(finished)
                .push_bind(closed)
                .push_bind(closed.map(|_| "resolved"))
                .push_bind(t.created_at)
                .push_bind(t.created_at)
                // An import knows one target: the due time it brings is the resolution target.
                .push_bind(t.sla_due_at)
                .push_bind(t.sla_due_at)
                .push_bind(Channel::for_source(t.source).as_str());
        });
        q.push(" RETURNING id, number");
        let ids: Vec<(TicketId, i64)> = q.build_query_as().fetch_all(&mut *c).await?;
        let by_number: std::collections::HashMap<i64, TicketId> = ids.into_iter().map(|(id, n)| (n, id)).collect();
        let mut e = QueryBuilder::<Db>::new(
            "INSERT INTO entries (workspace_id, ticket_id, kind, author_contact_id, channel, body, created_at) ",
        );
        e.push_values(chunk, |mut b, t| {
            b.push_bind(ws)
                .push_bind(by_number.get(&t.number).copied())
                .push_bind("reply")
                .push_bind(t.requester_id)
                .push_bind(Channel::for_source(t.source).as_str())
                .push_bind(t.description.clone())
                .push_bind(t.created_at);
        });
        e.build().execute(&mut *c).await?;
    }
    if let Some(max) = tickets.iter().map(|t| t.number).max() {
        sqlx::query("UPDATE workspaces SET next_ticket_number = $2 WHERE id = $1 AND next_ticket_number <= $2")
            .bind(ws)
            .bind(max + 1)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}
