// Queries for domain events and the event stream that webhooks and automation read. Included in
// both dialect modules after queries.rs (see lib.rs).

pub async fn insert_event(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: Option<TicketId>,
    kind: EventKind,
    payload: &serde_json::Value,
    now: Millis,
) -> Result<EventId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO events (workspace_id, ticket_id, kind, payload, created_at) \
                           VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(ws)
    .bind(ticket)
    .bind(kind.as_str())
    .bind(payload.to_string())
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn list_events(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT kind, payload FROM events WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id")
        .bind(ws)
        .bind(ticket)
        .fetch_all(&mut *c)
        .await?)
}

/// Events after `after` in stream order, only those no transaction still running can precede.
///
/// PostgreSQL assigns an event's id when it is inserted, not when its transaction commits, so
/// "id > cursor" would skip an event committed after a newer one was read. We use transaction-id
/// visibility instead: each event carries the id of the transaction that wrote it (`tx_id`), the
/// stream is ordered by (tx_id, id), and a read takes only events whose transaction is older than
/// the oldest one still running (`pg_snapshot_xmin` of this statement's snapshot). Every such
/// transaction has ended, so its events are all visible now or never will be; every transaction
/// that commits later has a tx_id at or above that horizon, so its events sort after anything
/// handed out. Writers pay nothing (no lock, no extra statement). The price is latency: a long
/// write transaction anywhere on the server holds back events written after it began until it
/// ends. An insert lock serializing event writers until commit was the alternative; it would make
/// every ticket change in a busy helpdesk wait on every other one's commit.
/// SQLite runs one write transaction at a time, so its event ids are in commit order already.
pub async fn events_after(c: &mut Conn, after: StreamPosition, limit: i64) -> Result<Vec<EventRecord>> {
    const COLUMNS: &str = "SELECT id, workspace_id, ticket_id, kind, payload, created_at, tx_id FROM events";
    let rows = if DIALECT == Dialect::Postgres {
        sqlx::query_as(sqlf!(
            "{COLUMNS} WHERE (tx_id, id) > ($1, $2) \
             AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint ORDER BY tx_id, id LIMIT $3"
        ))
        .bind(after.tx_id)
        .bind(after.id)
        .bind(limit)
        .fetch_all(&mut *c)
        .await?
    } else {
        sqlx::query_as(sqlf!("{COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after.id)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
    };
    Ok(rows)
}

/// A named position in the event stream; the start when never stored.
pub async fn stream_cursor(c: &mut Conn, name: &str) -> Result<StreamPosition> {
    let v: Option<(i64, i64)> = sqlx::query_as("SELECT tx_id, position FROM stream_cursors WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *c)
        .await?;
    Ok(v.map(|(tx_id, id)| StreamPosition { tx_id, id: EventId(id) }).unwrap_or_default())
}

/// The cursor, held until the transaction ends (PostgreSQL; SQLite's single writer already
/// serializes readers of it), so two dispatchers never hand out the same events.
pub async fn lock_stream_cursor(c: &mut Conn, name: &str) -> Result<StreamPosition> {
    if DIALECT == Dialect::Sqlite {
        return stream_cursor(c, name).await;
    }
    sqlx::query("INSERT INTO stream_cursors (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .execute(&mut *c)
        .await?;
    let (tx_id, id): (i64, i64) =
        sqlx::query_as("SELECT tx_id, position FROM stream_cursors WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_one(&mut *c)
            .await?;
    Ok(StreamPosition { tx_id, id: EventId(id) })
}

pub async fn set_stream_cursor(c: &mut Conn, name: &str, position: StreamPosition) -> Result<()> {
    sqlx::query(
        "INSERT INTO stream_cursors (name, position, tx_id) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, tx_id = excluded.tx_id",
    )
    .bind(name)
    .bind(position.id)
    .bind(position.tx_id)
    .execute(&mut *c)
    .await?;
    Ok(())
}
