// Generic channel tables (migration 0014), included next to queries.rs in both dialect modules
// (see lib.rs). Nothing here names a channel: the channel key is always an argument.

use crate::channel_records::*;

const ACCOUNT_COLUMNS: &str = "id, workspace_id, channel, external_key, name, enabled, global_route, settings, \
     secrets, state, created_at, updated_at";
const CHANNEL_MESSAGE_COLUMNS: &str = "id, workspace_id, channel, account_id, external_key, outcome, reason, \
     sender, subject, ticket_id, entry_id, raw_sha256, raw_size, created_at";

/// Creates an account, or rewrites one of the workspace's (its state stays as it is).
pub async fn save_channel_account(
    c: &mut Conn,
    ws: WorkspaceId,
    id: Option<ChannelAccountId>,
    a: &ChannelAccountInput,
    now: Millis,
) -> Result<ChannelAccountRecord> {
    let query = match id {
        Some(id) => sqlx::query_as(sqlf!(
            "UPDATE channel_accounts SET channel = $3, external_key = $4, name = $5, enabled = $6, \
             global_route = $7, settings = $8, secrets = $9, updated_at = $10 \
             WHERE workspace_id = $1 AND id = $2 RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(ws)
        .bind(id),
        None => sqlx::query_as(sqlf!(
            "INSERT INTO channel_accounts (workspace_id, channel, external_key, name, enabled, global_route, \
             settings, secrets, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(ws),
    };
    Ok(query
        .bind(&a.channel)
        .bind(&a.external_key)
        .bind(&a.name)
        .bind(a.enabled)
        .bind(a.global_route)
        .bind(&a.settings)
        .bind(&a.secrets)
        .bind(now)
        .fetch_one(&mut *c)
        .await?)
}

/// The workspace's accounts on `channel`, by id.
pub async fn channel_accounts(c: &mut Conn, ws: WorkspaceId, channel: &str) -> Result<Vec<ChannelAccountRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {ACCOUNT_COLUMNS} FROM channel_accounts WHERE workspace_id = $1 AND channel = $2 ORDER BY id"
    ))
    .bind(ws)
    .bind(channel)
    .fetch_all(&mut *c)
    .await?)
}

/// An account of the workspace on `channel`.
pub async fn channel_account(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    id: ChannelAccountId,
) -> Result<Option<ChannelAccountRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {ACCOUNT_COLUMNS} FROM channel_accounts WHERE workspace_id = $1 AND channel = $2 AND id = $3"
    ))
    .bind(ws)
    .bind(channel)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?)
}

/// Across workspaces: an account by id (an inbound endpoint that names it, checked by its
/// secret afterwards).
pub async fn channel_account_any_workspace(
    c: &mut Conn,
    channel: &str,
    id: ChannelAccountId,
) -> Result<Option<ChannelAccountRecord>> {
    Ok(sqlx::query_as(sqlf!("SELECT {ACCOUNT_COLUMNS} FROM channel_accounts WHERE channel = $1 AND id = $2"))
        .bind(channel)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Across workspaces: the account whose external key routes inbound traffic (`global_route`).
pub async fn channel_account_by_route(
    c: &mut Conn,
    channel: &str,
    external_key: &str,
) -> Result<Option<ChannelAccountRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {ACCOUNT_COLUMNS} FROM channel_accounts WHERE channel = $1 AND external_key = $2 AND global_route"
    ))
    .bind(channel)
    .bind(external_key)
    .fetch_optional(&mut *c)
    .await?)
}

/// Across workspaces: every enabled account on `channel` (for a channel's workers).
pub async fn enabled_channel_accounts(c: &mut Conn, channel: &str) -> Result<Vec<ChannelAccountRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {ACCOUNT_COLUMNS} FROM channel_accounts WHERE channel = $1 AND enabled ORDER BY id"
    ))
    .bind(channel)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn delete_channel_account(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    id: ChannelAccountId,
) -> Result<bool> {
    let r = sqlx::query("DELETE FROM channel_accounts WHERE workspace_id = $1 AND channel = $2 AND id = $3")
        .bind(ws)
        .bind(channel)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Replaces an account's state (a JSON object), e.g. a cursor moved after a committed batch.
pub async fn set_channel_account_state(c: &mut Conn, ws: WorkspaceId, id: ChannelAccountId, state: &str) -> Result<()> {
    sqlx::query("UPDATE channel_accounts SET state = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(state)
        .execute(&mut *c)
        .await?;
    Ok(())
}

// ---- identities ----

/// Adds how a contact is known on a channel; false when that identity is taken already.
pub async fn add_contact_identity(
    c: &mut Conn,
    ws: WorkspaceId,
    contact: ContactId,
    channel: &str,
    external_id: &str,
    now: Millis,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO contact_identities (workspace_id, contact_id, channel, external_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, channel, external_id) DO NOTHING",
    )
    .bind(ws)
    .bind(contact)
    .bind(channel)
    .bind(external_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// A contact's identities, by channel and age.
pub async fn contact_identities(
    c: &mut Conn,
    ws: WorkspaceId,
    contact: ContactId,
) -> Result<Vec<ContactIdentityRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, contact_id, channel, external_id, created_at FROM contact_identities \
         WHERE workspace_id = $1 AND contact_id = $2 ORDER BY channel, id",
    )
    .bind(ws)
    .bind(contact)
    .fetch_all(&mut *c)
    .await?)
}

/// Links a staff member to how they are known on a channel; false when that identity is taken.
pub async fn add_staff_identity(
    c: &mut Conn,
    ws: WorkspaceId,
    user: UserId,
    channel: &str,
    external_id: &str,
    now: Millis,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO staff_identities (workspace_id, user_id, channel, external_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, channel, external_id) DO NOTHING",
    )
    .bind(ws)
    .bind(user)
    .bind(channel)
    .bind(external_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The staff member known on `channel` as `external_id`.
pub async fn staff_by_identity(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    external_id: &str,
) -> Result<Option<UserId>> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM staff_identities WHERE workspace_id = $1 AND channel = $2 AND external_id = $3",
    )
    .bind(ws)
    .bind(channel)
    .bind(external_id)
    .fetch_optional(&mut *c)
    .await?)
}

/// The workspace's staff identities, by staff member, channel and id.
pub async fn staff_identities(c: &mut Conn, ws: WorkspaceId) -> Result<Vec<StaffIdentityRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, workspace_id, user_id, channel, external_id, created_at FROM staff_identities \
         WHERE workspace_id = $1 ORDER BY user_id, channel, id",
    )
    .bind(ws)
    .fetch_all(&mut *c)
    .await?)
}

/// Removes one of the workspace's staff identities; false when it has none with that id.
pub async fn delete_staff_identity(c: &mut Conn, ws: WorkspaceId, id: StaffIdentityId) -> Result<bool> {
    let r = sqlx::query("DELETE FROM staff_identities WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(r.rows_affected() > 0)
}

// ---- the ticket's channel ----

/// Sets the account that answers a ticket, unless one is set already.
pub async fn set_ticket_channel_account(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
    account: ChannelAccountId,
) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET channel_account_id = $3 \
         WHERE workspace_id = $1 AND id = $2 AND channel_account_id IS NULL",
    )
    .bind(ws)
    .bind(ticket)
    .bind(account)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The channel that answers a ticket and the account it answers through.
pub async fn ticket_channel(
    c: &mut Conn,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<(String, Option<ChannelAccountId>)>> {
    Ok(sqlx::query_as("SELECT channel, channel_account_id FROM tickets WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(ticket)
        .fetch_optional(&mut *c)
        .await?)
}

/// The ticket a channel's own conversation key names (the id of the ticket's chat room), with its
/// workspace, looked up across workspaces: the channel's event names only the key, and the key is
/// unique on the channel's side.
pub async fn ticket_by_channel_thread(
    c: &mut Conn,
    channel: &str,
    thread_key: &str,
) -> Result<Option<(WorkspaceId, TicketId)>> {
    Ok(sqlx::query_as("SELECT workspace_id, id FROM tickets WHERE thread_key = $2 AND channel = $1")
        .bind(channel)
        .bind(thread_key)
        .fetch_optional(&mut *c)
        .await?)
}

// ---- entry metadata ----

/// What a channel records about an entry (a JSON object), e.g. a template it goes out as.
pub async fn set_entry_channel_meta(c: &mut Conn, ws: WorkspaceId, entry: EntryId, meta: &str) -> Result<()> {
    sqlx::query("UPDATE entries SET channel_meta = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(entry)
        .bind(meta)
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub async fn entry_channel_meta(c: &mut Conn, entry: EntryId) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>("SELECT channel_meta FROM entries WHERE id = $1")
        .bind(entry)
        .fetch_optional(&mut *c)
        .await?
        .flatten())
}

// ---- received messages ----

pub async fn channel_message_by_key(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    key: &str,
) -> Result<Option<ChannelMessageRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {CHANNEL_MESSAGE_COLUMNS} FROM channel_messages \
         WHERE workspace_id = $1 AND channel = $2 AND external_key = $3"
    ))
    .bind(ws)
    .bind(channel)
    .bind(key)
    .fetch_optional(&mut *c)
    .await?)
}

/// Whether a message with this key was recorded in any workspace (for keys the channel makes
/// unique everywhere, such as message ids a provider assigns across all its accounts).
pub async fn channel_message_known(c: &mut Conn, channel: &str, key: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM channel_messages WHERE channel = $1 AND external_key = $2")
        .bind(channel)
        .bind(key)
        .fetch_one(&mut *c)
        .await?;
    Ok(n > 0)
}

/// Records a received message; false when one with the same key was recorded before (that one
/// is kept).
pub async fn insert_channel_message(c: &mut Conn, m: &NewChannelMessage<'_>) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO channel_messages (workspace_id, channel, account_id, external_key, outcome, reason, sender, \
         subject, ticket_id, entry_id, raw_sha256, raw_size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (workspace_id, channel, external_key) DO NOTHING",
    )
    .bind(m.workspace_id)
    .bind(m.channel)
    .bind(m.account_id)
    .bind(m.external_key)
    .bind(m.outcome)
    .bind(m.reason)
    .bind(m.sender)
    .bind(m.subject)
    .bind(m.ticket_id)
    .bind(m.entry_id)
    .bind(m.raw_sha256)
    .bind(m.raw_size)
    .bind(m.created_at)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The workspace's received messages on `channel` with `outcome`, newest first.
pub async fn list_channel_messages(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    outcome: &str,
    limit: i64,
) -> Result<Vec<ChannelMessageRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {CHANNEL_MESSAGE_COLUMNS} FROM channel_messages WHERE workspace_id = $1 AND channel = $2 \
         AND outcome = $3 ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(ws)
    .bind(channel)
    .bind(outcome)
    .bind(limit)
    .fetch_all(&mut *c)
    .await?)
}

pub async fn channel_message_by_id(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    id: ChannelMessageId,
) -> Result<Option<ChannelMessageRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {CHANNEL_MESSAGE_COLUMNS} FROM channel_messages WHERE workspace_id = $1 AND channel = $2 AND id = $3"
    ))
    .bind(ws)
    .bind(channel)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?)
}

/// Deletes a channel's records with `outcome` older than `before`; returns how many.
pub async fn prune_channel_messages(c: &mut Conn, channel: &str, outcome: &str, before: Millis) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM channel_messages WHERE channel = $1 AND outcome = $2 AND created_at < $3")
        .bind(channel)
        .bind(outcome)
        .bind(before)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

// ---- link codes ----

const LINK_CODE_COLUMNS: &str = "id, workspace_id, channel, created_by, created_at, expires_at, used_at, used_for";

pub async fn insert_channel_link_code(
    c: &mut Conn,
    ws: WorkspaceId,
    channel: &str,
    code_hash: &str,
    created_by: Option<UserId>,
    now: Millis,
    expires_at: Millis,
) -> Result<ChannelLinkCodeRecord> {
    Ok(sqlx::query_as(sqlf!(
        "INSERT INTO channel_link_codes (workspace_id, channel, code_hash, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {LINK_CODE_COLUMNS}"
    ))
    .bind(ws)
    .bind(channel)
    .bind(code_hash)
    .bind(created_by)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *c)
    .await?)
}

/// Across workspaces: the unused, unexpired code with this hash on `channel`.
pub async fn live_channel_link_code(
    c: &mut Conn,
    channel: &str,
    code_hash: &str,
    now: Millis,
) -> Result<Option<ChannelLinkCodeRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "SELECT {LINK_CODE_COLUMNS} FROM channel_link_codes \
         WHERE channel = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $3"
    ))
    .bind(channel)
    .bind(code_hash)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?)
}

/// Marks a live code used for `external_key`; `None` when it was used (or expired) meanwhile,
/// so two redemptions racing for one code cannot both succeed.
pub async fn use_channel_link_code(
    c: &mut Conn,
    channel: &str,
    code_hash: &str,
    external_key: &str,
    now: Millis,
) -> Result<Option<ChannelLinkCodeRecord>> {
    Ok(sqlx::query_as(sqlf!(
        "UPDATE channel_link_codes SET used_at = $4, used_for = $3 \
         WHERE channel = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $4 \
         RETURNING {LINK_CODE_COLUMNS}"
    ))
    .bind(channel)
    .bind(code_hash)
    .bind(external_key)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?)
}
