//! Rows of the generic channel tables (migration 0014): channel accounts, contact and staff
//! identities, and the messages channels received. Every channel keeps its rows here; what only
//! one channel understands is JSON its module reads and validates.

use switchboard_domain::{
    ChannelAccountId, ChannelInboxId, ChannelMessageId, ContactId, ContactIdentityId, EntryId, Millis, StaffIdentityId,
    TicketId, UserId, WorkspaceId,
};

/// A channel account: one inbox of a channel (an email address, a business phone number, a chat server).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelAccountRecord {
    pub id: ChannelAccountId,
    pub workspace_id: WorkspaceId,
    /// The module's key (`Channel::as_str`).
    pub channel: String,
    /// The channel's own name for the account: an address, a phone number id.
    pub external_key: String,
    pub name: String,
    pub enabled: bool,
    /// The external key routes inbound traffic across workspaces, so it is unique across them.
    pub global_route: bool,
    /// JSON object: what an admin configures, validated by the channel's module.
    pub settings: String,
    /// JSON object: each value sealed with the server's key (or a hash); never shown.
    pub secrets: String,
    /// JSON object: what the channel keeps between runs (a cursor).
    pub state: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// An account as it is written; `state` is kept on update (see `set_channel_account_state`).
#[derive(Debug, Clone, Default)]
pub struct ChannelAccountInput {
    pub channel: String,
    pub external_key: String,
    pub name: String,
    pub enabled: bool,
    pub global_route: bool,
    pub settings: String,
    pub secrets: String,
}

/// How a contact is known on a channel.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactIdentityRecord {
    pub id: ContactIdentityId,
    pub workspace_id: WorkspaceId,
    pub contact_id: ContactId,
    pub channel: String,
    pub external_id: String,
    pub created_at: Millis,
}

/// How a staff member is known on a channel.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffIdentityRecord {
    pub id: StaffIdentityId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub channel: String,
    pub external_id: String,
    pub created_at: Millis,
}

/// A message a channel received, by the channel's key for it, with what became of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelMessageRecord {
    pub id: ChannelMessageId,
    pub workspace_id: WorkspaceId,
    pub channel: String,
    pub account_id: Option<ChannelAccountId>,
    pub external_key: String,
    /// `ticket`, `auto_reply`, `bounce`, `quarantined` or `seen`.
    pub outcome: String,
    pub reason: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub ticket_id: Option<TicketId>,
    pub entry_id: Option<EntryId>,
    pub raw_sha256: Option<String>,
    pub raw_size: Option<i64>,
    pub created_at: Millis,
}

/// A received message to record.
#[derive(Debug, Clone)]
pub struct NewChannelMessage<'a> {
    pub workspace_id: WorkspaceId,
    pub channel: &'a str,
    pub account_id: Option<ChannelAccountId>,
    pub external_key: &'a str,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub sender: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub ticket_id: Option<TicketId>,
    pub entry_id: Option<EntryId>,
    pub raw_sha256: Option<&'a str>,
    pub raw_size: Option<i64>,
    pub created_at: Millis,
}

/// An event a channel stored in its durable inbox (migration 0018).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelInboxRecord {
    pub id: ChannelInboxId,
    pub channel: String,
    /// The event's own key, unique per channel (a replay finds its row).
    pub external_key: String,
    /// The event as received (the channel's JSON).
    pub payload: String,
    pub received_at: Millis,
    pub processed_at: Option<Millis>,
    pub attempts: i64,
    pub note: Option<String>,
}

/// Reads a channel account's JSON column (`settings`, `secrets`, `state`) as the channel's own
/// type; a column that does not parse is a decode error like any other bad column.
pub fn decode_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, crate::StoreError> {
    serde_json::from_str(json).map_err(|e| crate::StoreError::Database(sqlx::Error::Decode(Box::new(e))))
}

/// A one-time code linking a channel account to a workspace (migration 0023); only its hash is kept.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelLinkCodeRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub channel: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    /// The external key of the account it linked.
    pub used_for: Option<String>,
}
