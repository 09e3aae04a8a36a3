//! Channel accounts as admins link them (a chat server, an address, a business number), and the
//! tickets a channel opens itself (a member pressing a button in the chat) rather than from an
//! inbound message.
//! Nothing here names a channel: the channel and its settings' validation belong to its module,
//! which calls these with settings it has already checked.

use switchboard_domain::*;
use switchboard_store::*;

use crate::tickets::live;
use crate::{Desk, DeskError, NewAttachment, OpenTicket, RequesterRef, require};

/// An account as an admin saves it; `settings` is the channel's JSON, validated by its module.
#[derive(Debug, Clone)]
pub struct ChannelAccountSave {
    /// The channel's own name for the account (a guild id).
    pub external_key: String,
    pub name: String,
    pub enabled: bool,
    pub settings: serde_json::Value,
}

/// A ticket a channel opens for one of its users (not from a message they sent).
#[derive(Debug, Clone)]
pub struct OpenChannelTicket {
    pub channel: Channel,
    /// The account it is answered through.
    pub account_id: Option<ChannelAccountId>,
    /// The channel's conversation key (the id of the chat room the ticket lives in).
    pub thread_key: String,
    /// The channel's key for the opening, so a repeated open (a redelivered event) finds the
    /// same ticket.
    pub external_message_id: String,
    pub sender_kind: IdentityKind,
    pub sender_value: String,
    pub sender_name: Option<String>,
    pub subject: String,
    /// The first entry: what the requester told the intake form.
    pub description: String,
    pub help_topic_id: Option<HelpTopicId>,
    /// What the channel records about the first entry (the intake form's answers), a JSON object.
    pub entry_meta: Option<serde_json::Value>,
    pub attachments: Vec<NewAttachment>,
}

/// How long a link code works after an admin creates it.
pub const CHANNEL_LINK_CODE_TTL_MS: Millis = 60 * 60_000;
/// Characters of a link code: no 0/O or 1/I to misread; 32 of them, so a byte maps without bias.
const LINK_CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a link code (60 bits).
const LINK_CODE_CHARS: usize = 12;

/// A new link code, shown once to the admin who made it.
#[derive(Clone)]
pub struct ChannelLinkCode {
    /// `XXXX-XXXX-XXXX`; only its SHA-256 is stored.
    pub code: String,
    pub expires_at: Millis,
}

impl std::fmt::Debug for ChannelLinkCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelLinkCode").field("code", &"<redacted>").field("expires_at", &self.expires_at).finish()
    }
}

/// A typed code in its stored form (upper case, without spaces or dashes), or the refusal.
fn normalized_code(code: &str) -> Result<String, DeskError> {
    let code: String =
        code.chars().take(64).filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect();
    if code.len() != LINK_CODE_CHARS || !code.bytes().all(|b| LINK_CODE_ALPHABET.contains(&b)) {
        return Err(bad_code());
    }
    Ok(code)
}

fn bad_code() -> DeskError {
    DeskError::invalid(
        "code",
        "this link code is not valid: it was used already, it expired, or it is mistyped; create a new one in the web helpdesk",
    )
}

fn account_name(name: &str) -> Result<String, DeskError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DeskError::invalid("name", "must be 1-100 characters"));
    }
    Ok(without_nul(name).into_owned())
}

impl Desk {
    /// The workspace's accounts on `channel` (admins).
    pub async fn channel_accounts(
        &self,
        actor: &Actor,
        channel: Channel,
    ) -> Result<Vec<ChannelAccountRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.channel_accounts(actor.workspace_id, channel.as_str()).await?)
    }

    /// Adds (`id: None`) or changes an account whose external key routes the channel's events to
    /// this workspace alone (`global_route`): a key another workspace linked already is refused
    /// on `externalKey`. Its state (what the channel keeps between runs) stays as it is.
    pub async fn save_routed_channel_account(
        &self,
        actor: &Actor,
        channel: Channel,
        id: Option<ChannelAccountId>,
        input: ChannelAccountSave,
    ) -> Result<ChannelAccountRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let key = without_nul(input.external_key.trim()).into_owned();
        if key.is_empty() || key.len() > 200 {
            return Err(DeskError::invalid("externalKey", "must be 1-200 characters"));
        }
        if !input.settings.is_object() {
            return Err(DeskError::invalid("settings", "must be a JSON object"));
        }
        let write = ChannelAccountInput {
            channel: channel.as_str().to_string(),
            external_key: key,
            name: account_name(&input.name)?,
            enabled: input.enabled,
            global_route: true,
            settings: input.settings.to_string(),
            secrets: "{}".into(),
        };
        let mut tx = self.store().write().await?;
        if let Some(id) = id
            && tx.channel_account(actor.workspace_id, channel.as_str(), id).await?.is_none()
        {
            return Err(DeskError::NotFound("channel account"));
        }
        // Another workspace's link is not shown, only refused: the same answer as a taken key.
        if let Some(other) = tx.channel_account_by_route(channel.as_str(), &write.external_key).await?
            && (other.workspace_id != actor.workspace_id || Some(other.id) != id)
        {
            return Err(DeskError::invalid("externalKey", "is linked already"));
        }
        let saved = tx
            .save_channel_account(actor.workspace_id, id, &write, self.now())
            .await
            .map_err(crate::admin::conflict_as_field("externalKey", "this key"))?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Removes an account of the workspace; its tickets stay, answered by no account.
    pub async fn delete_channel_account(
        &self,
        actor: &Actor,
        channel: Channel,
        id: ChannelAccountId,
    ) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_channel_account(actor.workspace_id, channel.as_str(), id).await? {
            return Err(DeskError::NotFound("channel account"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates a one-time code an admin hands to a channel (typed in Discord's setup) to link an
    /// account there to this workspace; it works once, for [`CHANNEL_LINK_CODE_TTL_MS`].
    pub async fn create_channel_link_code(
        &self,
        actor: &Actor,
        channel: Channel,
    ) -> Result<ChannelLinkCode, DeskError> {
        require(actor, Permission::Admin)?;
        let mut raw = [0u8; LINK_CODE_CHARS];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
        let plain: String = raw.iter().map(|b| LINK_CODE_ALPHABET[usize::from(*b) % 32] as char).collect();
        let now = self.now();
        let expires_at = now + CHANNEL_LINK_CODE_TTL_MS;
        let mut tx = self.store().write().await?;
        let hash = crate::auth::sha256_hex(&plain);
        tx.insert_channel_link_code(actor.workspace_id, channel.as_str(), &hash, actor.user_id(), now, expires_at)
            .await?;
        tx.commit().await?;
        let code = format!("{}-{}-{}", &plain[..4], &plain[4..8], &plain[8..]);
        Ok(ChannelLinkCode { code, expires_at })
    }

    /// Across workspaces: the workspace a live (unused, unexpired) link code on `channel` would
    /// link to, without using it; a bad code is refused on `code`.
    pub async fn channel_link_code_workspace(&self, channel: Channel, code: &str) -> Result<WorkspaceId, DeskError> {
        let hash = crate::auth::sha256_hex(&normalized_code(code)?);
        let mut tx = self.store().read().await?;
        let found = tx.live_channel_link_code(channel.as_str(), &hash, self.now()).await?;
        found.map(|c| c.workspace_id).ok_or_else(bad_code)
    }

    /// Uses a link code: in one transaction the code is spent and the account routed by
    /// `input.external_key` saved in the code's workspace (changed when that workspace linked
    /// it already; refused on `externalKey` when another did). A code used, expired or unknown
    /// is refused on `code`, and only one of two redemptions racing for a code succeeds.
    pub async fn link_channel_account_with_code(
        &self,
        channel: Channel,
        code: &str,
        input: ChannelAccountSave,
    ) -> Result<ChannelAccountRecord, DeskError> {
        let hash = crate::auth::sha256_hex(&normalized_code(code)?);
        let key = without_nul(input.external_key.trim()).into_owned();
        if key.is_empty() || key.len() > 200 {
            return Err(DeskError::invalid("externalKey", "must be 1-200 characters"));
        }
        if !input.settings.is_object() {
            return Err(DeskError::invalid("settings", "must be a JSON object"));
        }
        let name = account_name(&input.name)?;
        let mut tx = self.store().write().await?;
        let now = self.now();
        let used = tx.use_channel_link_code(channel.as_str(), &hash, &key, now).await?.ok_or_else(bad_code)?;
        let ws = used.workspace_id;
        let id = match tx.channel_account_by_route(channel.as_str(), &key).await? {
            Some(other) if other.workspace_id != ws => {
                return Err(DeskError::invalid("externalKey", "is linked already"));
            }
            Some(mine) => Some(mine.id),
            None => None,
        };
        let write = ChannelAccountInput {
            channel: channel.as_str().to_string(),
            external_key: key,
            name,
            enabled: input.enabled,
            global_route: true,
            settings: input.settings.to_string(),
            secrets: "{}".into(),
        };
        let saved = tx
            .save_channel_account(ws, id, &write, now)
            .await
            .map_err(crate::admin::conflict_as_field("externalKey", "this key"))?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Across workspaces: the account whose external key routes `channel`'s events (a guild id),
    /// for the channel's adapter before it knows the workspace.
    pub async fn routed_channel_account(
        &self,
        channel: Channel,
        external_key: &str,
    ) -> Result<Option<ChannelAccountRecord>, DeskError> {
        Ok(self.store().read().await?.channel_account_by_route(channel.as_str(), external_key).await?)
    }

    /// Every enabled account on `channel`, across workspaces (for a channel's workers).
    pub async fn enabled_channel_accounts(&self, channel: Channel) -> Result<Vec<ChannelAccountRecord>, DeskError> {
        Ok(self.store().read().await?.enabled_channel_accounts(channel.as_str()).await?)
    }

    /// Replaces what the channel keeps between runs on an account (a posted panel's id).
    pub async fn set_channel_account_state(
        &self,
        ws: WorkspaceId,
        id: ChannelAccountId,
        state: &serde_json::Value,
    ) -> Result<(), DeskError> {
        let mut tx = self.store().write().await?;
        tx.set_channel_account_state(ws, id, &state.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The contact known on a channel by this identity, if any. Finding the sender is part of
    /// ingesting, so a channel adapter (which may not view the workspace) may ask.
    pub async fn contact_by_channel_identity(
        &self,
        actor: &Actor,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Option<ContactRecord>, DeskError> {
        require(actor, if actor.is_automatic() { Permission::Manage } else { Permission::View })?;
        Ok(self.store().read().await?.contact_by_identity(actor.workspace_id, kind, value).await?)
    }

    /// The requester's tickets that are not closed, of one help topic (or any), on `channel`.
    pub async fn open_tickets_of_requester(
        &self,
        actor: &Actor,
        contact: ContactId,
        channel: Channel,
        help_topic: Option<HelpTopicId>,
    ) -> Result<Vec<TicketRecord>, DeskError> {
        if !crate::channel_requesters::may_read_tickets_of(actor, contact)? {
            return Ok(Vec::new());
        }
        let q = TicketQuery {
            requester_id: Some(contact),
            help_topic_id: help_topic,
            statuses: TicketStatus::ALL.iter().copied().filter(|s| *s != TicketStatus::Closed).collect(),
            ..TicketQuery::new(actor.workspace_id, 100)
        };
        let mut tx = self.store().read().await?;
        let mut found = Vec::new();
        for t in tx.list_tickets(&q).await? {
            if tx.ticket_channel(actor.workspace_id, t.id).await?.is_some_and(|(c, _)| c == channel.as_str()) {
                found.push(t);
            }
        }
        Ok(found)
    }

    /// Opens a ticket a channel asked for on its user's behalf (an intake form in the chat): the
    /// requester is the contact with the sender's identity (created when new), the thread key and
    /// answering account are the channel's. Idempotent on the channel's key for the opening.
    pub async fn open_channel_ticket(
        &self,
        actor: &Actor,
        input: OpenChannelTicket,
    ) -> Result<TicketRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        let sender = validate_name("sender", &input.sender_value)?;
        crate::retry::retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            if let Some(e) = tx.entry_by_external_id(ws, input.channel, &input.external_message_id).await? {
                return self.load_ticket(&mut tx, ws, e.ticket_id).await;
            }
            let contact = match tx.contact_by_identity(ws, input.sender_kind, &sender).await? {
                Some(c) => c,
                None => {
                    let name = input.sender_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or(sender.clone());
                    let new =
                        NewContact::known_by(validate_name("senderName", &name)?, input.sender_kind, sender.clone());
                    tx.insert_contact(ws, &new, self.now()).await?
                }
            };
            let open = OpenTicket {
                subject: input.subject.clone(),
                description: Some(input.description.clone()),
                requester: RequesterRef::Contact(contact.id),
                priority: None,
                source: Some(Source::for_channel(input.channel)),
                queue_id: None,
                help_topic_id: input.help_topic_id,
                assignee_id: None,
                tags: Vec::new(),
                resolution_due_at: None,
                attachments: input.attachments.clone(),
            };
            let (t, entry) = self
                .insert_ticket(
                    &mut tx,
                    actor,
                    &contact,
                    &open,
                    input.channel,
                    Some(input.thread_key.clone()),
                    Some(input.external_message_id.clone()),
                )
                .await?;
            if let Some(account) = input.account_id {
                tx.set_ticket_channel_account(ws, t.id, account).await?;
            }
            if let Some(meta) = &input.entry_meta {
                tx.set_entry_channel_meta(ws, entry, &meta.to_string()).await?;
            }
            tx.commit().await?;
            self.publish(vec![live(&t, "ticket.opened", Some(entry), false)]);
            Ok(t)
        })
        .await
    }
}
