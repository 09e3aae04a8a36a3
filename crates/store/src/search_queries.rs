// The search index's reads, included next to queries.rs in both dialect modules (see lib.rs):
// the rows a ticket's search document is built from, tickets in id order for a rebuild, and the
// head of the event stream a rebuild starts the index's cursor from.

use crate::search_records::*;

/// The tickets among `ids` that exist, with their requester (any workspace: the indexer follows
/// the event stream of all of them).
pub async fn ticket_search_rows(c: &mut Conn, ids: &[TicketId]) -> Result<Vec<TicketSearchRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new(
        "SELECT t.id, t.workspace_id, t.requester_id, t.subject, t.tags, c.name AS requester_name, \
         c.email AS requester_email, t.updated_at FROM tickets t JOIN contacts c ON c.id = t.requester_id \
         WHERE t.id IN (",
    );
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(") ORDER BY t.id");
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// Every entry of these tickets, oldest first per ticket.
pub async fn entry_search_rows(c: &mut Conn, ids: &[TicketId]) -> Result<Vec<EntrySearchRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Db>::new("SELECT ticket_id, kind, body FROM entries WHERE ticket_id IN (");
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    q.push(") ORDER BY ticket_id, id");
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// Up to `limit` ticket ids after `after`, in id order, across workspaces: a rebuild's pages.
pub async fn ticket_ids_after(c: &mut Conn, after: TicketId, limit: i64) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE id > $1 ORDER BY id LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?)
}

/// One workspace's ticket ids after `after` in id order (a workspace's re-index).
pub async fn workspace_ticket_ids_after(
    c: &mut Conn,
    ws: WorkspaceId,
    after: TicketId,
    limit: i64,
) -> Result<Vec<TicketId>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3")
        .bind(ws)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?)
}

/// How many tickets one workspace has (a workspace re-index's progress).
pub async fn count_workspace_tickets(c: &mut Conn, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1").bind(ws).fetch_one(&mut *c).await?)
}

/// How many tickets there are, across workspaces (a rebuild's progress bar).
pub async fn count_all_tickets(c: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(&mut *c).await?)
}

/// The newest position of the event stream that no running transaction can still precede (see
/// `events_after`): a rebuild that reads the database after taking it sees every change up to
/// it, and the indexer goes on from it.
pub async fn stream_head(c: &mut Conn) -> Result<StreamPosition> {
    let v: Option<(i64, i64)> = if DIALECT == Dialect::Postgres {
        sqlx::query_as(
            "SELECT tx_id, id FROM events WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY tx_id DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&mut *c)
        .await?
    } else {
        sqlx::query_as("SELECT 0, id FROM events ORDER BY id DESC LIMIT 1").fetch_optional(&mut *c).await?
    };
    Ok(v.map(|(tx_id, id)| StreamPosition { tx_id, id: EventId(id) }).unwrap_or_default())
}

/// Whether a named cursor has ever been stored (a new search index has none: it is rebuilt).
pub async fn stream_cursor_exists(c: &mut Conn, name: &str) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stream_cursors WHERE name = $1").bind(name).fetch_one(&mut *c).await?;
    Ok(n > 0)
}

/// The tickets among `f.ids` that every other filter of `f` lets through (in no order): how the
/// search engine's matches are narrowed by status, queue, assignee and the rest.
pub async fn matching_ticket_ids(c: &mut Conn, f: &TicketQuery) -> Result<Vec<TicketId>> {
    let mut q = QueryBuilder::<Db>::new("SELECT t.id FROM tickets t");
    push_ticket_filters(&mut q, f, true, false);
    Ok(q.build_query_scalar().fetch_all(&mut *c).await?)
}

/// How many events lie after `after`, committed or not yet visible to stream readers: what an
/// event consumer still has to read.
pub async fn events_behind(c: &mut Conn, after: StreamPosition) -> Result<i64> {
    let n: i64 = if DIALECT == Dialect::Postgres {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE (tx_id, id) > ($1, $2)")
            .bind(after.tx_id)
            .bind(after.id)
            .fetch_one(&mut *c)
            .await?
    } else {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE id > $1").bind(after.id).fetch_one(&mut *c).await?
    };
    Ok(n)
}
