// Included twice by lib.rs, once with `Db = Sqlite` and once with `Db = Postgres`, so each query is
// written once and compiled against a concrete driver (no `Any` driver). Where the dialects differ
// the code branches on `DIALECT`, with a comment saying why.

use sqlx::{QueryBuilder, Row};
use switchboard_domain::*;

use crate::records::*;
use crate::{Dialect, StoreError};

type Conn = <Db as sqlx::Database>::Connection;

/// Formats a statement from this file's own constants (column lists, the LIKE operator); never
/// from input, which always goes through bind parameters.
macro_rules! sqlf {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}
type Result<T> = std::result::Result<T, StoreError>;

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

const ENTRY_SELECT: &str = "SELECT e.id, e.ticket_id, e.kind, e.author_user_id, e.author_contact_id, \
     COALESCE(u.name, c.name) AS author_name, e.channel, e.external_message_id, e.body, e.delivery_status, \
     e.delivery_error, e.created_at FROM entries e LEFT JOIN users u ON u.id = e.author_user_id \
     LEFT JOIN contacts c ON c.id = e.author_contact_id";

const USER_COLUMNS: &str =
    "id, workspace_id, email, name, role, password_hash, active, created_at, sessions_valid_after";
// A contact's WhatsApp and Discord ids are its oldest identity on those channels (migration 0014
// moved them to contact_identities, which holds any number per channel).
const CONTACT_COLUMNS: &str = "id, workspace_id, name, email, phone, \
     (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = contacts.id AND i.channel = 'whatsapp' \
     ORDER BY i.id LIMIT 1) AS whatsapp_id, \
     (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = contacts.id AND i.channel = 'discord' \
     ORDER BY i.id LIMIT 1) AS discord_user_id, \
     requester_type, business_partner_ref, password_hash, created_at, sessions_valid_after";
const QUEUE_COLUMNS: &str =
    "id, workspace_id, name, is_default, assignment_mode, created_at, version, updated_at, updated_by";
const HELP_TOPIC_COLUMNS: &str = "id, workspace_id, name, default_priority, default_queue_id, default_assignee_id, \
     due_offset_minutes, active, created_at, version, updated_at, updated_by";
const CANNED_COLUMNS: &str = "id, workspace_id, title, shortcut, body, help_topic_id, created_at, updated_at";
const TOKEN_COLUMNS: &str =
    "id, workspace_id, name, token_prefix, scopes, created_by, created_at, last_used_at, revoked_at";

// ---- workspaces ----

pub async fn insert_workspace(
    c: &mut Conn,
    slug: &str,
    name: &str,
    prefix: &str,
    tz: &str,
    now: Millis,
) -> Result<WorkspaceRecord> {
    Ok(sqlx::query_as(
        "INSERT INTO workspaces (slug, name, ticket_prefix, time_zone, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, slug, name, ticket_prefix, time_zone, created_at",
    )
    .bind(slug)
    .bind(name)
    .bind(prefix)
    .bind(tz)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn workspace_by_slug(c: &mut Conn, slug: &str) -> Result<Option<WorkspaceRecord>> {
    Ok(sqlx::query_as("SELECT id, slug, name, ticket_prefix, time_zone, created_at FROM workspaces WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn workspace_by_id(c: &mut Conn, id: WorkspaceId) -> Result<WorkspaceRecord> {
    Ok(sqlx::query_as("SELECT id, slug, name, ticket_prefix, time_zone, created_at FROM workspaces WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *c)
        .await?)
}

/// The workspace's next ticket number, SQLite's way: one write runs at a time there, so the
/// counter row costs no waiting and numbers have no gaps. (PostgreSQL takes `nextval` of the
/// workspace's sequence inside the insert; see migrations/postgres/0013.)
async fn take_ticket_number(c: &mut Conn, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE workspaces SET next_ticket_number = next_ticket_number + 1 WHERE id = $1 \
         RETURNING next_ticket_number - 1",
    )
    .bind(ws)
    .fetch_one(&mut *c)
    .await?)
}

/// The highest ticket number used in the workspace (0 for none); numbers may have gaps.
pub async fn last_ticket_number(c: &mut Conn, ws: WorkspaceId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) FROM tickets WHERE workspace_id = $1")
        .bind(ws)
        .fetch_one(&mut *c)
        .await?)
}

// ---- users ----

pub async fn insert_user(
    c: &mut Conn,
    ws: WorkspaceId,
    email: &str,
    name: &str,
    role: Role,
    password_hash: Option<&str>,
    now: Millis,
) -> Result<UserRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO users (workspace_id, email, name, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {USER_COLUMNS}"
    ))
    .bind(ws)
    .bind(email)
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn update_user(
    c: &mut Conn,
    ws: WorkspaceId,
    id: UserId,
    name: &str,
    role: Role,
    active: bool,
) -> Result<UserRecord> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE users SET name = $3, role = $4, active = $5 WHERE workspace_id = $1 AND id = $2 \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(name)
    .bind(role.as_str())
    .bind(active)
    .fetch_one(&mut *c)
    .await?)
}

/// Sets a staff member's password hash; their sign-ins from before `now` stop working.
pub async fn set_user_password(c: &mut Conn, ws: WorkspaceId, id: UserId, hash: &str, now: Millis) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $3, sessions_valid_after = $4 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Ends every sign-in of a staff member made before `now`.
pub async fn end_user_sessions(c: &mut Conn, ws: WorkspaceId, id: UserId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE users SET sessions_valid_after = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Staff accounts with this email in any workspace, with the workspace slug, for sign-in.
pub async fn users_by_email(c: &mut Conn, email: &str) -> Result<Vec<(UserRecord, String)>> {
    let rows = sqlx::query(sqlf!(
        "SELECT u.id, u.workspace_id, u.email, u.name, u.role, u.password_hash, u.active, u.created_at, \
         u.sessions_valid_after, w.slug \
         FROM users u JOIN workspaces w ON w.id = u.workspace_id WHERE u.email = $1 ORDER BY u.id"
    ))
    .bind(email)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok((<UserRecord as sqlx::FromRow<_>>::from_row(r)?, r.try_get("slug")?))).collect()
}

pub async fn user_by_id(c: &mut Conn, ws: WorkspaceId, id: UserId) -> Result<Option<UserRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn user_by_email(c: &mut Conn, ws: WorkspaceId, email: &str) -> Result<Option<UserRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND email = $2"))
        .bind(ws)
        .bind(email)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_users(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<UserRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 ORDER BY name, id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

// ---- contacts ----

pub async fn insert_contact(c: &mut Conn, ws: WorkspaceId, n: &NewContact, now: Millis) -> Result<ContactRecord> {
    let id: ContactId = sqlx::query_scalar(
        "INSERT INTO contacts (workspace_id, name, email, phone, requester_type, business_partner_ref, password_hash, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(ws)
    .bind(&n.name)
    .bind(&n.email)
    .bind(&n.phone)
    .bind(n.requester_type.unwrap_or(RequesterType::Manual).as_str())
    .bind(&n.business_partner_ref)
    .bind(&n.password_hash)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    for (kind, value) in [(IdentityKind::Whatsapp, &n.whatsapp_id), (IdentityKind::Discord, &n.discord_user_id)] {
        if let (Some(channel), Some(value)) = (kind.channel(), value) {
            // Taken by another contact: refused like the unique contact columns were.
            if !add_contact_identity(&mut *c, ws, id, channel, value, now).await? {
                return Err(StoreError::Conflict("contact_identities".into()));
            }
        }
    }
    contact_by_id(&mut *c, ws, id).await?.ok_or(StoreError::NotFound)
}

pub async fn contact_by_id(c: &mut Conn, ws: WorkspaceId, id: ContactId) -> Result<Option<ContactRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn contact_by_identity(
    c: &mut Conn,
    ws: WorkspaceId,
    kind: IdentityKind,
    value: &str,
) -> Result<Option<ContactRecord>> {
    let query = match (kind.column(), kind.channel()) {
        (Some(column), _) => {
            sqlx::query_as(sqlf!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = $1 AND {column} = $2"))
                .bind(ws)
                .bind(value)
        }
        (None, channel) => sqlx::query_as(sqlf!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = (SELECT contact_id FROM contact_identities \
             WHERE workspace_id = $1 AND channel = $2 AND external_id = $3)"
        ))
        .bind(ws)
        .bind(channel.unwrap_or_default())
        .bind(value),
    };
    Ok(query.fetch_optional(&mut *c).await?)
}

/// Contacts with this email in any workspace, with the workspace slug, for portal sign-in.
pub async fn contacts_by_email(c: &mut Conn, email: &str) -> Result<Vec<(ContactRecord, String)>> {
    let rows = sqlx::query(
        "SELECT k.id, k.workspace_id, k.name, k.email, k.phone, \
         (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = k.id AND i.channel = 'whatsapp' \
         ORDER BY i.id LIMIT 1) AS whatsapp_id, \
         (SELECT i.external_id FROM contact_identities i WHERE i.contact_id = k.id AND i.channel = 'discord' \
         ORDER BY i.id LIMIT 1) AS discord_user_id, \
         k.requester_type, k.business_partner_ref, k.password_hash, k.created_at, k.sessions_valid_after, w.slug \
         FROM contacts k JOIN workspaces w ON w.id = k.workspace_id WHERE k.email = $1 ORDER BY k.id",
    )
    .bind(email)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok((<ContactRecord as sqlx::FromRow<_>>::from_row(r)?, r.try_get("slug")?))).collect()
}

pub async fn list_contacts(
    c: &mut Conn,
    ws: WorkspaceId,
    search: Option<&str>,
    limit: i64,
) -> Result<Vec<ContactRecord>> {
    let mut q = QueryBuilder::<Db>::new(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = "));
    q.push_bind(ws);
    if let Some(s) = search.filter(|s| !s.trim().is_empty()) {
        let pat = like_pattern(s);
        q.push(format!(" AND (name {LIKE} ")).push_bind(pat.clone()).push(" ESCAPE '\\'");
        q.push(format!(" OR email {LIKE} ")).push_bind(pat).push(" ESCAPE '\\')");
    }
    q.push(" ORDER BY name, id LIMIT ").push_bind(limit);
    Ok(q.build_query_as().fetch_all(&mut *c).await?)
}

/// Sets a customer's portal password hash; their sign-ins from before `now` stop working.
pub async fn set_contact_password(c: &mut Conn, ws: WorkspaceId, id: ContactId, hash: &str, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET password_hash = $3, sessions_valid_after = $4 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id)
    .bind(hash)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Ends every portal sign-in of a customer made before `now`.
pub async fn end_contact_sessions(c: &mut Conn, ws: WorkspaceId, id: ContactId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE contacts SET sessions_valid_after = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

// ---- queues ----

pub async fn insert_queue(
    c: &mut Conn,
    ws: WorkspaceId,
    name: &str,
    is_default: bool,
    mode: AssignmentMode,
    now: Millis,
) -> Result<QueueRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO queues (workspace_id, name, is_default, assignment_mode, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {QUEUE_COLUMNS}"
    ))
    .bind(ws)
    .bind(name)
    .bind(is_default)
    .bind(mode.as_str())
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn update_queue(
    c: &mut Conn,
    ws: WorkspaceId,
    id: QueueId,
    name: &str,
    mode: AssignmentMode,
) -> Result<QueueRecord> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE queues SET name = $3, assignment_mode = $4 WHERE workspace_id = $1 AND id = $2 \
         RETURNING {QUEUE_COLUMNS}"
    ))
    .bind(ws)
    .bind(id)
    .bind(name)
    .bind(mode.as_str())
    .fetch_one(&mut *c)
    .await?)
}

/// Makes `id` the workspace's one default queue.
pub async fn set_default_queue(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<()> {
    // Two statements: the partial unique index allows only one default at a time.
    sqlx::query("UPDATE queues SET is_default = FALSE WHERE workspace_id = $1 AND is_default AND id <> $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query("UPDATE queues SET is_default = TRUE WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn delete_queue(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<()> {
    sqlx::query("DELETE FROM queue_members WHERE workspace_id = $1 AND queue_id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM queues WHERE workspace_id = $1 AND id = $2").bind(ws).bind(id).execute(&mut *c).await?;
    Ok(())
}

pub async fn queue_ticket_count(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND queue_id = $2")
        .bind(ws)
        .bind(id)
        .fetch_one(&mut *c)
        .await?)
}

pub async fn list_queues(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<QueueRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {QUEUE_COLUMNS} FROM queues WHERE workspace_id = $1 ORDER BY is_default DESC, name, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn queue_by_id(c: &mut Conn, ws: WorkspaceId, id: QueueId) -> Result<Option<QueueRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {QUEUE_COLUMNS} FROM queues WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn default_queue(c: &mut Conn, ws: WorkspaceId) -> Result<Option<QueueRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {QUEUE_COLUMNS} FROM queues WHERE workspace_id = $1 AND is_default"))
        .bind(ws)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn upsert_queue_member(
    c: &mut Conn,
    ws: WorkspaceId,
    queue: QueueId,
    user: UserId,
    role: MemberRole,
    weight: i64,
    on_break: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO queue_members (queue_id, user_id, workspace_id, role, weight, on_break) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (queue_id, user_id) DO UPDATE SET role = excluded.role, weight = excluded.weight, on_break = \
         excluded.on_break",
    )
    .bind(queue)
    .bind(user)
    .bind(ws)
    .bind(role.as_str())
    .bind(weight)
    .bind(on_break)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn remove_queue_member(c: &mut Conn, ws: WorkspaceId, queue: QueueId, user: UserId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM queue_members WHERE workspace_id = $1 AND queue_id = $2 AND user_id = $3")
        .bind(ws)
        .bind(queue)
        .bind(user)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list_queue_members(c: &mut Conn, ws: WorkspaceId, queue: QueueId) -> Result<Vec<QueueMemberRecord>> {
    Ok(sqlx::query_as(
        "SELECT m.queue_id, m.user_id, u.name AS user_name, u.email AS user_email, m.role, m.weight, m.on_break \
         FROM queue_members m JOIN users u ON u.id = m.user_id \
         WHERE m.workspace_id = $1 AND m.queue_id = $2 ORDER BY u.name, u.id",
    )
    .bind(ws)
    .bind(queue)
    .fetch_all(&mut *c)
    .await?)
}

// ---- help topics ----

pub async fn upsert_help_topic(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<HelpTopicId>,
    name: &str,
    priority: Option<Priority>,
    queue: Option<QueueId>,
    assignee: Option<UserId>,
    due_offset: Option<i64>,
    active: bool,
    now: Millis,
) -> Result<HelpTopicRecord> {
    let q = match id {
        None => format!(
            "INSERT INTO help_topics (workspace_id, name, default_priority, default_queue_id, default_assignee_id, \
             due_offset_minutes, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING {HELP_TOPIC_COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE help_topics SET name = $2, default_priority = $3, default_queue_id = $4, default_assignee_id = $5, \
             due_offset_minutes = $6, active = $7 WHERE workspace_id = $1 AND id = $8 RETURNING {HELP_TOPIC_COLUMNS}"
        ),
    };
    let query = sqlx::query_as(sqlx::AssertSqlSafe(q))
        .bind(ws)
        .bind(name)
        .bind(priority.map(Priority::as_str))
        .bind(queue)
        .bind(assignee)
        .bind(due_offset)
        .bind(active);
    let query = match id {
        None => query.bind(now),
        Some(id) => query.bind(id),
    };
    Ok(query.fetch_one(&mut *c).await?)
}

/// Takes the next version of an admin form's row for a save by `by`, when the row is still at
/// `expected` (any version when `None`): the UPDATE locks the row, so of two saves of one version
/// the second waits, sees the first's version and takes none. Returns the version taken.
pub async fn take_form_version(
    c: &mut Conn,
    form: EditedForm,
    ws: WorkspaceId,
    id: i64,
    expected: Option<i64>,
    by: &str,
    now: Millis,
) -> Result<Option<i64>> {
    let table = form.table();
    Ok(sqlx::query_scalar(sqlf!(
        "UPDATE {table} SET version = version + 1, updated_at = $4, updated_by = $5 \
         WHERE workspace_id = $1 AND id = $2 AND ($3 IS NULL OR version = $3) RETURNING version"
    ))
    .bind(ws)
    .bind(id)
    .bind(expected)
    .bind(now)
    .bind(by)
    .fetch_optional(&mut *c)
    .await?)
}

/// Who last saved an admin form's row and when, with its version: `(version, at, by)`.
pub async fn form_version(
    c: &mut Conn,
    form: EditedForm,
    ws: WorkspaceId,
    id: i64,
) -> Result<Option<(i64, Option<Millis>, Option<String>)>> {
    let table = form.table();
    Ok(sqlx::query_as(sqlf!("SELECT version, updated_at, updated_by FROM {table} WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn help_topic_by_id(c: &mut Conn, ws: WorkspaceId, id: HelpTopicId) -> Result<Option<HelpTopicRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {HELP_TOPIC_COLUMNS} FROM help_topics WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_help_topics(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<HelpTopicRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {HELP_TOPIC_COLUMNS} FROM help_topics WHERE workspace_id = $1 ORDER BY name, id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

// ---- canned responses ----

pub async fn upsert_canned_response(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<CannedResponseId>,
    title: &str,
    shortcut: Option<&str>,
    body: &str,
    topic: Option<HelpTopicId>,
    now: Millis,
) -> Result<CannedResponseRecord> {
    let q = match id {
        None => format!(
            "INSERT INTO canned_responses (workspace_id, title, shortcut, body, help_topic_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {CANNED_COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE canned_responses SET title = $2, shortcut = $3, body = $4, help_topic_id = $5, updated_at = $6 \
             WHERE workspace_id = $1 AND id = $7 RETURNING {CANNED_COLUMNS}"
        ),
    };
    let query =
        sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(ws).bind(title).bind(shortcut).bind(body).bind(topic).bind(now);
    let query = match id {
        None => query,
        Some(id) => query.bind(id),
    };
    Ok(query.fetch_one(&mut *c).await?)
}

pub async fn canned_response_by_id(
    c: &mut Conn,
    ws: WorkspaceId,
    id: CannedResponseId,
) -> Result<Option<CannedResponseRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {CANNED_COLUMNS} FROM canned_responses WHERE workspace_id = $1 AND id = $2"))
        .bind(ws)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_canned_responses(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<CannedResponseRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {CANNED_COLUMNS} FROM canned_responses WHERE workspace_id = $1 ORDER BY title, id"
    ))
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn delete_canned_response(c: &mut Conn, ws: WorkspaceId, id: CannedResponseId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM canned_responses WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

// ---- tickets ----

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

// ---- entries, attachments, mentions ----

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

// ---- history, events, outbox ----

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

pub async fn insert_event(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: Option<TicketId>,
    kind: &str,
    payload: &serde_json::Value,
    now: Millis,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO events (workspace_id, ticket_id, kind, payload, created_at) \
                           VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(ws)
    .bind(ticket)
    .bind(kind)
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

pub async fn insert_outbox(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    entry: EntryId,
    channel: Channel,
    now: Millis,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (workspace_id, ticket_id, entry_id, channel, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(ws)
    .bind(ticket)
    .bind(entry)
    .bind(channel.as_str())
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn pending_outbox_count(c: &mut Conn, ws: WorkspaceId, ticket: TicketId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE workspace_id = $1 AND ticket_id = $2 AND status = 'pending'",
    )
    .bind(ws)
    .bind(ticket)
    .fetch_one(&mut *c)
    .await?)
}

// ---- API tokens ----

pub async fn insert_api_token(
    c: &mut Conn,
    ws: WorkspaceId,
    name: &str,
    hash: &str,
    prefix: &str,
    scopes: &str,
    created_by: Option<UserId>,
    now: Millis,
) -> Result<ApiTokenRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO api_tokens (workspace_id, name, token_hash, token_prefix, scopes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(ws)
    .bind(name)
    .bind(hash)
    .bind(prefix)
    .bind(scopes)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *c)
    .await?)
}

pub async fn api_token_by_hash(c: &mut Conn, hash: &str) -> Result<Option<ApiTokenRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"))
        .bind(hash)
        .fetch_optional(&mut *c)
        .await?)
}

pub async fn list_api_tokens(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<ApiTokenRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE workspace_id = $1 ORDER BY id"))
        .bind(ws)
        .fetch_all(&mut *c)
        .await?)
}

pub async fn revoke_api_token(c: &mut Conn, ws: WorkspaceId, id: ApiTokenId, now: Millis) -> Result<bool> {
    let r =
        sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(ws)
            .bind(id)
            .bind(now)
            .execute(&mut *c)
            .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn touch_api_token(c: &mut Conn, id: ApiTokenId, now: Millis) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *c).await?;
    Ok(())
}

// ---- bulk import ----

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
