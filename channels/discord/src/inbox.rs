//! Reliability of what Discord sends: gateway events about ticket channels are stored in the
//! durable inbox before they are processed (once per key, so a replay, a redelivery or a resumed
//! session finds its row), and processed from there; an event a crash interrupted is processed by
//! the sweep after the restart. After a new session (READY) or a resume, messages written while
//! the server was away are fetched from each open ticket's channel history after the last one
//! seen, and a ticket whose channel vanished meanwhile is closed with a note.

use serde_json::Value;
use serenity::all::{ChannelId, GuildChannel, Message};
use serenity::http::{LightMethod, Request, Route};
use serenity::model::event::{MessageDeleteEvent, MessageUpdateEvent};
use switchboard_desk::DeskError;
use switchboard_desk::domain::{Actor, Channel, ChannelInboxId, TicketId};

use crate::DiscordChannel;

/// An event is reprocessed by the sweep once it has waited this long unprocessed.
const STALE_MS: i64 = 30_000;
/// Attempts at one event before it is set aside (the reason stays on its row).
const MAX_ATTEMPTS: i64 = 5;
/// Processed events are kept this long (for redeliveries), then pruned.
pub(crate) const KEEP_MS: i64 = 7 * 24 * 3_600_000;

/// A gateway event the inbox keeps.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "event")]
pub(crate) enum Stored {
    MessageCreate(Box<Message>),
    MessageUpdate(Box<MessageUpdateEvent>),
    MessageDelete(MessageDeleteEvent),
    ChannelDelete(Box<GuildChannel>),
}

impl Stored {
    /// The event's own key: what it is about, so the same event twice is one row.
    fn key(&self) -> String {
        match self {
            Stored::MessageCreate(m) => format!("message:{}", m.id),
            // Each edit is its own event: Discord stamps it with the edit's time.
            Stored::MessageUpdate(m) => {
                let at = m.edited_timestamp.map(|t| t.unix_timestamp()).unwrap_or_default();
                let content = m.content.as_deref().map(|c| c.len()).unwrap_or_default();
                format!("edit:{}:{at}:{content}", m.id)
            }
            Stored::MessageDelete(m) => format!("delete:{}", m.message_id),
            Stored::ChannelDelete(c) => format!("channel-delete:{}", c.id),
        }
    }
}

impl DiscordChannel {
    /// Stores the event, then processes it; a stored duplicate is left alone.
    pub(crate) async fn receive(&self, event: Stored) {
        // Only ticket channels' events are the helpdesk's business (a community's other channels
        // are not stored); the bot's own messages neither.
        let channel = match &event {
            Stored::MessageCreate(m) if m.author.id.get() == self.bot_user_id() || m.author.bot => return,
            Stored::MessageCreate(m) => m.channel_id,
            Stored::MessageUpdate(m) => m.channel_id,
            Stored::MessageDelete(m) => m.channel_id,
            Stored::ChannelDelete(c) => c.id,
        };
        match self.tickets.ticket_of_channel(channel.get()).await {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => {
                tracing::error!(channel = %channel, error = %e, "looking up a Discord channel's ticket failed; the catch-up fetches its messages later");
                return;
            }
        }
        let key = event.key();
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(key, error = %e, "a Discord event could not be stored; processing it directly");
                return self.process(event).await.unwrap_or(());
            }
        };
        match self.desk.store_channel_event(Channel::Discord, &key, &payload).await {
            Ok(Some(id)) => self.process_stored(id, event).await,
            Ok(None) => tracing::debug!(key, "a Discord event received before; skipped"),
            Err(e) => tracing::error!(key, error = %e, "storing a Discord event failed; the catch-up fetches it later"),
        }
    }

    async fn process_stored(&self, id: ChannelInboxId, event: Stored) {
        let outcome = self.process(event).await;
        let (done, note) = match &outcome {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e.to_string())),
        };
        if let Err(e) = self.desk.finish_channel_event(id, done, note.as_deref()).await {
            tracing::error!(id = id.0, error = %e, "marking a Discord event processed failed");
        }
    }

    /// Processes one event; an error leaves it for the sweep to try again.
    async fn process(&self, event: Stored) -> Result<(), DeskError> {
        match event {
            Stored::MessageCreate(m) => self.on_message(*m).await,
            Stored::MessageUpdate(m) => self.on_message_update(*m).await,
            Stored::MessageDelete(m) => self.on_message_delete(m).await,
            Stored::ChannelDelete(c) => self.on_channel_delete(*c).await,
        }
    }

    /// Processes stored events a crash or an error left behind; sets aside those that keep failing.
    pub(crate) async fn sweep_inbox(&self) -> Result<usize, DeskError> {
        let ids = self.desk.pending_channel_events(Channel::Discord, STALE_MS, 100).await?;
        let mut n = 0;
        for id in ids {
            let Some(row) = self.desk.pending_channel_event(id).await? else { continue };
            if row.attempts >= MAX_ATTEMPTS {
                let note = format!("set aside after {} attempts: {}", row.attempts, row.note.unwrap_or_default());
                self.desk.finish_channel_event(id, true, Some(&note)).await?;
                continue;
            }
            match serde_json::from_str::<Stored>(&row.payload) {
                Ok(event) => self.process_stored(id, event).await,
                Err(e) => self.desk.finish_channel_event(id, true, Some(&format!("unreadable: {e}"))).await?,
            }
            n += 1;
        }
        Ok(n)
    }

    /// After READY or RESUMED: fetches what each open ticket's channel received after the last
    /// message the ticket has, through the inbox (so what the gateway also delivers is one row),
    /// and closes tickets whose channel is gone.
    pub(crate) async fn catch_up(&self) -> Result<usize, DeskError> {
        let mut after = TicketId(0);
        let mut fetched = 0;
        loop {
            let tickets = self.desk.open_channel_conversations(Channel::Discord, after, 100).await?;
            let Some(last) = tickets.last() else { break };
            after = last.1;
            for (ws, ticket, channel) in tickets {
                let Ok(channel_id) = channel.parse::<u64>() else { continue };
                let adapter = Actor::channel(ws, Channel::Discord, None);
                let actor = self.desk.channel_actor_for_ticket(&adapter, ticket).await?;
                let thread = self.desk.thread(&actor, ticket).await?;
                let seen = thread
                    .iter()
                    .filter_map(|e| e.entry.external_message_id.as_deref()?.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0);
                match self.history_after(channel_id, seen).await {
                    Ok(messages) => {
                        for m in messages {
                            fetched += 1;
                            self.receive(Stored::MessageCreate(Box::new(m))).await;
                        }
                    }
                    Err(e) if e.code() == Some(10003) => {
                        if let Err(e) = self.close_for_deleted_channel(ws, ticket, &format!("{channel_id}")).await {
                            tracing::error!(ticket = ticket.0, error = %e, "closing a ticket whose channel vanished failed");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(channel = channel_id, error = %e, "catching up on a Discord channel failed")
                    }
                }
            }
        }
        Ok(fetched)
    }

    /// The channel's messages after `after`, oldest first (pages of 100).
    async fn history_after(&self, channel: u64, mut after: u64) -> Result<Vec<Message>, crate::RestError> {
        let mut all = Vec::new();
        loop {
            let params = vec![("limit", "100".to_string()), ("after", after.to_string())];
            let request =
                Request::new(Route::ChannelMessages { channel_id: ChannelId::new(channel) }, LightMethod::Get)
                    .params(Some(params));
            let page: Vec<Value> = self.rest.call_json(request).await?;
            let mut page: Vec<Message> = page.into_iter().filter_map(|m| serde_json::from_value(m).ok()).collect();
            page.sort_by_key(|m| m.id);
            let full = page.len() == 100;
            if let Some(last) = page.last() {
                after = last.id.get();
            }
            all.extend(page);
            if !full || all.len() >= 10_000 {
                return Ok(all);
            }
        }
    }
}
