//! Linking a guild to a workspace: a guild is a channel account (channel `discord`, external key
//! the guild id, routed to one workspace), its settings checked here, and the ticket panel posted
//! (or updated in place) in its panel channel whenever the settings are saved.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use serenity::all::{ChannelId, MessageId};
use serenity::http::{LightMethod, Route};
use switchboard_channel::ChannelSettings;
use switchboard_desk::domain::{Actor, Channel, ChannelAccountId, Permission, WorkspaceId};
use switchboard_desk::store::ChannelAccountRecord;
use switchboard_desk::{ChannelAccountSave, DeskError};

use crate::settings::{GuildSettings, MAX_PANEL_BUTTONS, snowflake};
use crate::{DiscordChannel, RestError};

/// What the channel keeps between runs on a linked guild (the account's `state`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuildState {
    /// Where the panel was posted, and its message.
    pub panel_channel_id: Option<String>,
    pub panel_message_id: Option<String>,
    /// Why the panel could not be posted the last time, for the settings page.
    pub panel_error: Option<String>,
    /// Overflow categories made when a ticket type's category filled up, by ticket type key.
    pub overflow_categories: std::collections::BTreeMap<String, Vec<String>>,
    /// The panel message's body as last posted, so an unchanged panel is not edited again.
    pub panel_body: Option<String>,
}

/// A linked guild as admins see it.
#[derive(Debug, Clone)]
pub struct LinkedGuild {
    /// The channel account's id.
    pub id: ChannelAccountId,
    pub workspace_id: WorkspaceId,
    pub guild_id: String,
    pub name: String,
    pub enabled: bool,
    pub settings: GuildSettings,
    pub state: GuildState,
}

impl LinkedGuild {
    /// Reads an account's stored settings and state; stored rows were validated when saved, so
    /// an unreadable one is an internal fault.
    pub fn from_account(a: &ChannelAccountRecord) -> Result<LinkedGuild, DeskError> {
        let settings: GuildSettings = serde_json::from_str(&a.settings)
            .map_err(|e| DeskError::Internal(format!("stored Discord settings of account {}: {e}", a.id)))?;
        let state: GuildState = serde_json::from_str(&a.state).unwrap_or_default();
        Ok(LinkedGuild {
            id: a.id,
            workspace_id: a.workspace_id,
            guild_id: a.external_key.clone(),
            name: a.name.clone(),
            enabled: a.enabled,
            settings,
            state,
        })
    }

    /// The guild's channel adapter: what the bot acts as in the guild's workspace (ingest, opening
    /// tickets from the panel), with the Manage permission only and no reading beyond the
    /// requester it acts for.
    pub fn adapter(&self) -> Actor {
        Actor::channel(self.workspace_id, Channel::Discord, Some(self.id))
    }
}

/// A guild link as an admin saves it.
#[derive(Debug, Clone)]
pub struct GuildLinkInput {
    pub guild_id: String,
    pub name: String,
    pub enabled: bool,
    pub settings: GuildSettings,
}

/// The panel message: one button per enabled ticket type, or a select menu past
/// [`MAX_PANEL_BUTTONS`] of them.
pub(crate) fn panel_message(settings: &GuildSettings) -> Value {
    let types: Vec<_> = settings.enabled_types().collect();
    let row = if types.len() <= MAX_PANEL_BUTTONS {
        let buttons: Vec<Value> = types
            .iter()
            .map(|t| json!({ "type": 2, "style": 1, "label": t.label, "custom_id": format!("sb:open:{}", t.key) }))
            .collect();
        json!({ "type": 1, "components": buttons })
    } else {
        let options: Vec<Value> = types
            .iter()
            .map(|t| {
                let mut o = json!({ "label": t.label, "value": t.key });
                if let Some(d) = &t.description {
                    o["description"] = json!(d);
                }
                o
            })
            .collect();
        json!({ "type": 1, "components": [{ "type": 3, "custom_id": "sb:open", "placeholder": "Choose a ticket type",
            "min_values": 1, "max_values": 1, "options": options }] })
    };
    json!({
        "embeds": [{ "title": "Open a ticket", "color": 0x5865F2,
            "description": "Choose what you need help with. A private channel opens for you and our team." }],
        "components": [row],
        "allowed_mentions": { "parse": [] },
    })
}

impl DiscordChannel {
    /// The workspace's linked guilds (admins).
    pub async fn linked_guilds(&self, actor: &Actor) -> Result<Vec<LinkedGuild>, DeskError> {
        let accounts = self.desk.channel_accounts(actor, Channel::Discord).await?;
        accounts.iter().map(LinkedGuild::from_account).collect()
    }

    /// Links a guild to the actor's workspace (`id: None`) or changes a link: checks the
    /// settings (naming the field), that each ticket type's help topic is the workspace's, and that
    /// no other workspace linked the guild; then posts or updates the panel. A panel Discord
    /// refuses does not undo the save: the reason is kept and shown with the guild.
    pub async fn link_guild(
        &self,
        actor: &Actor,
        id: Option<ChannelAccountId>,
        input: GuildLinkInput,
    ) -> Result<LinkedGuild, DeskError> {
        // Permission before validation: a caller who may not link guilds learns nothing from
        // which of its fields would have been refused.
        if !actor.can(Permission::Admin) {
            return Err(DeskError::Forbidden("this needs the service-desk.admin permission".into()));
        }
        let guild_id = snowflake("guildId", &input.guild_id)?;
        input.settings.validate()?;
        let topics = self.desk.help_topics(actor).await?;
        for (i, t) in input.settings.ticket_types.iter().enumerate() {
            if !topics.iter().any(|h| h.id == t.help_topic_id) {
                return Err(DeskError::invalid(
                    &format!("ticketTypes[{i}].helpTopicId"),
                    "is not a help topic of this workspace",
                ));
            }
        }
        let key = guild_id.to_string();
        // One workspace per guild: another workspace's link is refused, not taken over (the
        // store's unique route stays the backstop when two links race).
        let unchanged = match self.desk.routed_channel_account(Channel::Discord, &key).await? {
            Some(other) if other.workspace_id != actor.workspace_id || Some(other.id) != id => {
                return Err(DeskError::conflict_on(
                    "guildId",
                    "this Discord server is linked to a workspace already; unlink it there first",
                ));
            }
            Some(_) => true,
            None => false,
        };
        // A link whose guild stays the same may be changed (disabled, say) after the bot left.
        if !unchanged {
            self.check_bot_in_guild(guild_id).await?;
        }
        let settings = serde_json::to_value(&input.settings).map_err(|e| DeskError::Internal(e.to_string()))?;
        let save = ChannelAccountSave { external_key: key, name: input.name, enabled: input.enabled, settings };
        let account =
            self.desk.save_routed_channel_account(actor, Channel::Discord, id, save).await.map_err(|e| match e {
                DeskError::Validation(v) if v.field == "externalKey" => DeskError::invalid("guildId", v.message),
                other => other,
            })?;
        let mut guild = LinkedGuild::from_account(&account)?;
        if guild.enabled && self.enabled() {
            self.post_panel(&mut guild).await?;
        }
        Ok(guild)
    }

    /// Refuses a guild the bot is not in: the gateway's GUILD_CREATE says so at once; on a
    /// server without the gateway (standby, or before READY) Discord's REST answers for it.
    /// Without a bot token nothing can be checked, so nothing is linked.
    async fn check_bot_in_guild(&self, guild_id: u64) -> Result<(), DeskError> {
        if !self.enabled() {
            return Err(DeskError::invalid(
                "guildId",
                "Discord is not configured on this server (SWITCHBOARD_DISCORD_TOKEN), so the bot cannot be in this Discord server",
            ));
        }
        let key = guild_id.to_string();
        if self.status().guilds.iter().any(|(g, _)| *g == key) {
            return Ok(());
        }
        let route = Route::Guild { guild_id: serenity::all::GuildId::new(guild_id) };
        match self.rest.send_json(route, LightMethod::Get, &Value::Null).await {
            Ok(_) => Ok(()),
            // 50001 Missing Access, 10004 Unknown Guild: not a server the bot was added to.
            Err(RestError::Refused { .. }) => Err(DeskError::invalid(
                "guildId",
                "the bot is not in this Discord server: add it to the server first, then link it",
            )),
            Err(e) => Err(DeskError::invalid(
                "guildId",
                format!("could not ask Discord whether the bot is in this server ({e}); try again"),
            )),
        }
    }

    /// Unlinks a guild; its tickets stay. The panel message is left in Discord for the guild's
    /// admins to remove (the bot may have been removed already).
    pub async fn unlink_guild(&self, actor: &Actor, id: ChannelAccountId) -> Result<(), DeskError> {
        self.desk.delete_channel_account(actor, Channel::Discord, id).await
    }

    /// The linked guild routing events of `guild_id`, when a workspace linked it and it is on.
    pub(crate) async fn guild(&self, guild_id: u64) -> Result<Option<LinkedGuild>, DeskError> {
        let account = self.desk.routed_channel_account(Channel::Discord, &guild_id.to_string()).await?;
        match account.filter(|a| a.enabled) {
            Some(a) => Ok(Some(LinkedGuild::from_account(&a)?)),
            None => Ok(None),
        }
    }

    /// Stores the guild's channel state.
    pub(crate) async fn save_guild_state(&self, guild: &LinkedGuild) -> Result<(), DeskError> {
        let state = serde_json::to_value(&guild.state).map_err(|e| DeskError::Internal(e.to_string()))?;
        self.desk.set_channel_account_state(guild.workspace_id, guild.id, &state).await
    }

    /// Posts the panel, or edits the one already posted in the same channel (a deleted one is
    /// posted again; one already showing this body is left alone), and records the outcome on
    /// the guild. Whether Discord was changed. A guild with no panel channel yet (linked from
    /// Discord before it had one) has nothing to post.
    pub(crate) async fn post_panel(&self, guild: &mut LinkedGuild) -> Result<bool, DeskError> {
        if guild.settings.panel_channel_id.is_empty() {
            return Ok(false);
        }
        let channel = snowflake("panelChannelId", &guild.settings.panel_channel_id)?;
        let body = panel_message(&guild.settings);
        let text = body.to_string();
        let existing = guild
            .state
            .panel_message_id
            .as_deref()
            .and_then(|m| m.parse::<u64>().ok())
            .filter(|_| guild.state.panel_channel_id.as_deref() == Some(&guild.settings.panel_channel_id));
        let route_of =
            |m: u64| Route::ChannelMessage { channel_id: ChannelId::new(channel), message_id: MessageId::new(m) };
        if let Some(m) = existing
            && guild.state.panel_body.as_deref() == Some(text.as_str())
            && guild.state.panel_error.is_none()
        {
            match self.rest.send_json(route_of(m), LightMethod::Get, &Value::Null).await {
                Ok(_) => return Ok(false),
                Err(e) if e.code() == Some(10008) => {}
                // Unsure whether it is there: edit it as before.
                Err(_) => {}
            }
        }
        let mut outcome = match existing {
            Some(m) => self.rest.send_json(route_of(m), LightMethod::Patch, &body).await,
            None => {
                Err(RestError::Refused { status: 404, code: 10008, message: String::new(), field_codes: Vec::new() })
            }
        };
        if outcome.as_ref().is_err_and(|e| e.code() == Some(10008)) {
            let route = Route::ChannelMessages { channel_id: ChannelId::new(channel) };
            outcome = self.rest.send_json(route, LightMethod::Post, &body).await;
        }
        let changed = outcome.is_ok();
        match outcome {
            Ok(m) => {
                guild.state.panel_channel_id = Some(guild.settings.panel_channel_id.clone());
                guild.state.panel_message_id = m["id"].as_str().map(str::to_string);
                guild.state.panel_error = None;
                guild.state.panel_body = Some(text);
            }
            Err(e) => {
                tracing::warn!(guild = %guild.guild_id, error = %e, "the Discord ticket panel could not be posted");
                guild.state.panel_error = Some(format!("The panel could not be posted: {e}"));
            }
        }
        self.save_guild_state(guild).await?;
        Ok(changed)
    }

    /// On GUILD_CREATE (the bot joined, or connected again): a linked guild whose panel was never
    /// posted (linked while the bot was away) gets it now.
    pub(crate) async fn on_guild_available(&self, guild_id: u64) {
        match self.guild(guild_id).await {
            Ok(Some(mut g)) if g.state.panel_message_id.is_none() => {
                if let Err(e) = self.post_panel(&mut g).await {
                    tracing::error!(guild = guild_id, error = %e, "posting the Discord panel failed");
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::info!(guild = guild_id, "Discord guild not linked to any workspace; its events are ignored")
            }
            Err(e) => tracing::error!(guild = guild_id, error = %e, "looking up a Discord guild's link failed"),
        }
    }
}
