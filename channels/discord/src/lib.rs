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

pub mod gateway;
mod module;
pub mod rest;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use serenity::all::{ChannelId, GuildChannel, Interaction, Message};
use serenity::builder::CreateAttachment;
use serenity::http::{LightMethod, Multipart, MultipartUpload, Request, Route};
use serenity::model::event::{MessageDeleteEvent, MessageUpdateEvent};
use switchboard_channel::BoxFuture;
use switchboard_desk::domain::{Actor, Channel, CloseReason, TicketId, TicketStatus, WorkspaceId};
use switchboard_desk::store::records::IdentityKind;
use switchboard_desk::{
    ChannelSender, DeliveryOutcome, Desk, DeskError, InboundMessage, NewAttachment, OutboundMessage,
};

pub use gateway::GatewayStatus;
pub use module::DiscordModule;
pub use rest::{DEFAULT_API_URL, Rest, RestError};

/// Discord's limit on a message's content, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// Discord's upload limit for a bot without boosts, in bytes.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
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
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig { token: None, application_id: None, api_url: DEFAULT_API_URL.into() }
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

    /// The REST client.
    pub fn rest(&self) -> &Rest {
        &self.rest
    }

    /// Runs the gateway connection until dropped (does nothing without a token).
    pub async fn run_gateway(self: Arc<Self>) {
        if self.enabled() {
            gateway::run(self).await;
        }
    }

    /// A MESSAGE_CREATE: a message in a ticket's channel becomes an entry on the ticket.
    async fn on_message(&self, m: Message) {
        if m.author.id.get() == self.bot_user_id.load(Ordering::Acquire) || m.guild_id.is_none() {
            return;
        }
        let (ws, ticket) = match self.tickets.ticket_of_channel(m.channel_id.get()).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, channel = %m.channel_id, message = %m.id, "looking up a Discord channel's ticket failed; the message is not recorded");
                return;
            }
        };
        if let Err(e) = self.record_message(ws, ticket, &m).await {
            tracing::error!(error = %e, channel = %m.channel_id, message = %m.id, "recording a Discord message failed");
        }
    }

    async fn record_message(&self, ws: WorkspaceId, ticket: TicketId, m: &Message) -> Result<(), DeskError> {
        let actor = Actor::system(ws);
        let mut attachments = Vec::new();
        let mut notes = Vec::new();
        // Already recorded (a replay): no downloads either.
        if self.desk.channel_entry_exists(ws, Channel::Discord, &m.id.to_string()).await? {
            return Ok(());
        }
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
        let mut text = m.content.clone();
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
        let inbound = InboundMessage {
            channel: Channel::Discord,
            thread_key: Some(m.channel_id.to_string()),
            ticket_id: Some(ticket),
            external_message_id: m.id.to_string(),
            sender_kind: IdentityKind::Discord,
            sender_value: m.author.id.to_string(),
            sender_name: Some(name),
            subject: None,
            text,
            attachments,
        };
        self.desk.ingest(&actor, inbound).await?;
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

    async fn on_message_update(&self, m: MessageUpdateEvent) {
        // Recording edits in the ticket's history needs entry revisions in the core; until then
        // the first version stays on the ticket.
        tracing::debug!(channel = %m.channel_id, message = %m.id, "Discord message edited");
    }

    async fn on_message_delete(&self, m: MessageDeleteEvent) {
        tracing::debug!(channel = %m.channel_id, message = %m.message_id, "Discord message deleted");
    }

    /// A CHANNEL_DELETE: a ticket channel deleted in Discord (by hand, not by a close) closes
    /// its ticket with a note saying so; the conversation stays on the ticket.
    async fn on_channel_delete(&self, c: GuildChannel) {
        let (ws, ticket) = match self.tickets.ticket_of_channel(c.id.get()).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, channel = %c.id, "looking up a deleted Discord channel's ticket failed");
                return;
            }
        };
        if let Err(e) = self.close_for_deleted_channel(ws, ticket, &c.name).await {
            tracing::error!(error = %e, channel = %c.id, "closing the ticket of a deleted Discord channel failed");
        }
    }

    async fn close_for_deleted_channel(&self, ws: WorkspaceId, ticket: TicketId, name: &str) -> Result<(), DeskError> {
        let actor = Actor::system(ws);
        let t = self.desk.ticket(&actor, ticket).await?;
        if t.status == TicketStatus::Closed {
            return Ok(());
        }
        let note = format!("The Discord channel #{name} was deleted in Discord, so the ticket was closed.");
        self.desk.close(&actor, ticket, CloseReason::Other, Some(&note)).await?;
        Ok(())
    }

    async fn on_interaction(&self, i: Interaction) {
        tracing::debug!(interaction = %i.id(), "Discord interaction (not handled yet)");
    }

    /// Delivers one staff reply into the ticket's channel.
    async fn deliver(&self, msg: &OutboundMessage) -> DeliveryOutcome {
        if !self.enabled() {
            return DeliveryOutcome::Failed {
                error: "Discord is not configured on this server (SWITCHBOARD_DISCORD_TOKEN)".into(),
            };
        }
        let Some(channel_id) = msg.thread_key.as_deref().and_then(|k| k.parse::<u64>().ok()).filter(|c| *c != 0) else {
            return DeliveryOutcome::Failed { error: "the ticket has no Discord channel".into() };
        };
        let content = match &msg.author_name {
            Some(name) => format!("**{}**\n{}", name.replace('*', ""), msg.body),
            None => msg.body.clone(),
        };
        if content.chars().count() > MAX_MESSAGE_CHARS {
            return DeliveryOutcome::Failed {
                error: format!("not sent: Discord messages are limited to {MAX_MESSAGE_CHARS} characters"),
            };
        }
        let channel = ChannelId::new(channel_id);
        // The first message carries the text and the first file; further files follow one per
        // message. Each has its own nonce, which Discord enforces: a retry after a lost answer
        // finds the message already sent instead of posting it twice.
        let mut first_id = None;
        let mut files = msg.attachments.iter();
        let mut part = 0;
        loop {
            let file = files.next();
            if part > 0 && file.is_none() {
                break;
            }
            let payload = json!({
                "content": if part == 0 { content.as_str() } else { "" },
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
            part += 1;
            if file.is_none() {
                break;
            }
        }
        DeliveryOutcome::Sent { external_message_id: first_id }
    }
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
