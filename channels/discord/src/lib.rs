//! The Discord channel (serenity 0.12 over Discord's gateway and REST API).
//!
//! - The gateway connection ([`gateway`]) starts with `serve` when a bot token is configured,
//!   reconnects and resumes by itself, and keeps its [`GatewayStatus`] for the web.
//! - A message in a ticket's private channel becomes an entry on that ticket, idempotent by the
//!   Discord message id (a replayed or redelivered MESSAGE_CREATE adds nothing); its attachments
//!   are downloaded at once into the blob store, since Discord's links expire.
//! - [`DiscordSender`] delivers staff replies from the outbox into the ticket's channel, with the
//!   staff member's name, through [`rest::Rest`] (Discord's rate limits honoured there).
//!
//! Which ticket a Discord channel belongs to is asked of a [`TicketChannels`]; today the
//! ticket's thread key holds its channel id, later the channel account tables will.

mod closing;
pub mod commands;
mod escalation;
pub mod gateway;
mod graphql;
pub mod guilds;
mod inbox;
mod module;
mod opening;
mod rating;
pub mod rest;
pub mod settings;
pub mod setup;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use serenity::all::{ChannelId, GuildChannel, Interaction, Message, MessageId};
use serenity::builder::CreateAttachment;
use serenity::http::{LightMethod, Multipart, MultipartUpload, Request, Route};
use serenity::model::event::{MessageDeleteEvent, MessageUpdateEvent};
use switchboard_channel::BoxFuture;
use switchboard_desk::domain::{Actor, Channel, CloseReason, TicketId, TicketStatus, WorkspaceId};
use switchboard_desk::store::records::IdentityKind;
use switchboard_desk::{
    ChannelSender, ChannelStaffMessage, DeliveryOutcome, Desk, DeskError, InboundMessage, NewAttachment,
    OutboundMessage,
};

pub use gateway::GatewayStatus;
pub use graphql::{DiscordMutation, DiscordQuery};
pub use guilds::{GuildLinkInput, GuildState, LinkedGuild};
pub use module::DiscordModule;
pub use rest::{DEFAULT_API_URL, Rest, RestError};
pub use settings::{GuildSettings, TicketType};
pub use setup::{Deployment, DeploymentStatus, deployment};

/// Discord's limit on a message's content, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Discord's upload limit for a bot without boosts, in bytes.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// How often closed tickets' channels are looked for.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3);
/// Largest attachment downloaded from a message (the desk keeps up to 25 MB).
const MAX_DOWNLOAD_BYTES: usize = 25 * 1024 * 1024;

/// The channel's server configuration.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// `SWITCHBOARD_DISCORD_TOKEN`: the bot's token; without it the channel stays off.
    pub token: Option<String>,
    /// `SWITCHBOARD_DISCORD_APPLICATION_ID`: the bot's application.
    pub application_id: Option<u64>,
    /// `SWITCHBOARD_DISCORD_API_URL`: where REST and the gateway URL lookup go, e.g.
    /// [`DEFAULT_API_URL`] (serenity adds `/api/v10`).
    pub api_url: String,
    /// `SWITCHBOARD_PUBLIC_URL`: the web helpdesk, which `/switchboard view` links to.
    pub web_url: Option<String>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig { token: None, application_id: None, api_url: DEFAULT_API_URL.into(), web_url: None }
    }
}

/// Which ticket a Discord channel belongs to; kept behind a trait so it can move from the
/// ticket's thread key onto the channel account tables without touching the channel.
pub trait TicketChannels: Send + Sync {
    /// The ticket whose private channel is `channel_id`, with its workspace.
    fn ticket_of_channel(&self, channel_id: u64) -> BoxFuture<'_, Result<Option<(WorkspaceId, TicketId)>, DeskError>>;
}

/// [`TicketChannels`] over the ticket's thread key, which holds its Discord channel id.
#[derive(Debug, Clone)]
pub struct ThreadKeyChannels(pub Desk);

impl TicketChannels for ThreadKeyChannels {
    fn ticket_of_channel(&self, channel_id: u64) -> BoxFuture<'_, Result<Option<(WorkspaceId, TicketId)>, DeskError>> {
        Box::pin(async move { self.0.ticket_by_channel_thread(Channel::Discord, &channel_id.to_string()).await })
    }
}

/// The channel: configuration, the REST client, the ticket-channel mapping and the gateway's
/// state, shared by the gateway handlers and the outbox sender.
pub struct DiscordChannel {
    desk: Desk,
    config: DiscordConfig,
    rest: Rest,
    tickets: Box<dyn TicketChannels>,
    status: gateway::StatusCell,
    bot_user_id: AtomicU64,
    /// This server holds the gateway lease: it runs the sweeps too.
    holds_gateway: std::sync::atomic::AtomicBool,
    /// Messages the bot deleted itself (quick notes), whose MESSAGE_DELETE is no news.
    deleted_by_bot: std::sync::Mutex<std::collections::HashSet<u64>>,
    /// Held while a "Request human" click is handled, so a double click escalates once.
    escalating: tokio::sync::Mutex<()>,
    /// `/switchboard setup` forms waiting for their follow-up, by guild and member.
    setups: std::sync::Mutex<std::collections::HashMap<(u64, u64), setup::PendingSetup>>,
}

impl std::fmt::Debug for DiscordChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordChannel").field("api_url", &self.config.api_url).finish_non_exhaustive()
    }
}

impl DiscordChannel {
    /// A channel over `desk`.
    pub fn new(desk: Desk, config: DiscordConfig) -> Arc<DiscordChannel> {
        let rest = Rest::new(config.token.as_deref().unwrap_or_default(), &config.api_url);
        let tickets = Box::new(ThreadKeyChannels(desk.clone()));
        Arc::new(DiscordChannel {
            desk,
            config,
            rest,
            tickets,
            status: gateway::StatusCell::default(),
            bot_user_id: AtomicU64::new(0),
            holds_gateway: std::sync::atomic::AtomicBool::new(false),
            deleted_by_bot: std::sync::Mutex::default(),
            escalating: tokio::sync::Mutex::new(()),
            setups: std::sync::Mutex::default(),
        })
    }

    /// The gateway connection's state.
    pub fn status(&self) -> GatewayStatus {
        self.status.get()
    }

    /// Whether a bot token is configured (and so the gateway runs).
    pub fn enabled(&self) -> bool {
        self.config.token.as_deref().is_some_and(|t| !t.trim().is_empty())
    }

    /// The desk the channel works on.
    pub(crate) fn desk(&self) -> &Desk {
        &self.desk
    }

    /// The bot's own user id, once the gateway said it (READY); 0 before.
    pub(crate) fn bot_user_id(&self) -> u64 {
        self.bot_user_id.load(Ordering::Acquire)
    }

    /// The application id (`SWITCHBOARD_DISCORD_APPLICATION_ID`), when configured.
    pub(crate) fn application_id(&self) -> Option<serenity::all::ApplicationId> {
        self.config.application_id.filter(|a| *a != 0).map(serenity::all::ApplicationId::new)
    }

    /// The web helpdesk's Discord settings page, when the public URL is configured.
    pub(crate) fn web_settings_url(&self) -> Option<String> {
        self.config.web_url.as_deref().map(|u| format!("{}/admin/discord", u.trim_end_matches('/')))
    }

    /// The REST client.
    pub fn rest(&self) -> &Rest {
        &self.rest
    }

    /// Keeps ticket channels in step with their tickets until dropped: stored events a crash
    /// interrupted are processed, closed tickets' channels archived and deleted, every few seconds.
    pub async fn run_sweeps(self: Arc<Self>) {
        loop {
            // Only the server holding the gateway: the others would do the same work twice.
            if self.holds_gateway.load(Ordering::Acquire)
                && let Err(e) = self.sweep_once().await
            {
                tracing::error!(error = %e, "a Discord sweep failed");
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    }

    /// One round of the sweeps: events a crash left in the inbox, closed tickets' channels.
    pub async fn sweep_once(&self) -> Result<(), DeskError> {
        self.sweep_inbox().await?;
        self.archive_closed_tickets().await?;
        Ok(())
    }

    /// Runs the gateway connection until dropped (does nothing without a token).
    pub async fn run_gateway(self: Arc<Self>) {
        if self.enabled() {
            gateway::run(self).await;
        }
    }

    /// The ticket whose channel is `channel_id`, when its guild is linked to the ticket's
    /// workspace; events of guilds no workspace linked are ignored with a log line.
    async fn ticket_in_linked_guild(
        &self,
        guild_id: Option<u64>,
        channel_id: u64,
    ) -> Result<Option<(LinkedGuild, TicketId)>, DeskError> {
        let Some((ws, ticket)) = self.tickets.ticket_of_channel(channel_id).await? else { return Ok(None) };
        let Some(guild_id) = guild_id else { return Ok(None) };
        match self.guild(guild_id).await? {
            Some(g) if g.workspace_id == ws => Ok(Some((g, ticket))),
            _ => {
                tracing::info!(
                    guild = guild_id,
                    channel = channel_id,
                    "an event from a Discord guild not linked to the ticket's workspace; ignored"
                );
                Ok(None)
            }
        }
    }

    /// A MESSAGE_CREATE: a message in a ticket's channel becomes an entry on the ticket: a staff
    /// reply when the author has a staff or management role, else a customer message.
    async fn on_message(&self, m: Message) -> Result<(), DeskError> {
        if m.author.id.get() == self.bot_user_id.load(Ordering::Acquire) || m.author.bot {
            return Ok(());
        }
        let Some((guild, ticket)) =
            self.ticket_in_linked_guild(m.guild_id.map(|g| g.get()), m.channel_id.get()).await?
        else {
            return Ok(());
        };
        self.record_message(&guild, ticket, &m).await
    }

    async fn record_message(&self, guild: &LinkedGuild, ticket: TicketId, m: &Message) -> Result<(), DeskError> {
        let ws = guild.workspace_id;
        // The guild's adapter in this ticket's conversation: it reads this ticket and records
        // staff messages on it, nothing beyond.
        let actor = self.desk.channel_actor_for_ticket(&guild.adapter(), ticket).await?;
        let roles: Vec<u64> = m.member.as_ref().map(|p| p.roles.iter().map(|r| r.get()).collect()).unwrap_or_default();
        let staff = guild.settings.is_staff(&roles);
        // `-# text` from staff: a quick internal note, and the message leaves the channel.
        let quick = if staff { quick_note(&m.content) } else { None };
        // Already recorded (a replay): no downloads either; a note's message is deleted again,
        // in case the first deletion was lost.
        if self.desk.channel_entry_exists(ws, Channel::Discord, &m.id.to_string()).await? {
            if quick.is_some() {
                self.delete_message(m.channel_id, m.id).await;
            }
            return Ok(());
        }
        // Closed, its channel about to be archived: a late message there opens nothing.
        if self.desk.ticket(&actor, ticket).await?.status == TicketStatus::Closed {
            tracing::info!(channel = %m.channel_id, message = %m.id, "a message in a closed ticket's Discord channel; not recorded");
            return Ok(());
        }
        let mut attachments = Vec::new();
        let mut notes = Vec::new();
        for a in &m.attachments {
            match self.download(&a.url, u64::from(a.size)).await {
                Ok(bytes) => attachments.push(NewAttachment {
                    file_name: a.filename.clone(),
                    content_type: a.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                    bytes,
                }),
                Err(e) => notes.push(format!("[attachment {} could not be downloaded: {e}]", a.filename)),
            }
        }
        let mut text = quick.clone().unwrap_or_else(|| m.content.clone());
        for n in notes {
            text = if text.is_empty() { n } else { format!("{text}\n{n}") };
        }
        if text.trim().is_empty() {
            text = match m.attachments.len() {
                0 => "(an empty message)".into(),
                1 => format!("(sent {})", m.attachments[0].filename),
                n => format!("(sent {n} files)"),
            };
        }
        let name = m.author.global_name.clone().unwrap_or_else(|| m.author.name.clone());
        if staff {
            let staff = ChannelStaffMessage {
                channel: Channel::Discord,
                ticket_id: ticket,
                external_message_id: m.id.to_string(),
                author_external_id: m.author.id.to_string(),
                author_name: name,
                text,
                attachments,
                internal: quick.is_some(),
            };
            self.desk.record_channel_staff_message(&actor, staff).await?;
            if quick.is_some() {
                self.delete_message(m.channel_id, m.id).await;
            }
            return Ok(());
        }
        let inbound = InboundMessage {
            channel: Channel::Discord,
            thread_key: Some(m.channel_id.to_string()),
            ticket_id: Some(ticket),
            external_message_id: m.id.to_string(),
            sender_kind: IdentityKind::Channel(Channel::Discord),
            sender_value: m.author.id.to_string(),
            sender_name: Some(name),
            subject: None,
            text,
            attachments,
        };
        // The guild's adapter, not the system: it may ingest for the member, never administer.
        self.desk.ingest(&guild.adapter(), inbound).await?;
        Ok(())
    }

    /// Downloads an attachment, refusing it by its declared size, its `Content-Length`, or as
    /// soon as the bytes read pass the cap, so a wrong size never costs more than the cap.
    async fn download(&self, url: &str, declared: u64) -> Result<Vec<u8>, String> {
        let too_large = || "larger than 25 MB".to_string();
        if declared > MAX_DOWNLOAD_BYTES as u64 {
            return Err(too_large());
        }
        let mut resp = self.rest.client().get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status().as_u16()));
        }
        if resp.content_length().is_some_and(|n| n > MAX_DOWNLOAD_BYTES as u64) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if bytes.len() + chunk.len() > MAX_DOWNLOAD_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// A MESSAGE_UPDATE: the new text goes into the ticket's history; the entry keeps the text
    /// first received.
    async fn on_message_update(&self, m: MessageUpdateEvent) -> Result<(), DeskError> {
        let (Some(content), Some(author)) = (m.content.as_deref(), m.author.as_ref()) else { return Ok(()) };
        if author.id.get() == self.bot_user_id.load(Ordering::Acquire) {
            return Ok(());
        }
        let Some((guild, _)) = self.ticket_in_linked_guild(m.guild_id.map(|g| g.get()), m.channel_id.get()).await?
        else {
            return Ok(());
        };
        let name = author.global_name.clone().unwrap_or_else(|| author.name.clone());
        let actor = guild.adapter();
        let label = format!("{name} (Discord)");
        self.desk.record_channel_message_edit(&actor, Channel::Discord, &m.id.to_string(), &label, content).await?;
        Ok(())
    }

    /// Deletes a message the bot took in otherwise (a quick note); its MESSAGE_DELETE is then
    /// expected, not news for the history.
    async fn delete_message(&self, channel: ChannelId, message: MessageId) {
        self.deleted_by_bot.lock().unwrap_or_else(|e| e.into_inner()).insert(message.get());
        let route = Route::ChannelMessage { channel_id: channel, message_id: message };
        match self.rest.send_json(route, LightMethod::Delete, &serde_json::Value::Null).await {
            Ok(_) => {}
            // Gone already (deleted on an earlier delivery, or by its author).
            Err(e) if e.code() == Some(10008) => {}
            Err(e) => {
                tracing::warn!(channel = %channel, message = %message, error = %e, "deleting a Discord message failed")
            }
        }
    }

    /// A MESSAGE_DELETE: the ticket's history records it; the entry stays.
    async fn on_message_delete(&self, m: MessageDeleteEvent) -> Result<(), DeskError> {
        if self.deleted_by_bot.lock().unwrap_or_else(|e| e.into_inner()).remove(&m.message_id.get()) {
            return Ok(());
        }
        let Some((guild, _)) = self.ticket_in_linked_guild(m.guild_id.map(|g| g.get()), m.channel_id.get()).await?
        else {
            return Ok(());
        };
        let actor = guild.adapter();
        let id = m.message_id.to_string();
        self.desk.record_channel_message_deletion(&actor, Channel::Discord, &id, "Discord").await?;
        Ok(())
    }

    /// A CHANNEL_DELETE: a ticket channel deleted in Discord (by hand, not by a close) closes
    /// its ticket with a note saying so; the conversation stays on the ticket.
    async fn on_channel_delete(&self, c: GuildChannel) -> Result<(), DeskError> {
        let Some((ws, ticket)) = self.tickets.ticket_of_channel(c.id.get()).await? else { return Ok(()) };
        self.close_for_deleted_channel(ws, ticket, &c.name).await
    }

    async fn close_for_deleted_channel(&self, ws: WorkspaceId, ticket: TicketId, name: &str) -> Result<(), DeskError> {
        // The channel's adapter in the ticket's conversation (whose guild the deleted channel no
        // longer tells): closing needs Manage and reading this ticket, nothing more.
        let actor = self.desk.channel_actor_for_ticket(&Actor::channel(ws, Channel::Discord, None), ticket).await?;
        let t = self.desk.ticket(&actor, ticket).await?;
        if t.status == TicketStatus::Closed {
            return Ok(());
        }
        let note = format!("The Discord channel #{name} was deleted in Discord, so the ticket was closed.");
        self.desk.close(&actor, ticket, CloseReason::Other, Some(&note)).await?;
        Ok(())
    }

    async fn on_interaction(&self, i: Interaction) {
        match i {
            Interaction::Component(c) => self.on_component(c).await,
            Interaction::Modal(m) => self.on_modal(m).await,
            Interaction::Command(c) => self.on_command(c).await,
            Interaction::Autocomplete(c) => self.on_autocomplete(c).await,
            other => tracing::debug!(interaction = %other.id(), "Discord interaction of a kind not handled"),
        }
    }

    /// Delivers one staff reply into the ticket's channel.
    async fn deliver(&self, msg: &OutboundMessage) -> DeliveryOutcome {
        if !self.enabled() {
            return DeliveryOutcome::Failed {
                error: "Discord is not configured on this server (SWITCHBOARD_DISCORD_TOKEN)".into(),
            };
        }
        // After close the channel goes: what is sent then (the rating request) is a DM.
        let adapter = Actor::channel(msg.workspace_id, Channel::Discord, msg.channel_account_id);
        let ticket = match self.desk.channel_actor_for_ticket(&adapter, msg.ticket_id).await {
            Ok(actor) => self.desk.ticket(&actor, msg.ticket_id).await,
            Err(e) => Err(e),
        };
        match ticket {
            Ok(t) if t.status == TicketStatus::Closed => {
                return self.deliver_dm(msg, t.csat_rating.is_some()).await;
            }
            Ok(_) => {}
            Err(e) => return DeliveryOutcome::Retry { error: format!("reading the ticket: {e}") },
        }
        let Some(channel_id) = msg.thread_key.as_deref().and_then(|k| k.parse::<u64>().ok()).filter(|c| *c != 0) else {
            return DeliveryOutcome::Failed { error: "the ticket has no Discord channel".into() };
        };
        let content = match &msg.author_name {
            Some(name) => format!("**{}**\n{}", name.replace('*', ""), msg.body),
            None => msg.body.clone(),
        };
        let chunks = split_message(&content, MAX_MESSAGE_CHARS);
        let channel = ChannelId::new(channel_id);
        // The text goes out in as many messages as Discord's 2,000 characters need, the files one
        // per message alongside (the first with the first part). Each message has its own nonce,
        // which Discord enforces: a retry after a lost answer finds the message already sent
        // instead of posting it twice.
        let parts = chunks.len().max(msg.attachments.len()).max(1);
        let mut first_id = None;
        for part in 0..parts {
            let text = chunks.get(part).map_or("", String::as_str);
            let file = msg.attachments.get(part);
            let payload = json!({
                "content": text,
                "nonce": format!("sb{}.{part}", msg.outbox_id),
                "enforce_nonce": true,
                "allowed_mentions": { "parse": [] },
            });
            let route = Route::ChannelMessages { channel_id: channel };
            let request = match file {
                None => Request::new(route, LightMethod::Post).body(Some(payload.to_string().into_bytes())),
                Some(f) => Request::new(route, LightMethod::Post).multipart(Some(Multipart {
                    upload: MultipartUpload::Attachments(vec![CreateAttachment::bytes(
                        f.bytes.clone(),
                        f.file_name.clone(),
                    )]),
                    fields: Vec::new(),
                    payload_json: Some(payload.to_string()),
                })),
            };
            match self.rest.call_json::<Message>(request).await {
                Ok(m) => {
                    first_id.get_or_insert(m.id.to_string());
                }
                Err(e) => return outcome_of(e),
            }
        }
        DeliveryOutcome::Sent { external_message_id: first_id }
    }
}

/// The note of a quick note (`-# text`, Discord's subtext line), when the message is one.
pub fn quick_note(content: &str) -> Option<String> {
    let rest = content.strip_prefix("-#")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(rest.trim().to_string()).filter(|n| !n.is_empty())
}

/// Splits a message into parts of at most `max` characters at the most sensible boundary in
/// reach: a blank line, else a line end, else a sentence end, else a space, else anywhere. A code
/// block cut in two is closed at the end of one part and opened again at the start of the next.
pub fn split_message(text: &str, max: usize) -> Vec<String> {
    const FENCE: &str = "```";
    // Room for closing and reopening a code block.
    let budget = max.saturating_sub(8).max(16);
    let mut parts = Vec::new();
    let mut rest = text.trim_end().to_string();
    let mut reopen = false;
    while !rest.is_empty() {
        if reopen {
            rest = format!("{FENCE}\n{rest}");
        }
        if rest.chars().count() <= max {
            parts.push(rest);
            break;
        }
        let window: String = rest.chars().take(budget).collect();
        let cut = ["\n\n", "\n", ". ", " "]
            .iter()
            .filter_map(|sep| window.rfind(sep).map(|i| i + sep.len()))
            .find(|i| *i > budget / 2)
            .unwrap_or(window.len());
        let mut part = rest[..cut].trim_end().to_string();
        let tail = rest[cut..].trim_start_matches([' ', '\n']).to_string();
        reopen = part.matches(FENCE).count() % 2 == 1;
        if reopen {
            part.push('\n');
            part.push_str(FENCE);
        }
        parts.push(part);
        rest = tail;
    }
    parts
}

fn outcome_of(e: RestError) -> DeliveryOutcome {
    match e {
        RestError::Transient(error) => DeliveryOutcome::Retry { error },
        refused => DeliveryOutcome::Failed { error: refused.to_string() },
    }
}

/// Delivers staff replies on Discord tickets from the outbox.
#[derive(Debug, Clone)]
pub struct DiscordSender(pub Arc<DiscordChannel>);

impl ChannelSender for DiscordSender {
    fn channel(&self) -> Channel {
        Channel::Discord
    }

    fn send<'a>(&'a self, msg: &'a OutboundMessage) -> BoxFuture<'a, DeliveryOutcome> {
        Box::pin(self.0.deliver(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::split_message;

    #[test]
    fn long_replies_split_at_paragraphs_then_lines_then_words() {
        let para = "word ".repeat(300);
        let text = format!("{}\n\n{}", para.trim(), para.trim());
        let parts = split_message(&text, 2000);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts[0], para.trim());
        // No boundary at all: cut at the budget, nothing lost.
        let blob = "x".repeat(4500);
        let parts = split_message(&blob, 2000);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat(), blob);
        assert_eq!(split_message("short", 2000), ["short"]);
    }

    #[test]
    fn quick_notes_start_with_the_subtext_marker_and_a_space() {
        use super::quick_note;
        assert_eq!(quick_note("-# checked the logs").as_deref(), Some("checked the logs"));
        assert_eq!(quick_note("-#\nmulti\nline").as_deref(), Some("multi\nline"));
        assert_eq!(quick_note("-#hashtag"), None);
        assert_eq!(quick_note("-#   "), None);
        assert_eq!(quick_note("see -# this"), None);
    }

    #[test]
    fn a_code_block_cut_in_two_is_closed_and_reopened() {
        let code = (0..300).map(|i| format!("line {i}")).collect::<Vec<_>>().join("\n");
        let text = format!("Run this:\n```\n{code}\n```");
        let parts = split_message(&text, 2000);
        assert!(parts.len() >= 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000 && p.matches("```").count() % 2 == 0), "{parts:?}");
        assert!(parts[1].starts_with("```\n"));
    }
}
