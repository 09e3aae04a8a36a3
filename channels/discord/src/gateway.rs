//! The gateway connection: serenity's client, pointed at the configured API (the gateway URL
//! comes from `GET /gateway/bot` there). Serenity's shard runner sends heartbeats, reconnects and
//! resumes by itself; when the client gives up altogether (a refused token, Discord unreachable)
//! this loop starts it again after a growing pause. Its state is kept for the web.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{ApplicationId, Context, EventHandler, GatewayIntents, RawEventHandler};
use serenity::async_trait;
use serenity::gateway::{ConnectionStage, ShardStageUpdateEvent};
use serenity::http::HttpBuilder;
use serenity::model::event::Event;

use crate::DiscordChannel;
use crate::inbox::Stored;

/// The gateway connection as the web shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GatewayStatus {
    /// The shard is connected (after READY or RESUMED) and receiving events.
    pub connected: bool,
    /// The guilds the bot is in, as GUILD_CREATE announced them: (id, name).
    pub guilds: Vec<(String, String)>,
    /// The last error that cost the connection, if any.
    pub last_error: Option<String>,
    /// Sessions started (READY) and resumed (RESUMED) since the server started.
    pub sessions: u32,
    pub resumes: u32,
    /// Dispatches received and understood, by event name (`MESSAGE_CREATE`, ...).
    pub received: std::collections::BTreeMap<String, u32>,
    /// Another server of the deployment holds the gateway; this one waits to take over.
    pub standby: bool,
}

/// Shared, lock-protected [`GatewayStatus`].
#[derive(Debug, Default)]
pub(crate) struct StatusCell(Mutex<GatewayStatus>);

impl StatusCell {
    pub(crate) fn get(&self) -> GatewayStatus {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut GatewayStatus)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// What the bot asks Discord to send: guilds and channels, guild messages with their content
/// (a privileged intent, to be switched on in the developer portal), DMs for the rating buttons.
fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::GUILD_MEMBERS
}

struct Events(Arc<DiscordChannel>);

#[async_trait]
impl RawEventHandler for Events {
    async fn raw_event(&self, _ctx: Context, event: Event) {
        let ch = &self.0;
        if let Some(name) = event_name(&event) {
            ch.status.update(|s| *s.received.entry(name.to_string()).or_default() += 1);
        }
        match event {
            Event::Ready(r) => {
                ch.bot_user_id.store(r.ready.user.id.get(), std::sync::atomic::Ordering::Release);
                ch.status.update(|s| {
                    s.connected = true;
                    s.sessions += 1;
                });
                spawn_catch_up(ch.clone());
                let registrar = ch.clone();
                tokio::spawn(async move { registrar.register_commands().await });
            }
            Event::Resumed(_) => {
                ch.status.update(|s| {
                    s.connected = true;
                    s.resumes += 1;
                });
                spawn_catch_up(ch.clone());
            }
            Event::GuildCreate(g) => {
                let (id, name) = (g.guild.id.to_string(), g.guild.name.clone());
                ch.status.update(|s| {
                    s.guilds.retain(|(i, _)| *i != id);
                    s.guilds.push((id, name));
                });
                ch.on_guild_available(g.guild.id.get()).await;
            }
            Event::GuildDelete(g) => {
                let id = g.guild.id.to_string();
                ch.status.update(|s| s.guilds.retain(|(i, _)| *i != id));
            }
            Event::MessageCreate(m) => ch.receive(Stored::MessageCreate(Box::new(m.message))).await,
            Event::MessageUpdate(m) => ch.receive(Stored::MessageUpdate(Box::new(m))).await,
            Event::MessageDelete(m) => ch.receive(Stored::MessageDelete(m)).await,
            Event::ChannelDelete(c) => ch.receive(Stored::ChannelDelete(Box::new(c.channel))).await,
            Event::InteractionCreate(i) => ch.on_interaction(i.interaction).await,
            _ => {}
        }
    }
}

/// Fetches what was missed while disconnected, beside the event handler (which must keep reading
/// the gateway meanwhile).
fn spawn_catch_up(channel: Arc<DiscordChannel>) {
    tokio::spawn(async move {
        match channel.catch_up().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "Discord catch-up fetched messages sent while disconnected"),
            Err(e) => tracing::error!(error = %e, "the Discord catch-up failed"),
        }
    });
}

/// The names of the dispatches the channel acts on (serenity's own `Event::name` serializes the
/// whole event to find it).
fn event_name(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::Ready(_) => "READY",
        Event::Resumed(_) => "RESUMED",
        Event::GuildCreate(_) => "GUILD_CREATE",
        Event::GuildDelete(_) => "GUILD_DELETE",
        Event::ChannelCreate(_) => "CHANNEL_CREATE",
        Event::ChannelDelete(_) => "CHANNEL_DELETE",
        Event::MessageCreate(_) => "MESSAGE_CREATE",
        Event::MessageUpdate(_) => "MESSAGE_UPDATE",
        Event::MessageDelete(_) => "MESSAGE_DELETE",
        Event::InteractionCreate(_) => "INTERACTION_CREATE",
        _ => return None,
    })
}

struct Stages(Arc<DiscordChannel>);

#[async_trait]
impl EventHandler for Stages {
    async fn shard_stage_update(&self, _ctx: Context, e: ShardStageUpdateEvent) {
        let connected = matches!(e.new, ConnectionStage::Connected);
        self.0.status.update(|s| s.connected = connected);
    }
}

/// Shuts serenity's shards down when dropped.
struct ShardsGuard(Arc<serenity::gateway::ShardManager>);

impl Drop for ShardsGuard {
    fn drop(&mut self) {
        let shards = self.0.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { shards.shutdown_all().await });
        }
    }
}

/// The lease that makes one server of a deployment hold the gateway connection.
const LEASE: &str = "discord.gateway";
/// How long the lease lasts unless renewed; a holder that dies hands over after this.
const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often the holder renews the lease, and others ask for it.
const LEASE_EVERY: Duration = Duration::from_secs(5);

/// Runs the gateway connection until the task is dropped: on the one server of a deployment that
/// holds the gateway lease (the others wait on standby and take over when it runs out).
pub(crate) async fn run(channel: Arc<DiscordChannel>) {
    let Some(token) = channel.config.token.clone() else { return };
    let mut pause = Duration::from_secs(1);
    loop {
        match channel.desk.take_lease(LEASE, LEASE_TTL).await {
            Ok(true) => {}
            Ok(false) => {
                channel.status.update(|s| s.standby = true);
                tokio::time::sleep(LEASE_EVERY).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "asking for the Discord gateway lease failed");
                tokio::time::sleep(LEASE_EVERY).await;
                continue;
            }
        }
        channel.status.update(|s| s.standby = false);
        channel.holds_gateway.store(true, std::sync::atomic::Ordering::Release);
        let mut http = HttpBuilder::new(&token)
            .proxy(channel.rest.api_url())
            // Serenity's ratelimiter would send to discord.com whatever the proxy; see rest.rs.
            .ratelimiter_disabled(true)
            .client(channel.rest.client());
        if let Some(app) = channel.config.application_id {
            http = http.application_id(ApplicationId::new(app));
        }
        let client = serenity::client::ClientBuilder::new_with_http(http.build(), intents())
            .raw_event_handler(Events(channel.clone()))
            .event_handler(Stages(channel.clone()))
            .await;
        let renew = async {
            loop {
                tokio::time::sleep(LEASE_EVERY).await;
                if !matches!(channel.desk.take_lease(LEASE, LEASE_TTL).await, Ok(true)) {
                    return;
                }
            }
        };
        let error = match client {
            Ok(mut client) => {
                let shards = client.shard_manager.clone();
                // Serenity's shard runners are tasks of their own: when this future is dropped
                // (the server stops), the guard shuts them down, closing the connection.
                let _guard = ShardsGuard(shards.clone());
                tokio::select! {
                    r = client.start() => match r {
                        Ok(()) => "the gateway connection ended".to_string(),
                        Err(e) => e.to_string(),
                    },
                    () = renew => {
                        shards.shutdown_all().await;
                        "the gateway lease was lost to another server".to_string()
                    }
                }
            }
            Err(e) => e.to_string(),
        };
        channel.holds_gateway.store(false, std::sync::atomic::Ordering::Release);
        if let Err(e) = channel.desk.release_lease(LEASE).await {
            tracing::warn!(error = %e, "releasing the Discord gateway lease failed");
        }
        tracing::warn!(error, "Discord gateway connection lost; starting again");
        channel.status.update(|s| {
            s.connected = false;
            s.last_error = Some(error);
        });
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}
