// Queries for tickets: create, load (and lock), save, and the filtered ticket list with its counts.
// Included in both dialect modules after queries.rs (see lib.rs).

const TICKET_COLUMNS: &str = "SELECT t.id, t.workspace_id, t.number, w.ticket_prefix, t.subject, t.status, t.priority, \
     t.source, t.queue_id, q.name AS queue_name, t.help_topic_id, h.name AS help_topic_name, t.requester_id, \
     c.name AS requester_name, c.email AS requester_email, t.assignee_id, u.name AS assignee_name, t.tags, \
     t.escalated, t.chat_originated, t.thread_key, t.first_response_due_at, t.resolution_due_at, t.sla_due_at, \
     t.sla_started_at, t.first_responded_at, t.resolved_at, t.closed_at, t.close_reason, t.close_note, \
     t.csat_rating, t.csat_comment, t.sla_policy_id, t.sla_paused_at, t.sla_paused_minutes, t.last_message_at, \
     t.last_customer_message_at, \
     t.stale_nudged_at, t.auto_close_warned_at, t.channel, t.channel_account_id, t.created_at, t.updated_at";

/// The joins that give a ticket row its display names; `t` may be the table or a page of it.
const TICKET_JOINS: &str = match DIALECT {
    Dialect::Sqlite => {
        " JOIN workspaces w ON w.id = t.workspace_id JOIN queues q ON q.id = t.queue_id \
         JOIN contacts c ON c.id = t.requester_id LEFT JOIN users u ON u.id = t.assignee_id \
         LEFT JOIN help_topics h ON h.id = t.help_topic_id"
    }
    // PostgreSQL joined a page of 25 tickets to its contacts, users and help topics by hashing
    // whole tables (every contact read per page, 2.3 ms at 5,000 contacts and growing with them).
    // A lateral lookup with LIMIT cannot be flattened into a join, so each of the page's rows
    // takes one primary-key probe per name instead, whatever the tables' sizes.
    Dialect::Postgres => {
        " JOIN workspaces w ON w.id = t.workspace_id JOIN queues q ON q.id = t.queue_id \
         CROSS JOIN LATERAL (SELECT name, email FROM contacts WHERE id = t.requester_id LIMIT 1) c \
         LEFT JOIN LATERAL (SELECT name FROM users WHERE id = t.assignee_id LIMIT 1) u ON TRUE \
         LEFT JOIN LATERAL (SELECT name FROM help_topics WHERE id = t.help_topic_id LIMIT 1) h ON TRUE"
    }
};

/// Binds a new ticket's columns from `$3` on (see `insert_ticket`).
macro_rules! bind_new_ticket {
    ($q:expr, $t:expr) => {
        $q.bind(&$t.subject)
            .bind($t.status.as_str())
            .bind($t.priority.as_str())
            .bind($t.source.as_str())
            .bind($t.queue_id)
            .bind($t.help_topic_id)
            .bind($t.requester_id)
            .bind($t.assignee_id)
            .bind($t.escalated)
            .bind($t.chat_originated)
            .bind(&$t.thread_key)
            .bind($t.resolution_due_at)
            .bind($t.created_at)
            .bind($t.tags.join(","))
            .bind($t.sla_due_at)
            .bind($t.first_response_due_at)
            .bind($t.sla_policy_id)
            .bind($t.channel.as_str())
    };
}

/// Inserts a ticket under the workspace's next number and returns it as `ticket_by_id` reads it.
pub async fn insert_ticket(c: &mut Conn, t: &NewTicket) -> Result<TicketRecord> {
    const INSERT: &str = "INSERT INTO tickets (workspace_id, number, subject, status, priority, source, queue_id, \
         help_topic_id, requester_id, assignee_id, escalated, chat_originated, thread_key, resolution_due_at, \
         sla_due_at, sla_started_at, created_at, updated_at, tags, first_response_due_at, sla_policy_id, \
         last_message_at, last_customer_message_at, sla_next_check_at, channel)";
    const VALUES: &str =
        "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $17, $15, $15, $15, $16, $18, $19, $15, $15, $17, $20";
    match DIALECT {
        // One statement: the number from the workspace's sequence (nextval takes no row lock, so
        // concurrent creates do not wait for each other's commits; see migrations/postgres/0013)
        // and the row read back with its names.
        Dialect::Postgres => {
            let q = sqlx::query_as(sqlf!(
                "WITH t AS ({INSERT} VALUES ($1, nextval($2::regclass), {VALUES}) RETURNING *) \
                 {TICKET_COLUMNS} FROM t{TICKET_JOINS}"
            ))
            .bind(t.workspace_id)
            .bind(format!("ticket_numbers_{}", t.workspace_id.0));
            Ok(bind_new_ticket!(q, t).fetch_one(&mut *c).await?)
        }
        // SQLite has no INSERT inside WITH: take the number, insert, read the row back.
        Dialect::Sqlite => {
            let number = take_ticket_number(&mut *c, t.workspace_id).await?;
            let q = sqlx::query_scalar(sqlf!("{INSERT} VALUES ($1, $2, {VALUES}) RETURNING id"))
                .bind(t.workspace_id)
                .bind(number);
            let id: TicketId = bind_new_ticket!(q, t).fetch_one(&mut *c).await?;
            ticket_by_id(&mut *c, t.workspace_id, id, false).await?.ok_or(StoreError::NotFound)
        }
    }
}

/// Writes every mutable column of `t` (the desk changes a record in memory, then saves it).
pub async fn save_ticket(c: &mut Conn, t: &TicketRecord) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET subject = $3, status = $4, priority = $5, queue_id = $6, help_topic_id = $7, \
         assignee_id = $8, tags = $9, escalated = $10, first_response_due_at = $11, resolution_due_at = $12, \
         sla_due_at = $13, sla_started_at = $14, first_responded_at = $15, resolved_at = $16, closed_at = $17, \
         close_reason = $18, close_note = $19, csat_rating = $20, csat_comment = $21, updated_at = $22, \
         sla_policy_id = $23, sla_paused_at = $24, sla_paused_minutes = $25, last_message_at = $26, \
         last_customer_message_at = $27, stale_nudged_at = $28, auto_close_warned_at = $29, \
         sla_next_check_at = CASE WHEN (sla_due_at = $13) IS NOT TRUE THEN $13 ELSE sla_next_check_at END \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(t.workspace_id)
    .bind(t.id)
    .bind(&t.subject)
    .bind(t.status.as_str())
    .bind(t.priority.as_str())
    .bind(t.queue_id)
    .bind(t.help_topic_id)
    .bind(t.assignee_id)
    .bind(&t.tags)
    .bind(t.escalated)
    .bind(t.first_response_due_at)
    .bind(t.resolution_due_at)
    .bind(t.sla_due_at)
    .bind(t.sla_started_at)
    .bind(t.first_responded_at)
    .bind(t.resolved_at)
    .bind(t.closed_at)
    .bind(&t.close_reason)
    .bind(&t.close_note)
    .bind(t.csat_rating)
    .bind(&t.csat_comment)
    .bind(t.updated_at)
    .bind(t.sla_policy_id)
    .bind(t.sla_paused_at)
    .bind(t.sla_paused_minutes)
    .bind(t.last_message_at)
    .bind(t.last_customer_message_at)
    .bind(t.stale_nudged_at)
    .bind(t.auto_close_warned_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn replace_ticket_tags(c: &mut Conn, ws: WorkspaceId, ticket: TicketId, tags: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1").bind(ticket).execute(&mut *c).await?;
    for tag in tags {
        sqlx::query("INSERT INTO ticket_tags (ticket_id, workspace_id, tag) VALUES ($1, $2, $3)")
            .bind(ticket)
            .bind(ws)
            .bind(tag)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Locks a ticket loaded to be changed (`lock`) until the transaction ends, on PostgreSQL; SQLite
/// needs nothing, its write transactions running one at a time. NO KEY UPDATE is the lock an
/// UPDATE of the ticket takes anyway (taken at the read instead of the write, so a second writer
/// waits and then reads the first one's result); unlike FOR UPDATE it lets other transactions
/// insert entries and history that reference the ticket meanwhile. The lock is its own statement:
/// a locking SELECT that waited re-reads the locked row but not the rows joined to it (the
/// assignee's name would still be the old one), while the next statement of a READ COMMITTED
/// transaction reads everything as committed.
async fn lock_ticket(c: &mut Conn, ws: WorkspaceId, by: &str, key: i64, lock: bool) -> Result<bool> {
    if !lock || DIALECT == Dialect::Sqlite {
        return Ok(true);
    }
    let found: Option<i64> =
        sqlx::query_scalar(sqlf!("SELECT id FROM tickets WHERE workspace_id = $1 AND {by} = $2 FOR NO KEY UPDATE"))
            .bind(ws)
            .bind(key)
            .fetch_optional(&mut *c)
            .await?;
    Ok(found.is_some())
}

pub async fn ticket_by_id(c: &mut Conn, ws: WorkspaceId, id: TicketId, lock: bool) -> Result<Option<TicketRecord>> {
    if !lock_ticket(c, ws, "id", id.0, lock).await? {
        return Ok(None);
    }
    Ok(sqlx::query_as(sqlf!("{TICKET_COLUMNS} FROM tickets t{TICKET_JOINS} WHERE t.workspace_id = $1 AND t.id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn ticket_by_number(c: &mut Conn, ws: WorkspaceId, number: i64, lock: bool) -> Result<Option<TicketRecord>> {
    if !lock_ticket(c, ws, "number", number, lock).await? {
        return Ok(None);
    }
    Ok(sqlx::query_as(sqlf!(
        "{TICKET_COLUMNS} FROM tickets t{TICKET_JOINS} WHERE t.workspace_id = $1 AND t.number = $2"
    ))
    .bind(ws)
    .bind(number)
    .fetch_optional(&mut *c)
    .await?)
}

pub async fn ticket_id_by_thread_key(c: &mut Conn, ws: WorkspaceId, key: &str) -> Result<Option<TicketId>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND thread_key = $2")
        .bind(ws)
        .bind(key)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn clear_thread_key(c: &mut Conn, ws: WorkspaceId, id: TicketId) -> Result<()> {
    sqlx::query("UPDATE tickets SET thread_key = NULL WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

fn like_pattern(text: &str) -> String {
    let escaped = text.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

// SQLite's LIKE already ignores ASCII case; PostgreSQL needs ILIKE for the same behaviour.
const LIKE: &str = match DIALECT {
    Dialect::Sqlite => "LIKE",
    Dialect::Postgres => "ILIKE",
};

/// Whether SQLite's trigram index can answer the text filter: plain text of three or more
/// characters (the index is read only through its own table, and only for such patterns).
fn trigram_search(f: &TicketQuery) -> bool {
    DIALECT == Dialect::Sqlite
        && f.text.as_deref().map(str::trim).is_some_and(|t| t.chars().count() >= 3 && !t.contains(['%', '_', '\\']))
}

/// `counting`: the query reads every match (a total), not the newest few.
fn push_ticket_filters(q: &mut QueryBuilder<Db>, f: &TicketQuery, with_status: bool, counting: bool) {
    // A total over a text search should start from the trigram matches. Without statistics
    // (a fresh database) SQLite's planner would rather walk the workspace's whole index and
    // probe each row against the matches; the unary + takes that index out of the running.
    // A page of the newest matches is better served by that walk, so pages keep it.
    let ws = if counting && trigram_search(f) { " WHERE +t.workspace_id = " } else { " WHERE t.workspace_id = " };
    q.push(ws).push_bind(f.workspace_id);
    if let Some(queue) = f.queue_id {
        q.push(" AND t.queue_id = ").push_bind(queue);
    }
    if let Some(ids) = &f.ids {
        q.push(" AND t.id IN (NULL");
        for id in ids {
            q.push(", ").push_bind(*id);
        }
        q.push(")");
    }
    if with_status && !f.statuses.is_empty() {
        // The open set has its own indexed column, so the queue views read one index range in order.
        if f.statuses.len() == TicketStatus::ACTIVE.len() && TicketStatus::ACTIVE.iter().all(|s| f.statuses.contains(s))
        {
            q.push(" AND t.active = TRUE");
        } else {
            q.push(" AND t.status IN (");
            let mut sep = q.separated(", ");
            for s in &f.statuses {
                sep.push_bind(s.as_str());
            }
            q.push(")");
        }
    }
    if !f.priorities.is_empty() {
        q.push(" AND t.priority IN (");
        let mut sep = q.separated(", ");
        for p in &f.priorities {
            sep.push_bind(p.as_str());
        }
        q.push(")");
    }
    match f.assignee {
        AssigneeFilter::Any => {}
        AssigneeFilter::Unassigned => {
            q.push(" AND t.assignee_id IS NULL");
        }
        AssigneeFilter::User(u) => {
            q.push(" AND t.assignee_id = ").push_bind(u);
        }
    }
    if let Some(h) = f.help_topic_id {
        q.push(" AND t.help_topic_id = ").push_bind(h);
    }
    if let Some(r) = f.requester_id {
        q.push(" AND t.requester_id = ").push_bind(r);
    }
    if let Some(e) = f.escalated {
        q.push(" AND t.escalated = ").push_bind(e);
    }
    if let Some(awaiting) = f.awaiting {
        // Whose turn it is, from the two message stamps the desk writes: a customer's message,
        // and the description a ticket opens with (also when staff open it on a customer's
        // behalf), sets last_message_at and last_customer_message_at to the same time; a staff
        // public reply sets only last_message_at; notes and automatic messages set neither. So
        // staff spoke last exactly when last_message_at is the later (a tie within a millisecond
        // is the customer's). Tickets older than the stamps (0004 left them NULL) read created_at
        // for the customer's and, with no message since, are staff's turn.
        let staff_spoke_last =
            " COALESCE(t.last_message_at > COALESCE(t.last_customer_message_at, t.created_at), FALSE)";
        q.push(" AND t.active = TRUE");
        match awaiting {
            Awaiting::Staff => {
                q.push(" AND t.status <> ").push_bind(TicketStatus::Waiting.as_str());
                q.push(" AND NOT").push(staff_spoke_last);
            }
            Awaiting::Customer => {
                q.push(" AND (t.status = ").push_bind(TicketStatus::Waiting.as_str());
                q.push(" OR").push(staff_spoke_last).push(")");
            }
        }
    }
    if let Some(tag) = &f.tag {
        q.push(" AND EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.ticket_id = t.id AND tt.tag = ")
            .push_bind(tag.clone())
            .push(")");
    }
    match f.sla {
        None => {}
        Some(SlaWindow::Between { from, to }) => {
            q.push(" AND t.sla_due_at >= ").push_bind(from).push(" AND t.sla_due_at < ").push_bind(to);
        }
        Some(SlaWindow::Before { now }) => {
            q.push(" AND t.sla_due_at < ").push_bind(now);
        }
        Some(SlaWindow::AtRisk { now, share }) => {
            // Integer arithmetic in both dialects: remaining * 1000 <= share‰ * whole window.
            let permille = (share * 1000.0).round() as i64;
            q.push(" AND t.sla_due_at >= ").push_bind(now);
            q.push(" AND (t.sla_due_at - ").push_bind(now).push(") * 1000 <= ").push_bind(permille);
            q.push(" * (t.sla_due_at - COALESCE(t.sla_started_at, t.created_at))");
        }
        Some(SlaWindow::Breached) => {
            q.push(" AND EXISTS (SELECT 1 FROM sla_breaches b WHERE b.ticket_id = t.id)");
        }
    }
    if let Some(text) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let text = text.trim();
        // PostgreSQL's trigram index serves ILIKE on the column directly; SQLite's is a table
        // of its own, and anything it cannot answer falls back to LIKE on the subject.
        if trigram_search(f) {
            q.push(" AND (t.id IN (SELECT rowid FROM tickets_subject_search WHERE subject LIKE ")
                .push_bind(format!("%{text}%"));
            q.push(")");
        } else {
            q.push(format!(" AND (t.subject {LIKE} ")).push_bind(like_pattern(text)).push(" ESCAPE '\\'");
        }
        if let Some(n) = f.number {
            q.push(" OR t.number = ").push_bind(n);
        }
        q.push(")");
    }
}

/// One page of tickets, newest first.
pub async fn list_tickets(c: &mut Conn, f: &TicketQuery) -> Result<Vec<TicketRecord>> {
    // The page is chosen from tickets alone and only then joined to its names: whatever the
    // planner knows, the newest-first index is walked and at most `limit` rows are joined.
    // (With statistics SQLite once put a tiny joined table outside and sorted a whole queue.)
    let mut q = QueryBuilder::<Db>::new(format!("{TICKET_COLUMNS} FROM (SELECT * FROM tickets t"));
    push_ticket_filters(&mut q, f, true, false);
    if let Some((at, id)) = f.before {
        q.push(" AND (t.created_at < ").push_bind(at).push(" OR (t.created_at = ").push_bind(at);
        q.push(" AND t.id < ").push_bind(id).push("))");
    }
    q.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ").push_bind(f.limit);
    q.push(format!(") t{TICKET_JOINS} ORDER BY t.created_at DESC, t.id DESC"));
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// True when only the workspace, queue and status narrow the query: what the counters hold.
fn counters_answer(f: &TicketQuery) -> bool {
    DIALECT == Dialect::Sqlite
        && f.priorities.is_empty()
        && f.assignee == AssigneeFilter::Any
        && f.help_topic_id.is_none()
        && f.requester_id.is_none()
        && f.tag.is_none()
        && f.escalated.is_none()
        && f.awaiting.is_none()
        && f.sla.is_none()
        && f.ids.is_none()
        && f.text.as_deref().is_none_or(|t| t.trim().is_empty())
}

fn push_counter_filters(q: &mut QueryBuilder<Db>, f: &TicketQuery, with_status: bool) {
    q.push(" WHERE workspace_id = ").push_bind(f.workspace_id);
    if let Some(queue) = f.queue_id {
        q.push(" AND queue_id = ").push_bind(queue);
    }
    if with_status && !f.statuses.is_empty() {
        q.push(" AND status IN (");
        let mut sep = q.separated(", ");
        for s in &f.statuses {
            sep.push_bind(s.as_str());
        }
        q.push(")");
    }
}

/// How many tickets match (ignoring the cursor and limit).
pub async fn count_tickets(c: &mut Conn, f: &TicketQuery) -> Result<i64> {
    if counters_answer(f) {
        let mut q = QueryBuilder::<Db>::new("SELECT COALESCE(SUM(tickets), 0) FROM ticket_counters");
        push_counter_filters(&mut q, f, true);
        return Ok(q.build_query_scalar().fetch_one(&mut *c).await?);
    }
    let mut q = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM tickets t");
    push_ticket_filters(&mut q, f, true, true);
    Ok(q.build_query_scalar().fetch_one(&mut *c).await?)
}

/// How many tickets match, reading no more than `cap` + 1 of them: a large queue's total costs
/// the same as a small one's. SQLite's counters still answer their filters exactly, whatever the
/// size.
pub async fn count_tickets_up_to(c: &mut Conn, f: &TicketQuery, cap: i64) -> Result<TicketTotal> {
    if counters_answer(f) {
        return Ok(TicketTotal { count: count_tickets(&mut *c, f).await?, capped: false });
    }
    let mut q = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM (SELECT 1 FROM tickets t");
    push_ticket_filters(&mut q, f, true, true);
    q.push(" LIMIT ").push_bind(cap.saturating_add(1)).push(") m");
    let n: i64 = q.build_query_scalar().fetch_one(&mut *c).await?;
    Ok(if n > cap { TicketTotal { count: cap, capped: true } } else { TicketTotal { count: n, capped: false } })
}

/// Counts per status of the tickets matching every filter but status (the stats tiles), each
/// counted like [`count_tickets_up_to`]: up to `cap`, so a tile costs the same for a status with
/// a million tickets as for one with ten. SQLite's counters still answer their filters exactly.
pub async fn count_tickets_by_status(c: &mut Conn, f: &TicketQuery, cap: i64) -> Result<Vec<(String, TicketTotal)>> {
    if counters_answer(f) {
        let mut q = QueryBuilder::<Db>::new("SELECT status, COALESCE(SUM(tickets), 0) FROM ticket_counters");
        push_counter_filters(&mut q, f, false);
        q.push(" GROUP BY status");
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *c).await?;
        return Ok(rows.into_iter().map(|(s, count)| (s, TicketTotal { count, capped: false })).collect());
    }
    // One statement, one capped count per status: each reads at most cap + 1 entries of an index
    // leading with the status (GROUP BY over the filters would read every matching ticket).
    let mut q = QueryBuilder::<Db>::new("");
    for (i, status) in TicketStatus::ALL.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push("SELECT ").push_bind(status.as_str()).push(" AS status, COUNT(*) FROM (SELECT 1 FROM tickets t");
        push_ticket_filters(&mut q, f, false, true);
        q.push(" AND t.status = ").push_bind(status.as_str());
        q.push(" LIMIT ").push_bind(cap.saturating_add(1)).push(") m");
    }
    let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *c).await?;
    Ok(rows
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s, TicketTotal { count: n.min(cap), capped: n > cap }))
        .collect())
}
