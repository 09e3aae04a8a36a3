//! A Discord double: Discord's REST API under `/api/v10` and its gateway WebSocket, on a local
//! port, speaking Discord's wire format closely enough that the production serenity client,
//! pointed at it by `SWITCHBOARD_DISCORD_API_URL`, cannot tell the difference.
//!
//! - REST: `GET /gateway`, `GET /gateway/bot`, `GET /users/@me`, `GET /guilds/{id}` (403 Missing
//!   Access for a guild the bot is not in), its roles and members, guild channels (list, create,
//!   with the 50-per-category and 500-per-guild caps and Discord's error bodies), channels (get,
//!   rename, delete), permission overwrites, messages (create as JSON or multipart with files, get,
//!   list with `before`/`after`/`limit`, edit, delete), interaction callbacks and the original response, DM channels, and the attachment
//!   CDN (whose links the test can expire, as Discord's expire after about a day).
//! - Gateway: HELLO, IDENTIFY and READY, GUILD_CREATE for every guild, heartbeats and ACKs,
//!   RESUME with replay and RESUMED, INVALID_SESSION when a resume is refused, and any dispatch
//!   the test sends (MESSAGE_CREATE/UPDATE/DELETE, INTERACTION_CREATE, CHANNEL_DELETE), with
//!   fixtures carrying every field serenity needs to parse them.
//! - Permissions: the bot holds `@everyone`'s and its managed role's permissions (the invite's,
//!   [`permission::BOT_INVITE`], until a test changes them); a request it lacks the permission
//!   for (Manage Channels to create, edit or delete a channel, Manage Roles for overwrites, Send
//!   Messages, ...) is refused with Discord's 403 Missing Permissions (50013).
//! - Rate limits: [`DiscordDouble::rate_limit`] answers the next matching requests with 429,
//!   Discord's body and headers (`Retry-After`, `X-RateLimit-*`, `X-RateLimit-Global` for the
//!   global limit), and refuses requests made before the wait is over.
//! - Every request is logged ([`DiscordDouble::requests`]) for assertions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Discord's cap on the channels in one category.
pub const MAX_CHANNELS_PER_CATEGORY: usize = 50;
/// Discord's cap on the channels (categories included) in one guild.
pub const MAX_CHANNELS_PER_GUILD: usize = 500;

/// Channel types as Discord numbers them.
pub mod channel_type {
    /// A guild text channel.
    pub const TEXT: u64 = 0;
    /// A direct message.
    pub const DM: u64 = 1;
    /// A category.
    pub const CATEGORY: u64 = 4;
}

/// Discord's permission bits the double checks the bot's requests against.
pub mod permission {
    /// Every permission, whatever else is set.
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    /// What the bot's invite asks for, and so its managed role holds in a new guild.
    pub const BOT_INVITE: u64 = MANAGE_CHANNELS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | MANAGE_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | MANAGE_ROLES;
}

/// One request the double received.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    /// The path without `/api/v10`, e.g. `/channels/123/messages`.
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    /// The JSON body (for multipart, the `payload_json` part), or `Null`.
    pub json: Value,
    /// Files sent as multipart parts: (part name, file name, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
    /// The status the double answered.
    pub status: u16,
}

/// A user as the double knows them.
#[derive(Debug, Clone)]
pub struct DiscordUser {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub bot: bool,
}

impl DiscordUser {
    /// A person with a username and a display name.
    pub fn person(id: u64, username: &str, global_name: &str) -> DiscordUser {
        DiscordUser { id, username: username.into(), global_name: Some(global_name.into()), bot: false }
    }

    /// The user object as Discord sends it.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id.to_string(), "username": self.username, "discriminator": "0",
            "global_name": self.global_name, "avatar": null, "bot": self.bot, "public_flags": 0,
            "flags": 0, "banner": null, "accent_color": null, "avatar_decoration_data": null,
        })
    }
}

/// A rule answering matching requests with 429.
#[derive(Debug, Clone)]
struct RateLimitRule {
    method: Method,
    path_prefix: String,
    remaining: u32,
    retry_after: f64,
    global: bool,
}

#[derive(Debug, Clone)]
struct StoredAttachment {
    bytes: Vec<u8>,
    content_type: String,
    expired: bool,
}

#[derive(Debug, Default)]
struct Session {
    seq: u64,
    /// Dispatches of this session, for replay on RESUME.
    sent: Vec<(u64, Value)>,
}

#[derive(Debug)]
struct Double {
    token: String,
    application_id: u64,
    bot: DiscordUser,
    guilds: BTreeMap<u64, GuildState>,
    /// Every channel by id (guild channels and DMs).
    channels: BTreeMap<u64, Value>,
    messages: HashMap<u64, Vec<Value>>,
    users: HashMap<u64, DiscordUser>,
    dm_refused: HashSet<u64>,
    log: Vec<LoggedRequest>,
    rate_limits: Vec<RateLimitRule>,
    /// Until when a route (or every route, for the global limit) must not be called.
    blocked: Vec<(Option<String>, Instant)>,
    premature_calls: u32,
    attachments: HashMap<String, StoredAttachment>,
    next_id: u64,
    sessions: HashMap<String, Session>,
    current_session: Option<String>,
    connections: Vec<mpsc::UnboundedSender<Outgoing>>,
    identifies: u32,
    resumes: u32,
    refuse_resume: bool,
    heartbeats: u32,
    ws_url: String,
    base_url: String,
}

#[derive(Debug, Clone)]
struct GuildState {
    id: u64,
    name: String,
    owner_id: u64,
    roles: Vec<Value>,
    members: Vec<(DiscordUser, Vec<u64>)>,
    /// The bot's roles here: its own managed role, from the permissions it was invited with.
    bot_roles: Vec<u64>,
}

#[derive(Debug)]
enum Outgoing {
    Json(Value),
    Close(u16, String),
}

/// The running double; stops when dropped.
#[derive(Debug)]
pub struct DiscordDouble {
    state: Arc<Mutex<Double>>,
    /// `http://127.0.0.1:PORT`, the value for `SWITCHBOARD_DISCORD_API_URL`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DiscordDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Discord's epoch (2015-01-01) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

fn snowflake_now(counter: u64) -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS);
    ((ms - DISCORD_EPOCH_MS) << 22) | (counter & 0x3f_ffff)
}

fn iso_now() -> String {
    // Discord's ISO 8601 with microseconds and an offset.
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Double {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        snowflake_now(self.next_id)
    }

    /// The bot's guild-wide permissions: `@everyone`'s and its roles' together; an
    /// administrator has them all (channel overwrites are not applied: the bot's own channels
    /// allow it what it needs).
    fn bot_permissions(&self, guild_id: u64) -> u64 {
        let Some(g) = self.guilds.get(&guild_id) else { return 0 };
        let bits = |r: &Value| r["permissions"].as_str().and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
        let mut p = 0;
        for r in &g.roles {
            let id = r["id"].as_str().and_then(parse_id).unwrap_or_default();
            if id == guild_id || g.bot_roles.contains(&id) {
                p |= bits(r);
            }
        }
        if p & permission::ADMINISTRATOR != 0 { u64::MAX } else { p }
    }

    fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        self.channels.get(&channel_id)?.get("guild_id")?.as_str()?.parse().ok()
    }

    fn guild_channel_count(&self, guild_id: u64) -> usize {
        self.channels.values().filter(|c| c["guild_id"].as_str() == Some(&guild_id.to_string())).count()
    }

    fn children_of(&self, category_id: u64) -> usize {
        self.channels.values().filter(|c| c["parent_id"].as_str() == Some(&category_id.to_string())).count()
    }

    fn guild_create(&self, g: &GuildState) -> Value {
        let channels: Vec<Value> = self
            .channels
            .values()
            .filter(|c| c["guild_id"].as_str() == Some(&g.id.to_string()))
            .map(|c| {
                let mut c = c.clone();
                // Discord leaves guild_id out of the channels inside GUILD_CREATE.
                if let Some(o) = c.as_object_mut() {
                    o.remove("guild_id");
                }
                c
            })
            .collect();
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|(u, roles)| member_json(u, roles, None))
            .chain([member_json(&self.bot, &g.bot_roles, None)])
            .collect();
        let head = json!({
            "id": g.id.to_string(), "name": g.name, "icon": null, "icon_hash": null, "splash": null,
            "discovery_splash": null, "owner_id": g.owner_id.to_string(), "afk_channel_id": null,
            "afk_timeout": 300, "widget_enabled": false, "widget_channel_id": null,
            "verification_level": 1, "default_message_notifications": 1, "explicit_content_filter": 2,
            "roles": g.roles, "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
            "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        });
        let more = json!({
            "max_presences": null, "max_members": 500000, "vanity_url_code": null, "description": null,
            "banner": null, "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
            "public_updates_channel_id": null, "max_video_channel_users": 25, "max_stage_video_channel_users": 50,
            "approximate_member_count": null, "approximate_presence_count": null, "welcome_screen": null,
            "nsfw_level": 0, "stickers": [], "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null, "joined_at": iso_now(), "large": false, "unavailable": false,
            "member_count": members.len(), "voice_states": [], "members": members, "channels": channels,
            "threads": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
        });
        let rest = json!({
            "lazy": true, "region": "deprecated", "nsfw": false, "hub_type": null, "latest_onboarding_question_id": null,
            "incidents_data": null, "inventory_settings": null, "home_header": null, "version": 0,
            "soundboard_sounds": [], "embedded_activities": [], "activity_instances": [], "application_command_counts": {},
        });
        let mut guild = head;
        for part in [more, rest] {
            if let (Some(g), Value::Object(p)) = (guild.as_object_mut(), part) {
                g.extend(p);
            }
        }
        guild
    }

    fn dispatch(&mut self, event: &str, data: Value) {
        let Some(sid) = self.current_session.clone() else { return };
        let Some(session) = self.sessions.get_mut(&sid) else { return };
        session.seq += 1;
        let payload = json!({ "op": 0, "t": event, "s": session.seq, "d": data });
        session.sent.push((session.seq, payload.clone()));
        self.connections.retain(|c| c.send(Outgoing::Json(payload.clone())).is_ok());
    }

    fn message_json(&mut self, channel_id: u64, author: &DiscordUser, content: &str, attachments: Vec<Value>) -> Value {
        let id = self.id();
        let guild_id = self.guild_of_channel(channel_id);
        let roles = guild_id
            .and_then(|g| self.guilds.get(&g))
            .and_then(|g| g.members.iter().find(|(u, _)| u.id == author.id).map(|(_, r)| r.clone()))
            .unwrap_or_default();
        let mut m = json!({
            "id": id.to_string(), "channel_id": channel_id.to_string(), "author": author.json(),
            "content": content, "timestamp": iso_now(), "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": attachments,
            "embeds": [], "pinned": false, "type": 0, "flags": 0, "components": [],
        });
        if let Some(g) = guild_id {
            m["guild_id"] = json!(g.to_string());
            m["member"] = json!({ "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                "joined_at": iso_now(), "deaf": false, "mute": false, "flags": 0, "pending": false,
                "nick": null, "avatar": null, "premium_since": null, "communication_disabled_until": null });
        }
        m
    }

    fn store_attachment(&mut self, channel_id: u64, name: &str, content_type: &str, bytes: Vec<u8>) -> Value {
        let id = self.id();
        let path = format!("/attachments/{channel_id}/{id}/{name}");
        let url = format!("{}{path}?ex=6790a1b2&is=678f5032&hm=5f1e", self.base_url);
        let size = bytes.len();
        self.attachments.insert(path, StoredAttachment { bytes, content_type: content_type.into(), expired: false });
        json!({ "id": id.to_string(), "filename": name, "size": size, "url": url, "proxy_url": url,
            "content_type": content_type })
    }
}

fn member_json(u: &DiscordUser, roles: &[u64], permissions: Option<&str>) -> Value {
    let mut m = json!({
        "user": u.json(), "roles": roles.iter().map(u64::to_string).collect::<Vec<_>>(), "joined_at": iso_now(),
        "deaf": false, "mute": false, "flags": 0, "pending": false, "nick": null, "avatar": null,
        "premium_since": null, "communication_disabled_until": null,
    });
    if let Some(p) = permissions {
        m["permissions"] = json!(p);
    }
    m
}

fn discord_error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message, "code": code }))).into_response()
}

/// Whether a message or channel object has the snowflake `id` (Discord sends ids as strings).
fn has_id(v: &Value, id: u64) -> bool {
    v["id"].as_str().and_then(parse_id) == Some(id)
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

impl DiscordDouble {
    /// Starts the double on a free port with a bot token, application id and bot user id.
    pub async fn start(token: &str, application_id: u64, bot_user_id: u64) -> anyhow::Result<DiscordDouble> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let state = Arc::new(Mutex::new(Double {
            token: token.into(),
            application_id,
            bot: DiscordUser { id: bot_user_id, username: "Switchboard".into(), global_name: None, bot: true },
            guilds: BTreeMap::new(),
            channels: BTreeMap::new(),
            messages: HashMap::new(),
            users: HashMap::new(),
            dm_refused: HashSet::new(),
            log: Vec::new(),
            rate_limits: Vec::new(),
            blocked: Vec::new(),
            premature_calls: 0,
            attachments: HashMap::new(),
            next_id: 0,
            sessions: HashMap::new(),
            current_session: None,
            connections: Vec::new(),
            identifies: 0,
            resumes: 0,
            refuse_resume: false,
            heartbeats: 0,
            ws_url: format!("ws://{addr}/gateway"),
            base_url: url.clone(),
        }));
        let app = Router::new()
            .route("/gateway", get(gateway))
            .route("/attachments/{*rest}", get(attachment))
            .route("/api/v10/{*rest}", any(rest))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(DiscordDouble { state, url, task })
    }

    fn lock(&self) -> MutexGuard<'_, Double> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh snowflake id.
    pub fn new_id(&self) -> u64 {
        self.lock().id()
    }

    /// Adds a guild the bot is in; returns its id. Its `@everyone` role has the guild's id.
    pub fn add_guild(&self, name: &str, owner: &DiscordUser) -> u64 {
        let mut s = self.lock();
        let id = s.id();
        let everyone = json!({ "id": id.to_string(), "name": "@everyone", "color": 0, "hoist": false,
            "icon": null, "unicode_emoji": null, "position": 0, "permissions": "1071698660929",
            "managed": false, "mentionable": false, "flags": 0, "colors": { "primary_color": 0,
            "secondary_color": null, "tertiary_color": null } });
        s.users.insert(owner.id, owner.clone());
        // The bot's managed role, with what its invite asked for (Discord makes it on joining).
        let bot_role = s.id();
        let bot_role_json = json!({ "id": bot_role.to_string(), "name": s.bot.username, "color": 0, "hoist": false,
            "icon": null, "unicode_emoji": null, "position": 1, "permissions": permission::BOT_INVITE.to_string(),
            "managed": true, "mentionable": false, "flags": 0, "tags": { "bot_id": s.bot.id.to_string() },
            "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null } });
        let g = GuildState {
            id,
            name: name.into(),
            owner_id: owner.id,
            roles: vec![everyone, bot_role_json],
            members: vec![(owner.clone(), vec![])],
            bot_roles: vec![bot_role],
        };
        s.guilds.insert(id, g.clone());
        let payload = s.guild_create(&g);
        s.dispatch("GUILD_CREATE", payload);
        id
    }

    /// Adds a role to a guild; returns its id.
    pub fn add_role(&self, guild_id: u64, name: &str) -> u64 {
        let mut s = self.lock();
        let id = s.id();
        let position = s.guilds.get(&guild_id).map_or(1, |g| g.roles.len());
        if let Some(g) = s.guilds.get_mut(&guild_id) {
            g.roles.push(json!({ "id": id.to_string(), "name": name, "color": 3447003, "hoist": true,
                "icon": null, "unicode_emoji": null, "position": position, "permissions": "0",
                "managed": false, "mentionable": true, "flags": 0, "colors": { "primary_color": 3447003,
                "secondary_color": null, "tertiary_color": null } }));
        }
        id
    }

    /// The bot's own managed role in a guild.
    pub fn bot_role(&self, guild_id: u64) -> u64 {
        self.lock().guilds.get(&guild_id).and_then(|g| g.bot_roles.first().copied()).unwrap_or_default()
    }

    /// Sets a role's permissions (Discord's bits), as an admin does in Server Settings, Roles.
    pub fn set_role_permissions(&self, guild_id: u64, role_id: u64, permissions: u64) {
        let mut s = self.lock();
        if let Some(r) =
            s.guilds.get_mut(&guild_id).and_then(|g| g.roles.iter_mut().find(|r| r["id"] == json!(role_id.to_string())))
        {
            r["permissions"] = json!(permissions.to_string());
        }
    }

    /// The requests Discord refused for want of a permission (403, code 50013).
    pub fn missing_permission_refusals(&self) -> usize {
        self.lock().log.iter().filter(|r| r.status == 403 && r.method != "GET").count()
    }

    /// Adds a member with roles to a guild.
    pub fn add_member(&self, guild_id: u64, user: &DiscordUser, roles: &[u64]) {
        let mut s = self.lock();
        s.users.insert(user.id, user.clone());
        if let Some(g) = s.guilds.get_mut(&guild_id) {
            g.members.retain(|(u, _)| u.id != user.id);
            g.members.push((user.clone(), roles.to_vec()));
        }
    }

    /// Adds a channel by hand (as a guild admin would); returns its id.
    pub fn add_channel(&self, guild_id: u64, name: &str, kind: u64, parent_id: Option<u64>) -> u64 {
        let mut s = self.lock();
        let id = s.id();
        let position = s.guild_channel_count(guild_id);
        s.channels.insert(id, channel_json(id, guild_id, name, kind, parent_id, position, Vec::new()));
        id
    }

    /// A channel as the double holds it now, or `None` once deleted.
    pub fn channel(&self, id: u64) -> Option<Value> {
        self.lock().channels.get(&id).cloned()
    }

    /// Every channel of a guild, in creation order.
    pub fn guild_channels(&self, guild_id: u64) -> Vec<Value> {
        let s = self.lock();
        s.channels.values().filter(|c| c["guild_id"].as_str() == Some(&guild_id.to_string())).cloned().collect()
    }

    /// The messages of a channel, oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Value> {
        self.lock().messages.get(&channel_id).cloned().unwrap_or_default()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// Requests to `method` paths starting with `path_prefix`.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> Vec<LoggedRequest> {
        self.lock().log.iter().filter(|r| r.method == method && r.path.starts_with(path_prefix)).cloned().collect()
    }

    /// Answers the next `times` requests to `method` paths starting with `path_prefix` with 429
    /// and `retry_after` seconds; `global` makes it Discord's global limit.
    pub fn rate_limit(&self, method: &str, path_prefix: &str, times: u32, retry_after: f64, global: bool) {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        self.lock().rate_limits.push(RateLimitRule {
            method,
            path_prefix: path_prefix.into(),
            remaining: times,
            retry_after,
            global,
        });
    }

    /// Requests made to a rate-limited route before its `retry_after` was over (each was
    /// answered 429 again).
    pub fn premature_calls(&self) -> u32 {
        self.lock().premature_calls
    }

    /// DMs to this user are refused, as Discord does when they closed their DMs.
    pub fn refuse_dms(&self, user_id: u64) {
        self.lock().dm_refused.insert(user_id);
    }

    /// Expires every attachment link, as Discord's CDN does after about a day.
    pub fn expire_attachments(&self) {
        for a in self.lock().attachments.values_mut() {
            a.expired = true;
        }
    }

    /// IDENTIFYs received so far.
    pub fn identifies(&self) -> u32 {
        self.lock().identifies
    }

    /// RESUMEs received so far (accepted or not).
    pub fn resumes(&self) -> u32 {
        self.lock().resumes
    }

    /// Heartbeats received so far.
    pub fn heartbeats(&self) -> u32 {
        self.lock().heartbeats
    }

    /// Open gateway connections that have identified or resumed.
    pub fn connections(&self) -> usize {
        let mut s = self.lock();
        s.connections.retain(|c| !c.is_closed());
        s.connections.len()
    }

    /// The next RESUME is answered with INVALID_SESSION (not resumable), so the client must
    /// identify again.
    pub fn refuse_next_resume(&self) {
        self.lock().refuse_resume = true;
    }

    /// Closes every gateway connection with a resumable close code, as Discord does now and then.
    pub fn drop_connections(&self) {
        let mut s = self.lock();
        for c in s.connections.drain(..) {
            let _ = c.send(Outgoing::Close(4000, "Unknown error".into()));
        }
    }

    /// Sends a dispatch event to the gateway (kept for replay on resume).
    pub fn dispatch(&self, event: &str, data: Value) {
        self.lock().dispatch(event, data);
    }

    /// Sends the dispatch with sequence `seq` again, under a new sequence number (Discord may
    /// deliver an event twice).
    pub fn redeliver(&self, seq: u64) {
        let mut s = self.lock();
        let Some(sid) = s.current_session.clone() else { return };
        let Some(p) = s.sessions.get(&sid).and_then(|x| x.sent.iter().find(|(n, _)| *n == seq)).map(|(_, p)| p.clone())
        else {
            return;
        };
        let (t, d) = (p["t"].as_str().unwrap_or_default().to_string(), p["d"].clone());
        s.dispatch(&t, d);
    }

    /// The sequence number of the last dispatch.
    pub fn last_seq(&self) -> u64 {
        let s = self.lock();
        s.current_session.as_ref().and_then(|sid| s.sessions.get(sid)).map_or(0, |x| x.seq)
    }

    /// A user writes in a channel: the message is stored and MESSAGE_CREATE dispatched. Files
    /// are (name, content type, bytes), served from the double's CDN. Returns the message.
    pub fn user_message(
        &self,
        channel_id: u64,
        author: &DiscordUser,
        content: &str,
        files: &[(&str, &str, &[u8])],
    ) -> Value {
        let mut s = self.lock();
        let attachments = files.iter().map(|(n, t, b)| s.store_attachment(channel_id, n, t, b.to_vec())).collect();
        let m = s.message_json(channel_id, author, content, attachments);
        s.messages.entry(channel_id).or_default().push(m.clone());
        s.dispatch("MESSAGE_CREATE", m.clone());
        m
    }

    /// A user edits their message: MESSAGE_UPDATE with the new content.
    pub fn edit_message(&self, channel_id: u64, message_id: u64, content: &str) {
        let mut s = self.lock();
        let Some(m) = s.messages.get_mut(&channel_id).and_then(|ms| ms.iter_mut().find(|m| has_id(m, message_id)))
        else {
            return;
        };
        m["content"] = json!(content);
        m["edited_timestamp"] = json!(iso_now());
        let m = m.clone();
        s.dispatch("MESSAGE_UPDATE", m);
    }

    /// A user deletes their message: MESSAGE_DELETE.
    pub fn delete_message(&self, channel_id: u64, message_id: u64) {
        let mut s = self.lock();
        let guild_id = s.guild_of_channel(channel_id);
        if let Some(ms) = s.messages.get_mut(&channel_id) {
            ms.retain(|m| !has_id(m, message_id));
        }
        let mut d = json!({ "id": message_id.to_string(), "channel_id": channel_id.to_string() });
        if let Some(g) = guild_id {
            d["guild_id"] = json!(g.to_string());
        }
        s.dispatch("MESSAGE_DELETE", d);
    }

    /// A channel is gone without the bot hearing of it (its CHANNEL_DELETE was missed).
    pub fn remove_channel_unannounced(&self, channel_id: u64) {
        self.lock().channels.remove(&channel_id);
    }

    /// Someone deletes a channel by hand: it is gone and CHANNEL_DELETE is dispatched.
    pub fn delete_channel_by_hand(&self, channel_id: u64) {
        let mut s = self.lock();
        if let Some(c) = s.channels.remove(&channel_id) {
            s.dispatch("CHANNEL_DELETE", c);
        }
    }

    /// A member clicks a button (or picks from a select menu, with `values`) on a message:
    /// INTERACTION_CREATE of type 3. Returns the interaction id.
    pub fn click(
        &self,
        guild_id: u64,
        channel_id: u64,
        message_id: u64,
        user: &DiscordUser,
        custom_id: &str,
        values: Option<&[&str]>,
    ) -> u64 {
        let mut s = self.lock();
        let message = s
            .messages
            .get(&channel_id)
            .and_then(|ms| ms.iter().find(|m| has_id(m, message_id)).cloned())
            .unwrap_or_else(|| {
                let bot = s.bot.clone();
                let mut m = s.message_json(channel_id, &bot, "", Vec::new());
                m["id"] = json!(message_id.to_string());
                m
            });
        let data = match values {
            None => json!({ "custom_id": custom_id, "component_type": 2 }),
            Some(v) => json!({ "custom_id": custom_id, "component_type": 3, "values": v }),
        };
        let interaction = s.interaction(3, guild_id, channel_id, user, data, Some(message));
        let id = interaction["id"].as_str().and_then(parse_id).unwrap_or_default();
        s.dispatch("INTERACTION_CREATE", interaction);
        id
    }

    /// A member submits a modal: INTERACTION_CREATE of type 5 with one text input per
    /// (custom id, value). Returns the interaction id.
    pub fn submit_modal(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DiscordUser,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> u64 {
        let mut s = self.lock();
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": id, "value": value }] }))
            .collect();
        let interaction =
            s.interaction(5, guild_id, channel_id, user, json!({ "custom_id": custom_id, "components": rows }), None);
        let id = interaction["id"].as_str().and_then(parse_id).unwrap_or_default();
        s.dispatch("INTERACTION_CREATE", interaction);
        id
    }

    /// A member runs a slash command in a channel: INTERACTION_CREATE of type 2 with string
    /// options, the member's permissions in the channel being `permissions` (Discord's bits, as
    /// Discord computes them with the channel's overwrites). A name with a space is a command and
    /// its subcommand (`ticket status`), the options the subcommand's. Returns the interaction id.
    pub fn run_command(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DiscordUser,
        name: &str,
        options: &[(&str, &str)],
        permissions: u64,
    ) -> u64 {
        self.command_interaction(2, guild_id, channel_id, user, name, options, None, permissions)
    }

    /// A member types into a command's option with autocomplete: INTERACTION_CREATE of type 4,
    /// the option `focused` holding what was typed so far. Returns the interaction id.
    #[allow(clippy::too_many_arguments)] // Discord's interaction carries each of them.
    pub fn autocomplete(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DiscordUser,
        name: &str,
        focused: (&str, &str),
        permissions: u64,
    ) -> u64 {
        self.command_interaction(4, guild_id, channel_id, user, name, &[focused], Some(focused.0), permissions)
    }

    #[allow(clippy::too_many_arguments)] // The two public kinds above differ in these only.
    fn command_interaction(
        &self,
        kind: u64,
        guild_id: u64,
        channel_id: u64,
        user: &DiscordUser,
        name: &str,
        options: &[(&str, &str)],
        focused: Option<&str>,
        permissions: u64,
    ) -> u64 {
        let mut s = self.lock();
        let command_id = s.id();
        let mut options: Vec<Value> = options
            .iter()
            .map(|(n, v)| {
                let mut o = json!({ "name": n, "type": 3, "value": v });
                if focused == Some(*n) {
                    o["focused"] = json!(true);
                }
                o
            })
            .collect();
        let (name, sub) = name.split_once(' ').map_or((name, None), |(c, s)| (c, Some(s)));
        if let Some(sub) = sub {
            options = vec![json!({ "name": sub, "type": 1, "options": options })];
        }
        let data = json!({ "id": command_id.to_string(), "name": name, "type": 1, "options": options,
            "guild_id": guild_id.to_string() });
        let mut interaction = s.interaction(kind, guild_id, channel_id, user, data, None);
        interaction["member"]["permissions"] = json!(permissions.to_string());
        let id = interaction["id"].as_str().and_then(parse_id).unwrap_or_default();
        s.dispatch("INTERACTION_CREATE", interaction);
        id
    }

    /// The slash commands the bot registered last (`PUT /applications/{id}/commands`).
    pub fn registered_commands(&self) -> Vec<Value> {
        self.requests_to("PUT", "/applications/").last().and_then(|r| r.json.as_array().cloned()).unwrap_or_default()
    }

    /// The edits of an interaction's deferred answer (`PATCH /webhooks/{app}/{token}/messages/@original`).
    pub fn interaction_follow_ups(&self, interaction_id: u64) -> Vec<Value> {
        let token = format!("aW50ZXJhY3Rpb246{interaction_id}");
        self.requests_to("PATCH", "/webhooks/")
            .into_iter()
            .filter(|r| r.path.contains(&token) && r.path.ends_with("/messages/@original"))
            .map(|r| r.json)
            .collect()
    }

    /// A channel of a guild by name, if one has it.
    pub fn channel_named(&self, guild_id: u64, name: &str) -> Option<Value> {
        self.guild_channels(guild_id).into_iter().find(|c| c["name"] == name)
    }

    /// The callbacks the bot made for an interaction (`POST /interactions/{id}/{token}/callback`).
    pub fn interaction_callbacks(&self, interaction_id: u64) -> Vec<Value> {
        self.requests_to("POST", &format!("/interactions/{interaction_id}/")).into_iter().map(|r| r.json).collect()
    }
}

impl Double {
    fn interaction(
        &mut self,
        kind: u64,
        guild_id: u64,
        channel_id: u64,
        user: &DiscordUser,
        data: Value,
        message: Option<Value>,
    ) -> Value {
        let id = self.id();
        let roles = self
            .guilds
            .get(&guild_id)
            .and_then(|g| g.members.iter().find(|(u, _)| u.id == user.id).map(|(_, r)| r.clone()))
            .unwrap_or_default();
        let channel =
            self.channels.get(&channel_id).cloned().unwrap_or(json!({ "id": channel_id.to_string(), "type": 0 }));
        let mut i = json!({
            "id": id.to_string(), "application_id": self.application_id.to_string(), "type": kind, "data": data,
            "guild_id": guild_id.to_string(), "channel": channel, "channel_id": channel_id.to_string(),
            "member": member_json(user, &roles, Some("2248473465835073")), "token": format!("aW50ZXJhY3Rpb246{id}"),
            "version": 1, "app_permissions": "2248473465835073", "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": { "0": guild_id.to_string() }, "context": 0,
            "attachment_size_limit": 10485760,
            "guild": { "id": guild_id.to_string(), "locale": "en-US", "features": [] },
        });
        if let Some(m) = message {
            i["message"] = m;
        }
        i
    }
}

fn channel_json(
    id: u64,
    guild_id: u64,
    name: &str,
    kind: u64,
    parent_id: Option<u64>,
    position: usize,
    overwrites: Vec<Value>,
) -> Value {
    json!({
        "id": id.to_string(), "type": kind, "guild_id": guild_id.to_string(), "name": name,
        "position": position, "permission_overwrites": overwrites, "nsfw": false,
        "parent_id": parent_id.map(|p| p.to_string()), "topic": null, "last_message_id": null,
        "rate_limit_per_user": 0, "flags": 0,
    })
}

async fn attachment(State(state): State<Arc<Mutex<Double>>>, uri: Uri) -> Response {
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    match s.attachments.get(uri.path()) {
        Some(a) if !a.expired => ([("content-type", a.content_type.clone())], a.bytes.clone()).into_response(),
        // What Discord's CDN answers for an expired signed link.
        _ => (StatusCode::NOT_FOUND, "This content is no longer available.").into_response(),
    }
}

/// Parses a multipart body far enough for Discord's messages: `payload_json` and `files[n]`.
fn parse_multipart(content_type: &str, body: &[u8]) -> (Value, Vec<(String, String, Vec<u8>)>) {
    let Some(boundary) = content_type.split("boundary=").nth(1).map(|b| b.trim_matches('"').to_string()) else {
        return (Value::Null, Vec::new());
    };
    let delimiter = format!("--{boundary}").into_bytes();
    let mut json = Value::Null;
    let mut files = Vec::new();
    let mut parts = Vec::new();
    let mut start = None;
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        if body[i..].starts_with(&delimiter) {
            if let Some(s) = start {
                parts.push(&body[s..i.saturating_sub(2)]);
            }
            i += delimiter.len();
            start = Some(i + 2);
        } else {
            i += 1;
        }
    }
    for part in parts {
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&part[..split])
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default()
            .to_string();
        let content = part[split + 4..].to_vec();
        let attr = |key: &str| {
            head.split(';')
                .find_map(|p| p.trim().strip_prefix(&format!("{key}=")).map(|v| v.trim_matches('"').to_string()))
        };
        let name = attr("name").unwrap_or_default();
        if name == "payload_json" {
            json = serde_json::from_slice(&content).unwrap_or(Value::Null);
        } else if let Some(file) = attr("filename") {
            files.push((name, file, content));
        }
    }
    (json, files)
}

fn rate_limited(retry_after: f64, global: bool) -> Response {
    let mut headers = HeaderMap::new();
    let secs = retry_after.ceil().max(1.0) as u64;
    headers.insert("retry-after", HeaderValue::from(secs));
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    if let Ok(v) = HeaderValue::from_str(&format!("{retry_after:.3}")) {
        headers.insert("x-ratelimit-reset-after", v);
    }
    headers.insert("x-ratelimit-bucket", HeaderValue::from_static("80c17d2f203122d936070c88c8d10f33"));
    if global {
        headers.insert("x-ratelimit-global", HeaderValue::from_static("true"));
        headers.insert("x-ratelimit-scope", HeaderValue::from_static("global"));
    } else {
        headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
    }
    let body = json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": global });
    (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response()
}

async fn rest(
    State(state): State<Arc<Mutex<Double>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_start_matches("/api/v10").to_string();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (json, files) = if content_type.starts_with("multipart/form-data") {
        parse_multipart(&content_type, &body)
    } else {
        (serde_json::from_slice(&body).unwrap_or(Value::Null), Vec::new())
    };
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let query = uri.query().unwrap_or_default().to_string();
    let response = handle(&mut s, &method, &path, &query, authorization.as_deref(), &json, &files);
    s.log.push(LoggedRequest {
        method: method.to_string(),
        path,
        query: uri.query().map(str::to_string),
        authorization,
        json,
        files,
        status: response.status().as_u16(),
    });
    response
}

fn handle(
    s: &mut Double,
    method: &Method,
    path: &str,
    query: &str,
    auth: Option<&str>,
    body: &Value,
    files: &[(String, String, Vec<u8>)],
) -> Response {
    // Interaction callbacks are authorised by their token, not the bot's.
    let interaction_route = path.starts_with("/interactions/") || path.starts_with("/webhooks/");
    if !interaction_route && auth != Some(&format!("Bot {}", s.token)) {
        return discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let now = Instant::now();
    s.blocked.retain(|(_, until)| *until > now);
    if let Some((route, until)) =
        s.blocked.iter().find(|(r, _)| r.as_deref().is_none_or(|r| path.starts_with(r))).cloned()
    {
        s.premature_calls += 1;
        return rate_limited(until.duration_since(now).as_secs_f64(), route.is_none());
    }
    if let Some(rule) =
        s.rate_limits.iter_mut().find(|r| r.remaining > 0 && r.method == *method && path.starts_with(&r.path_prefix))
    {
        rule.remaining -= 1;
        let (retry_after, global) = (rule.retry_after, rule.global);
        let route = (!global).then(|| rule.path_prefix.clone());
        s.blocked.push((route, now + Duration::from_secs_f64(retry_after)));
        return rate_limited(retry_after, global);
    }
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    // What the bot needs for the request, in which guild; refused as Discord does without it.
    let needs = match (method.as_str(), seg.as_slice()) {
        ("POST", ["guilds", g, "channels"]) => parse_id(g).map(|g| (g, permission::MANAGE_CHANNELS)),
        ("PATCH" | "DELETE", ["channels", c]) => {
            parse_id(c).and_then(|c| s.guild_of_channel(c)).map(|g| (g, permission::MANAGE_CHANNELS))
        }
        ("PUT" | "DELETE", ["channels", c, "permissions", _]) => {
            parse_id(c).and_then(|c| s.guild_of_channel(c)).map(|g| (g, permission::MANAGE_ROLES))
        }
        ("POST", ["channels", c, "messages"]) => parse_id(c)
            .and_then(|c| s.guild_of_channel(c))
            .map(|g| (g, permission::VIEW_CHANNEL | permission::SEND_MESSAGES)),
        ("GET", ["channels", c, "messages", ..]) => parse_id(c)
            .and_then(|c| s.guild_of_channel(c))
            .map(|g| (g, permission::VIEW_CHANNEL | permission::READ_MESSAGE_HISTORY)),
        ("DELETE", ["channels", c, "messages", _]) => {
            parse_id(c).and_then(|c| s.guild_of_channel(c)).map(|g| (g, permission::MANAGE_MESSAGES))
        }
        _ => None,
    };
    if let Some((g, wanted)) = needs
        && s.bot_permissions(g) & wanted != wanted
    {
        return discord_error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    let ok = |v: Value| (StatusCode::OK, axum::Json(v)).into_response();
    let unknown_channel = || discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    match (method.as_str(), seg.as_slice()) {
        ("GET", ["gateway"]) => ok(json!({ "url": s.ws_url })),
        ("GET", ["gateway", "bot"]) => ok(json!({ "url": s.ws_url, "shards": 1,
            "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1 } })),
        ("GET", ["users", "@me"]) => ok(s.bot.json()),
        // A guild the bot is not in answers as Discord does: 403 Missing Access.
        ("GET", ["guilds", g]) => match parse_id(g).and_then(|g| s.guilds.get(&g)).cloned() {
            Some(g) => {
                let mut guild = s.guild_create(&g);
                if let Some(o) = guild.as_object_mut() {
                    for only_in_the_gateway in [
                        "joined_at",
                        "large",
                        "unavailable",
                        "member_count",
                        "voice_states",
                        "members",
                        "channels",
                        "threads",
                        "presences",
                        "stage_instances",
                        "guild_scheduled_events",
                    ] {
                        o.remove(only_in_the_gateway);
                    }
                }
                ok(guild)
            }
            None => discord_error(StatusCode::FORBIDDEN, 50001, "Missing Access"),
        },
        ("GET", ["guilds", g, "roles"]) => match parse_id(g).and_then(|g| s.guilds.get(&g)) {
            Some(g) => ok(json!(g.roles)),
            None => discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
        },
        ("GET", ["guilds", g, "members", u]) => {
            let Some(g) = parse_id(g).and_then(|g| s.guilds.get(&g)) else {
                return discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
            };
            let uid = parse_id(u).unwrap_or_default();
            if uid == s.bot.id {
                return ok(member_json(&s.bot, &g.bot_roles, None));
            }
            match g.members.iter().find(|(m, _)| m.id == uid) {
                Some((m, roles)) => ok(member_json(m, roles, None)),
                None => discord_error(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
            }
        }
        ("GET", ["guilds", g, "channels"]) => {
            let Some(g) = parse_id(g).filter(|g| s.guilds.contains_key(g)) else {
                return discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
            };
            ok(json!(
                s.channels.values().filter(|c| c["guild_id"].as_str() == Some(&g.to_string())).collect::<Vec<_>>()
            ))
        }
        ("POST", ["guilds", g, "channels"]) => {
            let Some(g) = parse_id(g).filter(|g| s.guilds.contains_key(g)) else {
                return discord_error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
            };
            let name = body["name"].as_str().unwrap_or_default();
            if name.is_empty() || name.chars().count() > 100 {
                return (StatusCode::BAD_REQUEST, axum::Json(json!({ "message": "Invalid Form Body", "code": 50035,
                    "errors": { "name": { "_errors": [{ "code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length." }] } } })))
                    .into_response();
            }
            if s.guild_channel_count(g) >= MAX_CHANNELS_PER_GUILD {
                return discord_error(StatusCode::BAD_REQUEST, 30013, "Maximum number of guild channels reached (500)");
            }
            let parent = body["parent_id"].as_str().and_then(parse_id);
            if let Some(p) = parent {
                if s.channels.get(&p).is_none_or(|c| c["type"] != channel_type::CATEGORY) {
                    return (StatusCode::BAD_REQUEST, axum::Json(json!({ "message": "Invalid Form Body", "code": 50035,
                        "errors": { "parent_id": { "_errors": [{ "code": "CHANNEL_PARENT_INVALID_TYPE", "message": "Not a category" }] } } })))
                        .into_response();
                }
                if s.children_of(p) >= MAX_CHANNELS_PER_CATEGORY {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({ "message": "Invalid Form Body", "code": 50035,
                        "errors": { "parent_id": { "_errors": [{ "code": "CHANNEL_PARENT_MAX_CHANNELS",
                            "message": "Maximum number of channels in category reached (50)" }] } } })),
                    )
                        .into_response();
                }
            }
            let id = s.id();
            let kind = body["type"].as_u64().unwrap_or(channel_type::TEXT);
            let overwrites = body["permission_overwrites"].as_array().cloned().unwrap_or_default();
            let position = s.guild_channel_count(g);
            let c = channel_json(id, g, name, kind, parent, position, overwrites);
            s.channels.insert(id, c.clone());
            s.dispatch("CHANNEL_CREATE", c.clone());
            (StatusCode::CREATED, axum::Json(c)).into_response()
        }
        ("GET", ["channels", c]) => match parse_id(c).and_then(|c| s.channels.get(&c)) {
            Some(c) => ok(c.clone()),
            None => unknown_channel(),
        },
        ("PATCH", ["channels", c]) => {
            let Some(id) = parse_id(c).filter(|c| s.channels.contains_key(c)) else { return unknown_channel() };
            if let Some(name) = body.get("name").and_then(Value::as_str) {
                if name.is_empty() || name.chars().count() > 100 {
                    return (StatusCode::BAD_REQUEST, axum::Json(json!({ "message": "Invalid Form Body", "code": 50035,
                        "errors": { "name": { "_errors": [{ "code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length." }] } } })))
                        .into_response();
                }
                if let Some(ch) = s.channels.get_mut(&id) {
                    ch["name"] = json!(name);
                }
            }
            let c = s.channels[&id].clone();
            s.dispatch("CHANNEL_UPDATE", c.clone());
            ok(c)
        }
        ("DELETE", ["channels", c]) => match parse_id(c).and_then(|c| s.channels.remove(&c)) {
            Some(c) => {
                s.dispatch("CHANNEL_DELETE", c.clone());
                ok(c)
            }
            None => unknown_channel(),
        },
        ("PUT", ["channels", c, "permissions", target]) => {
            let Some(ch) = parse_id(c).and_then(|c| s.channels.get_mut(&c)) else { return unknown_channel() };
            let mut ow = body.clone();
            ow["id"] = json!(target);
            if let Some(list) = ch["permission_overwrites"].as_array_mut() {
                list.retain(|o| o["id"] != json!(target));
                list.push(ow);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", ["channels", c, "permissions", target]) => {
            let Some(ch) = parse_id(c).and_then(|c| s.channels.get_mut(&c)) else { return unknown_channel() };
            if let Some(list) = ch["permission_overwrites"].as_array_mut() {
                list.retain(|o| o["id"] != json!(target));
            }
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["channels", c, "messages"]) => {
            let Some(c) = parse_id(c).filter(|c| s.channels.contains_key(c)) else { return unknown_channel() };
            let recipient = s.channels[&c]["recipients"][0]["id"].as_str().and_then(parse_id);
            if recipient.is_some_and(|r| s.dm_refused.contains(&r)) {
                return discord_error(StatusCode::FORBIDDEN, 50007, "Cannot send messages to this user");
            }
            // With `enforce_nonce`, a second message with the nonce of a recent one is not posted:
            // Discord answers with the message already there.
            let nonce = body.get("nonce").filter(|n| !n.is_null()).cloned();
            if let Some(n) = nonce.as_ref().filter(|_| body["enforce_nonce"] == true)
                && let Some(m) = s.messages.get(&c).and_then(|ms| ms.iter().find(|m| m.get("nonce") == Some(n)))
            {
                return ok(m.clone());
            }
            let content = body["content"].as_str().unwrap_or_default();
            if content.chars().count() > 2000 {
                return (StatusCode::BAD_REQUEST, axum::Json(json!({ "message": "Invalid Form Body", "code": 50035,
                    "errors": { "content": { "_errors": [{ "code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length." }] } } })))
                    .into_response();
            }
            let attachments = files
                .iter()
                .map(|(_, name, bytes)| s.store_attachment(c, name, "application/octet-stream", bytes.clone()))
                .collect();
            let bot = s.bot.clone();
            let mut m = s.message_json(c, &bot, content, attachments);
            for key in ["embeds", "components"] {
                if let Some(v) = body.get(key).filter(|v| v.is_array()) {
                    m[key] = v.clone();
                }
            }
            if let Some(n) = nonce {
                m["nonce"] = n;
            }
            s.messages.entry(c).or_default().push(m.clone());
            // Discord sends the bot its own messages too.
            s.dispatch("MESSAGE_CREATE", m.clone());
            ok(m)
        }
        ("GET", ["channels", c, "messages"]) => {
            // Newest first, as Discord lists them; `before` / `after` a message id, `limit` 1-100.
            let Some(c) = parse_id(c).filter(|c| s.channels.contains_key(c)) else { return unknown_channel() };
            let param = |k: &str| {
                query.split('&').find_map(|p| p.strip_prefix(&format!("{k}="))).and_then(|v| v.parse::<u64>().ok())
            };
            let limit = param("limit").unwrap_or(50).clamp(1, 100) as usize;
            let id_of = |m: &Value| m["id"].as_str().and_then(parse_id).unwrap_or_default();
            let mut list: Vec<Value> = s.messages.get(&c).cloned().unwrap_or_default();
            list.sort_by_key(|m| std::cmp::Reverse(id_of(m)));
            let list: Vec<Value> = match (param("after"), param("before")) {
                // After: the oldest `limit` newer than the id, still listed newest first.
                (Some(a), _) => {
                    let mut newer: Vec<Value> = list.into_iter().filter(|m| id_of(m) > a).collect();
                    let skip = newer.len().saturating_sub(limit);
                    newer.drain(..skip);
                    newer
                }
                (None, Some(b)) => list.into_iter().filter(|m| id_of(m) < b).take(limit).collect(),
                (None, None) => list.into_iter().take(limit).collect(),
            };
            ok(json!(list))
        }
        ("GET", ["channels", c, "messages", m]) => {
            match s
                .messages
                .get(&parse_id(c).unwrap_or_default())
                .and_then(|ms| ms.iter().find(|x| x["id"] == json!(m)))
            {
                Some(m) => ok(m.clone()),
                None => discord_error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
            }
        }
        ("DELETE", ["channels", c, "messages", m]) => {
            let c = parse_id(c).unwrap_or_default();
            let Some(list) = s.messages.get_mut(&c) else {
                return discord_error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            let before = list.len();
            list.retain(|x| x["id"] != json!(m));
            if list.len() == before {
                return discord_error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            }
            let mut d = json!({ "id": m, "channel_id": c.to_string() });
            if let Some(g) = s.guild_of_channel(c) {
                d["guild_id"] = json!(g.to_string());
            }
            s.dispatch("MESSAGE_DELETE", d);
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["channels", c, "messages", m]) => {
            let found = s
                .messages
                .get_mut(&parse_id(c).unwrap_or_default())
                .and_then(|ms| ms.iter_mut().find(|x| x["id"] == json!(m)));
            let Some(msg) = found else { return discord_error(StatusCode::NOT_FOUND, 10008, "Unknown Message") };
            for key in ["content", "embeds", "components"] {
                if let Some(v) = body.get(key) {
                    msg[key] = v.clone();
                }
            }
            msg["edited_timestamp"] = json!(iso_now());
            let msg = msg.clone();
            s.dispatch("MESSAGE_UPDATE", msg.clone());
            ok(msg)
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        // A bulk overwrite of the application's global commands: Discord answers with the list,
        // each with its id.
        ("PUT", ["applications", _, "commands"]) => {
            let mut list = body.as_array().cloned().unwrap_or_default();
            for c in &mut list {
                let id = s.id();
                c["id"] = json!(id.to_string());
                c["application_id"] = json!(s.application_id.to_string());
                c["version"] = json!(id.to_string());
                c["default_member_permissions"] = c.get("default_member_permissions").cloned().unwrap_or(Value::Null);
            }
            ok(Value::Array(list))
        }
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => {
            let bot = s.bot.clone();
            let m = s.message_json(0, &bot, body["content"].as_str().unwrap_or_default(), Vec::new());
            ok(m)
        }
        ("POST", ["users", "@me", "channels"]) => {
            let Some(uid) = body["recipient_id"].as_str().and_then(parse_id) else {
                return discord_error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            };
            let existing = s
                .channels
                .iter()
                .find(|(_, c)| c["recipients"][0]["id"] == json!(uid.to_string()))
                .map(|(_, c)| c.clone());
            if let Some(c) = existing {
                return ok(c);
            }
            let user = s.users.get(&uid).cloned().unwrap_or(DiscordUser {
                id: uid,
                username: format!("user{uid}"),
                global_name: None,
                bot: false,
            });
            let id = s.id();
            let c = json!({ "id": id.to_string(), "type": channel_type::DM, "last_message_id": null, "flags": 0, "recipients": [user.json()] });
            s.channels.insert(id, c.clone());
            ok(c)
        }
        _ => discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

async fn gateway(State(state): State<Arc<Mutex<Double>>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(state, socket))
}

/// One gateway connection: HELLO, then IDENTIFY or RESUME, then heartbeats and dispatches.
async fn session(state: Arc<Mutex<Double>>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let hello = json!({ "op": 10, "s": null, "t": null, "d": { "heartbeat_interval": 41_250 } });
    if sink.send(WsMessage::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let sent = match out {
                Outgoing::Json(v) => sink.send(WsMessage::Text(v.to_string().into())).await,
                Outgoing::Close(code, reason) => {
                    let _ = sink
                        .send(WsMessage::Close(Some(axum::extract::ws::CloseFrame { code, reason: reason.into() })))
                        .await;
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        let WsMessage::Text(text) = msg else {
            if matches!(msg, WsMessage::Close(_)) {
                break;
            }
            continue;
        };
        let Ok(payload) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        match payload["op"].as_u64() {
            Some(1) => {
                s.heartbeats += 1;
                let _ = tx.send(Outgoing::Json(json!({ "op": 11, "s": null, "t": null, "d": null })));
            }
            Some(2) => {
                s.identifies += 1;
                let token = payload["d"]["token"].as_str().unwrap_or_default();
                if token.trim_start_matches("Bot ") != s.token {
                    let _ = tx.send(Outgoing::Close(4004, "Authentication failed.".into()));
                    continue;
                }
                let sid = format!("session{:x}", s.id());
                s.sessions.insert(sid.clone(), Session::default());
                s.current_session = Some(sid.clone());
                s.connections.push(tx.clone());
                let ready = json!({
                    "v": 10, "user": s.bot.json(), "session_type": "normal", "session_id": sid,
                    "resume_gateway_url": s.ws_url, "shard": [0, 1], "private_channels": [], "relationships": [],
                    "presences": [], "geo_ordered_rtc_regions": ["us-east"], "guild_join_requests": [],
                    "user_settings": {}, "auth": {},
                    "guilds": s.guilds.keys().map(|g| json!({ "id": g.to_string(), "unavailable": true })).collect::<Vec<_>>(),
                    "application": { "id": s.application_id.to_string(), "flags": 565248 },
                    "_trace": ["[\"gateway-prd-us-east1-b-double\",{\"micros\":0.0}]"],
                });
                s.dispatch("READY", ready);
                let guilds: Vec<GuildState> = s.guilds.values().cloned().collect();
                for g in guilds {
                    let payload = s.guild_create(&g);
                    s.dispatch("GUILD_CREATE", payload);
                }
            }
            Some(6) => {
                s.resumes += 1;
                let sid = payload["d"]["session_id"].as_str().unwrap_or_default().to_string();
                let seq = payload["d"]["seq"].as_u64().unwrap_or(0);
                let known = s.sessions.contains_key(&sid) && s.current_session.as_deref() == Some(sid.as_str());
                if !known || std::mem::take(&mut s.refuse_resume) {
                    let _ = tx.send(Outgoing::Json(json!({ "op": 9, "s": null, "t": null, "d": false })));
                    continue;
                }
                s.connections.push(tx.clone());
                let missed: Vec<Value> =
                    s.sessions[&sid].sent.iter().filter(|(n, _)| *n > seq).map(|(_, p)| p.clone()).collect();
                for p in missed {
                    let _ = tx.send(Outgoing::Json(p));
                }
                s.dispatch("RESUMED", json!({ "_trace": ["[\"gateway-prd-us-east1-b-double\"]"] }));
            }
            _ => {}
        }
    }
    writer.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_yield_the_payload_and_the_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"log.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ--\r\n";
        let (json, files) = parse_multipart("multipart/form-data; boundary=XyZ", body);
        assert_eq!(json["content"], "hi");
        assert_eq!(files, vec![("files[0]".to_string(), "log.txt".to_string(), b"line one\r\nline two".to_vec())]);
    }

    #[test]
    fn timestamps_are_iso_8601_with_an_offset() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
        let now = iso_now();
        assert!(now.ends_with("+00:00") && now.len() == 32, "{now}");
    }
}
