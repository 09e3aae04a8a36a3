//! GraphQL for the Discord channel: the workspace's linked guilds (admins link, change and
//! unlink them; saving posts or updates the panel) and the gateway's state. [`DiscordQuery`] and
//! [`DiscordMutation`] are merged into the schema by the server, each holding the running
//! [`DiscordChannel`] (the panel is posted through its REST client).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::DeskError;
use switchboard_desk::domain::{ChannelAccountId, HelpTopicId, Permission};
use switchboard_graphql::{actor, id, parse_id, time};

use crate::DiscordChannel;
use crate::guilds::{GuildLinkInput, LinkedGuild};
use crate::settings::{GuildSettings, TicketType};

/// The running channel a root object was built with; the SDL is built without one.
fn channel(held: &Option<Arc<DiscordChannel>>) -> Result<&Arc<DiscordChannel>, DeskError> {
    held.as_ref().ok_or_else(|| DeskError::Internal("the Discord channel is not in the schema".into()))
}

/// A Discord guild linked to the workspace.
pub struct DiscordGuild(pub LinkedGuild);

#[Object]
impl DiscordGuild {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// Discord's id of the guild (server).
    async fn guild_id(&self) -> &str {
        &self.0.guild_id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// The text channel the ticket panel is posted in.
    async fn panel_channel_id(&self) -> &str {
        &self.0.settings.panel_channel_id
    }
    /// Where transcripts of closed tickets are posted.
    async fn transcripts_channel_id(&self) -> Option<&str> {
        self.0.settings.transcripts_channel_id.as_deref()
    }
    /// Where a requester's "Request human" is posted for staff (`#staff-review`).
    async fn staff_review_channel_id(&self) -> Option<&str> {
        self.0.settings.staff_review_channel_id.as_deref()
    }
    /// Roles whose members are support staff.
    async fn staff_role_ids(&self) -> &[String] {
        &self.0.settings.staff_role_ids
    }
    /// The second tier, for sensitive tickets.
    async fn management_role_ids(&self) -> &[String] {
        &self.0.settings.management_role_ids
    }
    /// Ticket channels are named `ticket-<number>`.
    async fn sequential_names(&self) -> bool {
        self.0.settings.sequential_names
    }
    async fn ticket_types(&self) -> Vec<DiscordTicketType> {
        self.0.settings.ticket_types.iter().cloned().map(DiscordTicketType::from).collect()
    }
    /// The panel message, once posted.
    async fn panel_message_id(&self) -> Option<&str> {
        self.0.state.panel_message_id.as_deref()
    }
    /// Why the panel could not be posted the last time it was saved.
    async fn panel_error(&self) -> Option<&str> {
        self.0.state.panel_error.as_deref()
    }
    /// Where tips learned from closed tickets are summarised (`#learned-tips`).
    async fn learned_tips_channel_id(&self) -> Option<&str> {
        self.0.settings.learned_tips_channel_id.as_deref()
    }
    /// Propose knowledge tips from tickets staff closed.
    async fn auto_learn(&self) -> bool {
        self.0.settings.auto_learn
    }
    /// Days closed tickets' transcripts are kept; 0 keeps them forever.
    async fn transcript_retention_days(&self) -> u32 {
        self.0.settings.transcript_retention_days
    }
    /// Minutes the answer bot waits after a staff message before replying again (0: no pause).
    async fn staff_reply_cooldown_minutes(&self) -> u32 {
        self.0.settings.staff_reply_cooldown_minutes
    }
    /// What is deployed in Discord, what is missing and the next step, as `/switchboard view`
    /// says it.
    async fn deployment(&self) -> DiscordDeployment {
        DiscordDeployment::from(crate::setup::deployment(Some(&self.0)))
    }
}

/// Whether a guild's support is fully deployed.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum DiscordDeploymentStatus {
    Ready,
    Partial,
    Pending,
}

/// A guild's deployment: status, what is missing, the next step.
#[derive(SimpleObject)]
pub struct DiscordDeployment {
    pub status: DiscordDeploymentStatus,
    pub missing: Vec<String>,
    pub next_step: String,
}

impl From<crate::setup::Deployment> for DiscordDeployment {
    fn from(d: crate::setup::Deployment) -> Self {
        use crate::setup::DeploymentStatus as S;
        let status = match d.status {
            S::Ready => DiscordDeploymentStatus::Ready,
            S::Partial => DiscordDeploymentStatus::Partial,
            S::Pending => DiscordDeploymentStatus::Pending,
        };
        DiscordDeployment { status, missing: d.missing, next_step: d.next_step }
    }
}

/// A one-time code that links a Discord server to this workspace, shown once.
#[derive(SimpleObject)]
pub struct DiscordLinkCode {
    /// Typed in Discord: `/switchboard setup code:<code>`.
    pub code: String,
    pub expires_at: DateTime<Utc>,
    /// What to do with it.
    pub next_step: String,
}

/// A ticket type offered on the panel.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "DiscordTicketTypeInput")]
pub struct DiscordTicketType {
    /// Names the type in the panel (`a-z`, `0-9`, `-`).
    pub key: String,
    pub help_topic_id: ID,
    pub label: String,
    pub description: Option<String>,
    /// The category its ticket channels are created in.
    pub category_id: String,
    pub enabled: bool,
    /// When not empty, only members with one of these roles may open this type.
    pub role_ids: Vec<String>,
    /// Open tickets of this type a member may have at once; 0 for no limit.
    pub open_limit: u32,
    pub ask_subject: bool,
    pub ask_description: bool,
}

impl From<TicketType> for DiscordTicketType {
    fn from(t: TicketType) -> Self {
        DiscordTicketType {
            key: t.key,
            help_topic_id: id(t.help_topic_id.0),
            label: t.label,
            description: t.description,
            category_id: t.category_id,
            enabled: t.enabled,
            role_ids: t.role_ids,
            open_limit: t.open_limit,
            ask_subject: t.ask_subject,
            ask_description: t.ask_description,
        }
    }
}

/// A guild link to save.
#[derive(InputObject)]
pub struct DiscordGuildInput {
    pub guild_id: String,
    pub name: String,
    pub enabled: bool,
    pub panel_channel_id: String,
    pub transcripts_channel_id: Option<String>,
    /// Where a requester's "Request human" is posted for staff; omitted or null for none.
    pub staff_review_channel_id: Option<String>,
    pub staff_role_ids: Vec<String>,
    pub management_role_ids: Vec<String>,
    pub sequential_names: bool,
    pub ticket_types: Vec<DiscordTicketType>,
    /// Where tips learned from closed tickets are summarised; omitted or null for none.
    pub learned_tips_channel_id: Option<String>,
    #[graphql(default)]
    pub auto_learn: bool,
    /// 30, 60 or 90 days, or 0 to keep transcripts forever.
    #[graphql(default = 30)]
    pub transcript_retention_days: u32,
    /// 0-1440 minutes; 0 turns the answer bot's pause after a staff message off.
    #[graphql(default = 30)]
    pub staff_reply_cooldown_minutes: u32,
}

impl DiscordGuildInput {
    fn into_link(self) -> Result<GuildLinkInput, DeskError> {
        let mut types = Vec::with_capacity(self.ticket_types.len());
        for (i, t) in self.ticket_types.into_iter().enumerate() {
            let topic: HelpTopicId = parse_id(&t.help_topic_id, &format!("ticketTypes[{i}].helpTopicId"))?;
            types.push(TicketType {
                key: t.key,
                help_topic_id: topic,
                label: t.label,
                description: t.description.filter(|d| !d.trim().is_empty()),
                category_id: t.category_id,
                enabled: t.enabled,
                role_ids: t.role_ids,
                open_limit: t.open_limit,
                ask_subject: t.ask_subject,
                ask_description: t.ask_description,
            });
        }
        Ok(GuildLinkInput {
            guild_id: self.guild_id,
            name: self.name,
            enabled: self.enabled,
            settings: GuildSettings {
                panel_channel_id: self.panel_channel_id,
                transcripts_channel_id: self.transcripts_channel_id.filter(|t| !t.trim().is_empty()),
                staff_review_channel_id: self.staff_review_channel_id.filter(|t| !t.trim().is_empty()),
                staff_role_ids: self.staff_role_ids,
                management_role_ids: self.management_role_ids,
                sequential_names: self.sequential_names,
                ticket_types: types,
                learned_tips_channel_id: self.learned_tips_channel_id.filter(|t| !t.trim().is_empty()),
                auto_learn: self.auto_learn,
                transcript_retention_days: self.transcript_retention_days,
                staff_reply_cooldown_minutes: self.staff_reply_cooldown_minutes,
            },
        })
    }
}

/// A guild the bot is in, as the gateway announced it.
#[derive(SimpleObject)]
pub struct DiscordGatewayGuild {
    pub id: String,
    pub name: String,
}

/// The gateway connection of this server.
#[derive(SimpleObject)]
pub struct DiscordGateway {
    /// A bot token is configured (`SWITCHBOARD_DISCORD_TOKEN`).
    pub configured: bool,
    pub connected: bool,
    /// Another server of the deployment holds the gateway; this one stands by.
    pub standby: bool,
    pub guilds: Vec<DiscordGatewayGuild>,
    pub last_error: Option<String>,
    pub sessions: u32,
    pub resumes: u32,
}

/// The Discord channel's reads, merged into the schema's `Query`; built with the running channel.
#[derive(Debug, Default)]
pub struct DiscordQuery(pub Option<Arc<DiscordChannel>>);

#[Object]
impl DiscordQuery {
    /// The workspace's linked Discord guilds (admins).
    async fn discord_guilds(&self, ctx: &Context<'_>) -> Result<Vec<DiscordGuild>, DeskError> {
        Ok(channel(&self.0)?.linked_guilds(actor(ctx)?).await?.into_iter().map(DiscordGuild).collect())
    }

    /// The state of this server's Discord gateway connection (admins). Of the guilds the bot is
    /// in, only those the workspace linked are listed: one bot serves every workspace, and
    /// another tenant's guilds are not this one's business.
    async fn discord_gateway(&self, ctx: &Context<'_>) -> Result<DiscordGateway, DeskError> {
        let a = actor(ctx)?;
        if !a.can(Permission::Admin) {
            return Err(DeskError::Forbidden("this needs the service-desk.admin permission".into()));
        }
        let ch = channel(&self.0)?;
        let linked = ch.linked_guilds(a).await?;
        let s = ch.status();
        Ok(DiscordGateway {
            configured: ch.enabled(),
            connected: s.connected,
            standby: s.standby,
            guilds: s
                .guilds
                .into_iter()
                .filter(|(id, _)| linked.iter().any(|g| &g.guild_id == id))
                .map(|(id, name)| DiscordGatewayGuild { id, name })
                .collect(),
            last_error: s.last_error,
            sessions: s.sessions,
            resumes: s.resumes,
        })
    }
}

/// The Discord channel's changes, merged into the schema's `Mutation` (see [`DiscordQuery`]).
#[derive(Debug, Default)]
pub struct DiscordMutation(pub Option<Arc<DiscordChannel>>);

#[Object]
impl DiscordMutation {
    /// Links a guild (`id` omitted) or changes a link, then posts or updates the panel (admins).
    async fn save_discord_guild(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        input: DiscordGuildInput,
    ) -> Result<DiscordGuild, DeskError> {
        let id: Option<ChannelAccountId> = id.as_ref().map(|i| parse_id(i, "id")).transpose()?;
        let link = input.into_link()?;
        Ok(DiscordGuild(channel(&self.0)?.link_guild(actor(ctx)?, id, link).await?))
    }

    /// A one-time code that links a Discord server to this workspace from inside Discord
    /// (`/switchboard setup code:...`); works once, within the hour (admins).
    async fn create_discord_link_code(&self, ctx: &Context<'_>) -> Result<DiscordLinkCode, DeskError> {
        let ch = channel(&self.0)?;
        let c = ch.desk().create_channel_link_code(actor(ctx)?, switchboard_desk::domain::Channel::Discord).await?;
        let next_step = format!(
            "In your Discord server, run /switchboard setup code:{} to create the support channels, or /switchboard link code:{} to adopt the ones you have. The code works once, within the hour.",
            c.code, c.code
        );
        Ok(DiscordLinkCode { code: c.code, expires_at: time(c.expires_at), next_step })
    }

    /// Unlinks a guild; its tickets stay (admins).
    async fn delete_discord_guild(&self, ctx: &Context<'_>, id: ID) -> Result<bool, DeskError> {
        channel(&self.0)?.unlink_guild(actor(ctx)?, parse_id(&id, "id")?).await?;
        Ok(true)
    }
}
