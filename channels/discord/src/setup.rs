//! Setting support up from inside Discord: `/switchboard setup` (a form, then one follow-up
//! question, then the categories, the panel channel with its panel and the staff channels made,
//! and the guild linked to the workspace a one-time link code names), `/switchboard link`
//! (adopting channels that already have the usual names, saying what it linked and what is still
//! missing), `/switchboard view` (the deployment's state and next step) and `/switchboard
//! autoconfig` (the settings saved in the web applied to Discord; a second run changes nothing).
//!
//! Every one of them needs the member's Manage Server permission or a management role, and reads
//! the bot's own permissions from the guild's roles before it changes anything: a missing one is
//! named in the answer instead of a setup failing half-way. Each step finds what exists before
//! making it (by the id the settings hold, else by the usual name), so a retried or repeated run
//! makes nothing twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serenity::all::{
    ActionRowComponent, ChannelId, CommandDataOption, CommandDataOptionValue, CommandInteraction, ComponentInteraction,
    GuildId, ModalInteraction, Permissions, TargetId, UserId,
};
use serenity::http::{LightMethod, Route};
use switchboard_channel::ChannelSettings;
use switchboard_desk::domain::{Actor, Channel, ChannelAccountId, HelpTopicId, Permission};
use switchboard_desk::{ChannelAccountSave, DeskError, HelpTopicInput};

use crate::guilds::LinkedGuild;
use crate::opening::Reply;
use crate::settings::{GuildSettings, MAX_TICKET_TYPES, TRANSCRIPT_RETENTION_DAYS, TicketType};
use crate::{DiscordChannel, RestError};

/// Discord's permission bits setup reads and sets.
pub mod bits {
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    /// What staff (and the bot) may do in a staff channel or a ticket category.
    pub const PARTICIPANT: u64 = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY;
}

/// What the bot needs in a guild to run support there, by the names Discord's role settings show.
pub const BOT_NEEDS: &[(u64, &str)] = &[
    (bits::MANAGE_CHANNELS, "Manage Channels"),
    (bits::MANAGE_ROLES, "Manage Roles"),
    (bits::VIEW_CHANNEL, "View Channels"),
    (bits::SEND_MESSAGES, "Send Messages"),
    (bits::MANAGE_MESSAGES, "Manage Messages"),
    (bits::EMBED_LINKS, "Embed Links"),
    (bits::ATTACH_FILES, "Attach Files"),
    (bits::READ_MESSAGE_HISTORY, "Read Message History"),
];

/// The names of the permissions in [`BOT_NEEDS`] that `granted` lacks (none for an administrator).
pub fn missing_bot_permissions(granted: u64) -> Vec<&'static str> {
    if granted & bits::ADMINISTRATOR != 0 {
        return Vec::new();
    }
    BOT_NEEDS.iter().filter(|(bit, _)| granted & bit == 0).map(|(_, name)| *name).collect()
}

/// The ticket types setup offers by name, with their labels.
pub const PRESET_TYPES: [(&str, &str); 4] =
    [("customer", "Customer Support"), ("technical", "Technical Support"), ("billing", "Billing"), ("sales", "Sales")];
/// The panel channel's name when none is given.
pub const DEFAULT_PANEL_NAME: &str = "start-support";
/// The staff channels' usual names: the one setup makes first, then others `link` adopts.
const TRANSCRIPT_NAMES: &[&str] = &["ticket-transcripts", "transcripts"];
const STAFF_REVIEW_NAMES: &[&str] = &["staff-review", "escalations"];
const LEARNED_TIPS_NAMES: &[&str] = &["learned-tips", "tips"];
const PANEL_NAMES: &[&str] = &["support", "tickets", "start-support"];
/// How long a setup form waits for its follow-up.
const SETUP_FORM_TTL: Duration = Duration::from_secs(15 * 60);
/// Longest role list and type list typed into the form.
const MAX_LISTED: usize = 25;
const TEXT: u64 = 0;
const CATEGORY: u64 = 4;

/// Whether the deployment in a guild is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    /// Linked, with its panel, ticket types, staff channels and staff roles.
    Ready,
    /// Linked, some of it still missing.
    Partial,
    /// Not linked, or linked with neither a panel nor a ticket type.
    Pending,
}

impl DeploymentStatus {
    /// As Discord's answers and the web show it.
    pub fn label(self) -> &'static str {
        match self {
            DeploymentStatus::Ready => "Ready",
            DeploymentStatus::Partial => "Partial",
            DeploymentStatus::Pending => "Pending",
        }
    }
}

/// A guild's deployment: its status, what is missing, and what to do next. The same for
/// `/switchboard view` and the web's Discord settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub status: DeploymentStatus,
    pub missing: Vec<String>,
    pub next_step: String,
}

/// The next step of a guild no workspace linked yet.
pub const LINK_FIRST: &str = "Create a link code in the web helpdesk (Admin, Discord), then run /switchboard setup \
     code:<code> in your Discord server to create the channels, or /switchboard link code:<code> to adopt the \
     channels you already have.";

/// The deployment of a linked guild (`None`: not linked), from its stored settings and state.
pub fn deployment(guild: Option<&LinkedGuild>) -> Deployment {
    let Some(g) = guild else {
        return Deployment {
            status: DeploymentStatus::Pending,
            missing: vec!["a link to a helpdesk workspace".into()],
            next_step: LINK_FIRST.into(),
        };
    };
    let s = &g.settings;
    let mut missing = Vec::new();
    let has_types = s.enabled_types().next().is_some();
    if s.panel_channel_id.is_empty() {
        missing.push("a ticket panel channel".to_string());
    } else if g.state.panel_message_id.is_none() {
        missing.push("the ticket panel message".to_string());
    }
    if !has_types {
        missing.push("an enabled ticket type".to_string());
    }
    for (set, name) in [
        (&s.transcripts_channel_id, "#ticket-transcripts"),
        (&s.staff_review_channel_id, "#staff-review"),
        (&s.learned_tips_channel_id, "#learned-tips"),
    ] {
        if set.is_none() {
            missing.push(name.to_string());
        }
    }
    let no_roles = s.staff_role_ids.is_empty();
    if no_roles {
        missing.push("a staff role".to_string());
    }
    let status = if missing.is_empty() {
        DeploymentStatus::Ready
    } else if s.panel_channel_id.is_empty() && !has_types {
        DeploymentStatus::Pending
    } else {
        DeploymentStatus::Partial
    };
    let next_step = if let Some(e) = &g.state.panel_error {
        format!("{e}. Give the bot the permissions it needs, then run /switchboard autoconfig.")
    } else if status == DeploymentStatus::Ready {
        "Nothing to do: support is ready. After changing settings in the web, run /switchboard autoconfig in Discord."
            .to_string()
    } else if no_roles && missing.len() == 1 {
        "Name your staff roles (with /switchboard setup, or in the web settings and then /switchboard autoconfig)."
            .to_string()
    } else {
        "Run /switchboard setup in Discord to create what is missing, or name your channels as usual and run \
         /switchboard link again."
            .to_string()
    };
    Deployment { status, missing, next_step }
}

/// A ticket type chosen in the setup form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeChoice {
    pub key: String,
    pub label: String,
}

/// The setup form's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupForm {
    pub types: Vec<TypeChoice>,
    pub panel_name: String,
    pub staff_roles: Vec<String>,
    pub management_roles: Vec<String>,
    pub auto_learn: bool,
}

/// Parses the ticket types field: names from [`PRESET_TYPES`], or `custom:Name` for a type of
/// one's own, separated by commas.
pub fn parse_ticket_types(text: &str) -> Result<Vec<TypeChoice>, String> {
    let mut types: Vec<TypeChoice> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let choice = if let Some(custom) = item.strip_prefix("custom:").or_else(|| item.strip_prefix("Custom:")) {
            let label = custom.trim();
            if label.is_empty() {
                return Err("Write the custom ticket type's name after custom:, e.g. custom:Partnerships.".into());
            }
            if label.chars().count() > 80 {
                return Err(format!(
                    "The ticket type name \"{}…\" is too long: at most 80 characters.",
                    label.chars().take(40).collect::<String>()
                ));
            }
            let key = type_key(label);
            if key.is_empty() {
                return Err(format!("The ticket type name \"{label}\" needs at least one letter or digit."));
            }
            TypeChoice { key, label: label.to_string() }
        } else {
            let wanted = item.to_lowercase();
            match PRESET_TYPES.iter().find(|(k, _)| *k == wanted) {
                Some((k, label)) => TypeChoice { key: k.to_string(), label: label.to_string() },
                None => {
                    return Err(format!(
                        "Unknown ticket type \"{}\": use customer, technical, billing or sales, or custom:Your name for a type of your own.",
                        item.chars().take(40).collect::<String>()
                    ));
                }
            }
        };
        if !types.iter().any(|t| t.key == choice.key) {
            types.push(choice);
        }
    }
    if types.is_empty() {
        return Err("Choose at least one ticket type, e.g. customer.".into());
    }
    if types.len() > MAX_TICKET_TYPES {
        return Err(format!("At most {MAX_TICKET_TYPES} ticket types."));
    }
    Ok(types)
}

/// A type's key from its name: lower-case letters and digits, other runs as one `-`, at most 32.
fn type_key(label: &str) -> String {
    let mut key = String::new();
    for c in label.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            key.push(c);
        } else if !key.ends_with('-') && !key.is_empty() {
            key.push('-');
        }
    }
    let key: String = key.chars().take(32).collect();
    key.trim_end_matches('-').to_string()
}

/// Parses the panel channel's name: Discord's text channel rules (lower case, no spaces), 1-100.
pub fn parse_channel_name(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > 100 {
        return Err("The panel channel name may be at most 100 characters.".into());
    }
    let name = text.trim_start_matches('#').to_lowercase().split_whitespace().collect::<Vec<_>>().join("-");
    if name.is_empty() {
        return Ok(DEFAULT_PANEL_NAME.into());
    }
    if !name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        return Err(format!(
            "The panel channel name \"{}\" may hold only letters, digits, '-' and '_'.",
            name.chars().take(40).collect::<String>()
        ));
    }
    Ok(name)
}

/// Parses a comma-separated list of role names (`field` names it in the refusal).
pub fn parse_role_names(field: &str, text: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for n in text.split(',').map(|n| n.trim().trim_start_matches('@').trim()).filter(|n| !n.is_empty()) {
        if n.chars().count() > 100 {
            return Err(format!(
                "A role name in {field} is too long: Discord's role names have at most 100 characters."
            ));
        }
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    if names.len() > MAX_LISTED {
        return Err(format!("At most {MAX_LISTED} roles in {field}."));
    }
    Ok(names)
}

/// Parses a yes or no.
pub fn parse_yes_no(field: &str, text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "" | "yes" | "y" | "true" | "on" => Ok(true),
        "no" | "n" | "false" | "off" => Ok(false),
        other => Err(format!("{field}: answer yes or no, not \"{}\".", other.chars().take(20).collect::<String>())),
    }
}

/// Parses the setup form's fields (by their custom ids).
pub fn parse_setup_form(fields: &HashMap<String, String>) -> Result<SetupForm, String> {
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    Ok(SetupForm {
        types: parse_ticket_types(field("types"))?,
        panel_name: parse_channel_name(field("panel"))?,
        staff_roles: parse_role_names("Staff role names", field("staff_roles"))?,
        management_roles: parse_role_names("Management role names", field("management_roles"))?,
        auto_learn: parse_yes_no("Auto-learn", field("auto_learn"))?,
    })
}

/// A setup begun by a member: the code they gave, then the form's answers.
#[derive(Debug, Clone)]
pub(crate) struct PendingSetup {
    code: Option<String>,
    form: Option<SetupForm>,
    started: Instant,
}

/// An answer for the member, already worded.
struct Told(String);

impl From<DeskError> for Told {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::Validation(v) if v.field == "code" => Told(format!("The link code was refused: {}.", v.message)),
            DeskError::Validation(v) if v.field == "externalKey" || v.field == "guildId" => Told(
                "This Discord server is linked to another helpdesk workspace already; unlink it there first.".into(),
            ),
            DeskError::Validation(v) => Told(format!("{}: {}.", v.field, v.message)),
            other => {
                tracing::error!(error = %other, "a Discord setup command failed");
                Told("Something went wrong on our side; please try again in a moment.".into())
            }
        }
    }
}

impl From<RestError> for Told {
    fn from(e: RestError) -> Self {
        tracing::warn!(error = %e, "Discord refused a setup step");
        Told(format!("Discord refused a step of the setup ({e}). What was made so far stays; run the command again."))
    }
}

/// A channel of the guild, as setup reads it.
#[derive(Debug, Clone)]
struct GuildChannel {
    id: u64,
    name: String,
    kind: u64,
    overwrites: Vec<Value>,
}

/// What setup reads of a guild before it changes anything.
#[derive(Debug, Clone)]
struct Snapshot {
    guild_id: u64,
    name: String,
    owner_id: u64,
    /// (id, name, permission bits).
    roles: Vec<(u64, String, u64)>,
    channels: Vec<GuildChannel>,
}

impl Snapshot {
    fn channel(&self, id: &str, kind: u64) -> Option<&GuildChannel> {
        let id: u64 = id.parse().ok()?;
        self.channels.iter().find(|c| c.id == id && c.kind == kind)
    }

    fn named(&self, names: &[&str], kind: u64) -> Option<&GuildChannel> {
        names.iter().find_map(|n| self.channels.iter().find(|c| c.kind == kind && c.name.eq_ignore_ascii_case(n)))
    }

    fn role_named(&self, name: &str) -> Option<u64> {
        let exact = self.roles.iter().find(|(_, n, _)| n == name);
        exact.or_else(|| self.roles.iter().find(|(_, n, _)| n.eq_ignore_ascii_case(name))).map(|(id, _, _)| *id)
    }
}

fn id_of(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

fn bits_of(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()).unwrap_or_default()
}

fn option_value<'a>(options: &'a [CommandDataOption], name: &str) -> Option<&'a str> {
    options.iter().find(|o| o.name == name).and_then(|o| match &o.value {
        CommandDataOptionValue::String(s) => Some(s.as_str()),
        _ => None,
    })
}

/// Whether a member may run `/switchboard`: Manage Server (or Administrator), or a management
/// role of the linked guild.
pub fn may_configure(guild: Option<&LinkedGuild>, roles: &[u64], permissions: Permissions) -> Result<(), String> {
    if permissions.manage_guild() || permissions.administrator() {
        return Ok(());
    }
    if guild.is_some_and(|g| g.settings.is_management(roles)) {
        return Ok(());
    }
    Err("/switchboard needs the Manage Server permission or a management role.".into())
}

/// The `/switchboard` command as registered.
pub fn definition() -> Value {
    let code = json!({ "type": 3, "name": "code", "description": "The link code from the web helpdesk (first time only)",
        "required": false, "max_length": 40 });
    json!({ "name": "switchboard", "type": 1, "description": "Set up support in this server", "contexts": [0],
        "options": [
            { "type": 1, "name": "setup", "description": "Create the support channels and the ticket panel", "options": [code] },
            { "type": 1, "name": "link", "description": "Adopt the support channels this server already has", "options": [code] },
            { "type": 1, "name": "view", "description": "What is linked, and the next step" },
            { "type": 1, "name": "autoconfig", "description": "Apply the settings saved in the web to Discord" },
        ] })
}

fn text_input(id: &str, label: &str, value: &str, max: u16, required: bool, placeholder: &str) -> Value {
    let mut input = json!({ "type": 4, "custom_id": id, "label": label, "style": 1, "max_length": max,
        "required": required, "placeholder": placeholder });
    if !value.is_empty() {
        input["value"] = json!(value);
    }
    json!({ "type": 1, "components": [input] })
}

fn role_names(snapshot: Option<&Snapshot>, ids: &[String]) -> String {
    let Some(s) = snapshot else { return String::new() };
    ids.iter()
        .filter_map(|id| s.roles.iter().find(|(r, _, _)| r.to_string() == *id).map(|(_, n, _)| n.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DiscordChannel {
    /// `/switchboard setup|link|view|autoconfig`.
    pub(crate) async fn on_switchboard_command(&self, c: &CommandInteraction, to: &Reply<'_>) {
        let Some(guild_id) = c.guild_id.map(GuildId::get) else {
            return self.tell(to, "/switchboard works in a server, not in a direct message.").await;
        };
        let linked = match self.guild(guild_id).await {
            Ok(g) => g,
            Err(e) => return self.tell(to, &Told::from(e).0).await,
        };
        let member = c.member.as_deref();
        let roles: Vec<u64> = member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default();
        let permissions = member.and_then(|m| m.permissions).unwrap_or_else(Permissions::empty);
        if let Err(refusal) = may_configure(linked.as_ref(), &roles, permissions) {
            return self.tell(to, &refusal).await;
        }
        let Some(sub) = c.data.options.first() else {
            return self.tell(to, "Use /switchboard setup, link, view or autoconfig.").await;
        };
        let options: &[CommandDataOption] = match &sub.value {
            CommandDataOptionValue::SubCommand(o) => o,
            _ => &[],
        };
        let user = member.map_or(&c.user, |m| &m.user);
        let display = user.global_name.clone().unwrap_or_else(|| user.name.clone());
        let code = option_value(options, "code").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
        match sub.name.as_str() {
            "setup" => self.begin_setup(to, guild_id, user.id.get(), linked.as_ref(), code).await,
            "view" => {
                let text = self.view_text(linked.as_ref()).await;
                self.tell(to, &text).await;
            }
            "link" | "autoconfig" => {
                // Deferred: reading the guild and making channels may take longer than 3 seconds.
                self.respond(to, json!({ "type": 5, "data": { "flags": 64 } })).await;
                let result = if sub.name == "link" {
                    self.link_existing(guild_id, linked, code.as_deref(), &display).await
                } else {
                    self.autoconfig(guild_id, linked, &display).await
                };
                let (Ok(text) | Err(Told(text))) = result;
                self.follow_up(to, &text).await;
            }
            _ => self.tell(to, "Use /switchboard setup, link, view or autoconfig.").await,
        }
    }

    /// The setup form, once the code (for a guild not linked yet) and the bot's permissions pass.
    async fn begin_setup(
        &self,
        to: &Reply<'_>,
        guild_id: u64,
        user: u64,
        linked: Option<&LinkedGuild>,
        code: Option<String>,
    ) {
        if linked.is_none() {
            let Some(code) = code.as_deref() else {
                return self
                    .tell(to, &format!("This server is not linked to a helpdesk workspace yet. {LINK_FIRST}"))
                    .await;
            };
            if let Err(e) = self.desk().channel_link_code_workspace(Channel::Discord, code).await {
                return self.tell(to, &Told::from(e).0).await;
            }
        }
        let snapshot = match self.checked_snapshot(guild_id).await {
            Ok(s) => s,
            Err(Told(text)) => return self.tell(to, &text).await,
        };
        let pending =
            PendingSetup { code: if linked.is_some() { None } else { code }, form: None, started: Instant::now() };
        self.setups.lock().unwrap_or_else(|e| e.into_inner()).insert((guild_id, user), pending);
        let s = linked.map(|g| g.settings.clone());
        let types = s
            .as_ref()
            .map(|s| {
                s.enabled_types()
                    .map(|t| match PRESET_TYPES.iter().find(|(k, _)| *k == t.key) {
                        Some((k, _)) => k.to_string(),
                        None => format!("custom:{}", t.label),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "customer, technical".into());
        let panel = linked
            .and_then(|g| snapshot.channel(&g.settings.panel_channel_id, TEXT))
            .map_or(DEFAULT_PANEL_NAME.to_string(), |c| c.name.clone());
        let staff = s.as_ref().map(|s| role_names(Some(&snapshot), &s.staff_role_ids)).unwrap_or_default();
        let management = s.as_ref().map(|s| role_names(Some(&snapshot), &s.management_role_ids)).unwrap_or_default();
        let learn = if s.as_ref().is_some_and(|s| !s.auto_learn) { "no" } else { "yes" };
        let modal = json!({ "type": 9, "data": { "custom_id": "sb:setup", "title": "Switchboard Support Setup", "components": [
            text_input("types", "Ticket types", &types, 400, true, "customer, technical, billing, sales, custom:Your type"),
            text_input("panel", "Panel channel name", &panel, 100, true, DEFAULT_PANEL_NAME),
            text_input("staff_roles", "Staff role names (comma-separated)", &staff, 1000, false, "Support, Moderator"),
            text_input("management_roles", "Management role names (comma-separated)", &management, 1000, false, "Admin"),
            text_input("auto_learn", "Auto-learn from tickets (yes or no)", learn, 3, true, "yes"),
        ] } });
        self.respond(to, modal).await;
    }

    fn pending_setup(&self, guild_id: u64, user: u64) -> Option<PendingSetup> {
        let mut setups = self.setups.lock().unwrap_or_else(|e| e.into_inner());
        setups.retain(|_, p| p.started.elapsed() < SETUP_FORM_TTL);
        setups.get(&(guild_id, user)).cloned()
    }

    /// The setup form sent back: checked (each fault named), then the follow-up question.
    pub(crate) async fn on_setup_form(&self, m: &ModalInteraction) {
        let to = Reply { id: m.id, token: &m.token, application_id: m.application_id };
        let Some(guild_id) = m.guild_id.map(GuildId::get) else { return };
        let user = m.member.as_ref().map_or(&m.user, |x| &x.user).id.get();
        let Some(mut pending) = self.pending_setup(guild_id, user) else {
            return self.tell(&to, "This setup form expired; run /switchboard setup again.").await;
        };
        let mut fields = HashMap::new();
        for c in m.data.components.iter().flat_map(|row| &row.components) {
            if let ActionRowComponent::InputText(input) = c {
                fields.insert(input.custom_id.clone(), input.value.clone().unwrap_or_default());
            }
        }
        let form = match parse_setup_form(&fields) {
            Ok(f) => f,
            Err(text) => {
                return self.tell(&to, &format!("{text} Nothing was changed; run /switchboard setup again.")).await;
            }
        };
        let snapshot = match self.snapshot(guild_id).await {
            Ok(s) => s,
            Err(e) => return self.tell(&to, &Told::from(e).0).await,
        };
        let unknown: Vec<String> = form
            .staff_roles
            .iter()
            .chain(&form.management_roles)
            .filter(|n| snapshot.role_named(n).is_none())
            .map(|n| format!("\"{n}\""))
            .collect();
        if !unknown.is_empty() {
            return self
                .tell(
                    &to,
                    &format!(
                        "No role named {} in this server: type the names as Server Settings, Roles shows them. Nothing was changed; run /switchboard setup again.",
                        unknown.join(", ")
                    ),
                )
                .await;
        }
        pending.form = Some(form);
        self.setups.lock().unwrap_or_else(|e| e.into_inner()).insert((guild_id, user), pending);
        let buttons: Vec<Value> = TRANSCRIPT_RETENTION_DAYS
            .iter()
            .map(|d| {
                let label = if *d == 0 { "Forever".to_string() } else { format!("{d} days") };
                json!({ "type": 2, "style": 1, "label": label, "custom_id": format!("sb:setup:keep:{d}") })
            })
            .collect();
        let body = json!({ "type": 4, "data": { "flags": 64,
            "content": "Last question: how long should closed tickets' transcripts be kept?",
            "components": [{ "type": 1, "components": buttons }], "allowed_mentions": { "parse": [] } } });
        self.respond(&to, body).await;
    }

    /// The follow-up's answer (`sb:setup:keep:<days>`): the setup runs.
    pub(crate) async fn on_setup_retention(&self, c: &ComponentInteraction, days: &str) {
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let Some(guild_id) = c.guild_id.map(GuildId::get) else { return };
        let member = c.member.as_ref();
        let user = member.map_or(&c.user, |x| &x.user);
        let display = user.global_name.clone().unwrap_or_else(|| user.name.clone());
        let days: Option<u32> = days.parse().ok().filter(|d| TRANSCRIPT_RETENTION_DAYS.contains(d));
        // Taken out: a double click runs the setup once, the second click is told it ran.
        let pending = self.setups.lock().unwrap_or_else(|e| e.into_inner()).remove(&(guild_id, user.id.get()));
        let (Some(days), Some(PendingSetup { code, form: Some(form), started })) = (days, pending) else {
            return self
                .tell(&to, "This setup already ran or expired; run /switchboard view to see where it stands.")
                .await;
        };
        if started.elapsed() >= SETUP_FORM_TTL {
            return self.tell(&to, "This setup form expired; run /switchboard setup again.").await;
        }
        self.respond(&to, json!({ "type": 5, "data": { "flags": 64 } })).await;
        let (Ok(text) | Err(Told(text))) = self.run_setup(guild_id, code.as_deref(), form, days, &display).await;
        self.follow_up(&to, &text).await;
    }

    /// Reads the guild: its name, owner, roles (with their permissions) and channels.
    async fn snapshot(&self, guild_id: u64) -> Result<Snapshot, RestError> {
        let g = GuildId::new(guild_id);
        let guild = self.rest.send_json(Route::Guild { guild_id: g }, LightMethod::Get, &Value::Null).await?;
        let channels =
            self.rest.send_json(Route::GuildChannels { guild_id: g }, LightMethod::Get, &Value::Null).await?;
        let roles = guild["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (id_of(&r["id"]), r["name"].as_str().unwrap_or_default().to_string(), bits_of(&r["permissions"])))
            .collect();
        let channels = channels
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| GuildChannel {
                id: id_of(&c["id"]),
                name: c["name"].as_str().unwrap_or_default().to_string(),
                kind: c["type"].as_u64().unwrap_or_default(),
                overwrites: c["permission_overwrites"].as_array().cloned().unwrap_or_default(),
            })
            .collect();
        Ok(Snapshot {
            guild_id,
            name: guild["name"].as_str().unwrap_or("Discord server").to_string(),
            owner_id: id_of(&guild["owner_id"]),
            roles,
            channels,
        })
    }

    /// The bot's guild-wide permissions: `@everyone`'s and its roles' (Discord's base
    /// permissions; an administrator or the owner has them all).
    async fn bot_permissions(&self, snapshot: &Snapshot) -> Result<u64, RestError> {
        let bot = self.bot_user_id();
        if bot != 0 && bot == snapshot.owner_id {
            return Ok(u64::MAX);
        }
        let route = Route::GuildMember { guild_id: GuildId::new(snapshot.guild_id), user_id: UserId::new(bot.max(1)) };
        let member = self.rest.send_json(route, LightMethod::Get, &Value::Null).await?;
        let mine: Vec<u64> = member["roles"].as_array().into_iter().flatten().map(id_of).collect();
        let granted = snapshot
            .roles
            .iter()
            .filter(|(id, _, _)| *id == snapshot.guild_id || mine.contains(id))
            .fold(0, |acc, (_, _, p)| acc | p);
        Ok(if granted & bits::ADMINISTRATOR != 0 { u64::MAX } else { granted })
    }

    /// The guild, once the bot is found to hold every permission setup needs; else the answer
    /// naming each one missing.
    async fn checked_snapshot(&self, guild_id: u64) -> Result<Snapshot, Told> {
        let snapshot = self.snapshot(guild_id).await.map_err(|e| {
            tracing::warn!(guild = guild_id, error = %e, "reading a Discord guild failed");
            Told(format!("Could not read this server from Discord ({e}); try again in a moment."))
        })?;
        let granted = self.bot_permissions(&snapshot).await?;
        let missing = missing_bot_permissions(granted);
        if missing.is_empty() {
            return Ok(snapshot);
        }
        let list: Vec<String> = missing.iter().map(|m| format!("• {m}")).collect();
        Err(Told(format!(
            "The bot is missing these permissions in this server:\n{}\nTurn them on in Server Settings, Roles, for the bot's role, then run the command again. Nothing was changed.",
            list.join("\n")
        )))
    }

    /// The actor setup acts as in a linked workspace: the guild's adapter, here holding the
    /// admin permission, because Manage Server in a linked guild is what the seed asks of the
    /// person setting up its support.
    fn setup_actor(
        &self,
        ws: switchboard_desk::domain::WorkspaceId,
        account: Option<ChannelAccountId>,
        display: &str,
    ) -> Actor {
        let actor =
            Actor::channel(ws, Channel::Discord, account).also_may(Permission::Admin).also_may(Permission::View);
        Actor { label: format!("{display} (discord)"), ..actor }
    }

    /// The workspace setup or link works in, and the actor: the linked one's, else the one the
    /// link code names (the code is spent only when the guild is saved).
    async fn workspace_for(
        &self,
        linked: Option<&LinkedGuild>,
        code: Option<&str>,
        display: &str,
    ) -> Result<Actor, Told> {
        match (linked, code) {
            (Some(g), _) => Ok(self.setup_actor(g.workspace_id, Some(g.id), display)),
            (None, Some(code)) => {
                let ws = self.desk().channel_link_code_workspace(Channel::Discord, code).await?;
                Ok(self.setup_actor(ws, None, display))
            }
            (None, None) => Err(Told(format!("This server is not linked to a helpdesk workspace yet. {LINK_FIRST}"))),
        }
    }

    /// The help topic named `label` (case aside), made when the workspace has none.
    async fn topic_for(&self, actor: &Actor, label: &str) -> Result<HelpTopicId, Told> {
        let topics = self.desk().help_topics(actor).await?;
        if let Some(t) = topics.iter().find(|t| t.name.eq_ignore_ascii_case(label)) {
            return Ok(t.id);
        }
        let input = HelpTopicInput {
            name: label.to_string(),
            default_priority: None,
            default_queue_id: None,
            default_assignee_id: None,
            due_offset_minutes: None,
            active: true,
            version: None,
        };
        Ok(self.desk().save_help_topic(actor, None, input).await?.id)
    }

    /// Saves the guild's settings: changes the link, or links the guild with the code.
    async fn save_settings(
        &self,
        actor: &Actor,
        linked: Option<&LinkedGuild>,
        code: Option<&str>,
        guild_id: u64,
        name: &str,
        settings: &GuildSettings,
    ) -> Result<LinkedGuild, Told> {
        let json = serde_json::to_value(settings).map_err(|e| DeskError::Internal(e.to_string()))?;
        let save = ChannelAccountSave {
            external_key: String::new(),
            name: name.chars().take(100).collect(),
            enabled: true,
            settings: json,
        };
        let account = match (linked, code) {
            (Some(g), _) => {
                let save = ChannelAccountSave { external_key: g.guild_id.clone(), name: g.name.clone(), ..save };
                self.desk().save_routed_channel_account(actor, Channel::Discord, Some(g.id), save).await?
            }
            (None, Some(code)) => {
                let save = ChannelAccountSave { external_key: guild_id.to_string(), ..save };
                self.desk().link_channel_account_with_code(Channel::Discord, code, save).await?
            }
            (None, None) => return Err(Told(LINK_FIRST.into())),
        };
        Ok(LinkedGuild::from_account(&account)?)
    }

    async fn run_setup(
        &self,
        guild_id: u64,
        code: Option<&str>,
        form: SetupForm,
        days: u32,
        display: &str,
    ) -> Result<String, Told> {
        let mut snapshot = self.checked_snapshot(guild_id).await?;
        let linked = self.guild(guild_id).await?;
        let actor = self.workspace_for(linked.as_ref(), code, display).await?;
        let role_ids = |names: &[String]| -> Vec<String> {
            names.iter().filter_map(|n| snapshot.role_named(n)).map(|id| id.to_string()).collect()
        };
        let mut settings = linked.as_ref().map(|g| g.settings.clone()).unwrap_or_default();
        settings.staff_role_ids = role_ids(&form.staff_roles);
        settings.management_role_ids = role_ids(&form.management_roles);
        settings.auto_learn = form.auto_learn;
        settings.transcript_retention_days = days;
        let mut types = Vec::new();
        for choice in &form.types {
            let help_topic_id = self.topic_for(&actor, &choice.label).await?;
            let kept = settings.ticket_type(&choice.key).cloned();
            types.push(TicketType {
                key: choice.key.clone(),
                help_topic_id,
                label: choice.label.clone(),
                enabled: true,
                ..kept.unwrap_or_else(|| {
                    TicketType::new(choice.key.clone(), help_topic_id, choice.label.clone(), String::new())
                })
            });
        }
        // Types left out of the form are switched off, not deleted: their tickets keep them.
        for old in settings.ticket_types.iter().filter(|t| !form.types.iter().any(|c| c.key == t.key)) {
            types.push(TicketType { enabled: false, ..old.clone() });
        }
        settings.ticket_types = types;
        let mut done = Vec::new();
        self.deploy(&mut snapshot, &mut settings, &form.panel_name, &mut done).await?;
        settings.validate()?;
        let name = snapshot.name.clone();
        let mut guild = self.save_settings(&actor, linked.as_ref(), code, guild_id, &name, &settings).await?;
        self.post_panel(&mut guild).await?;
        let s = &guild.settings;
        let mention = |c: &Option<String>| c.as_deref().map_or("none".to_string(), |c| format!("<#{c}>"));
        let mut text = format!(
            "Support channels are set up. Members open tickets in <#{}>; staff channels: {}, {}, {}.",
            s.panel_channel_id,
            mention(&s.transcripts_channel_id),
            mention(&s.staff_review_channel_id),
            mention(&s.learned_tips_channel_id)
        );
        if !done.is_empty() {
            text.push_str(&format!("\n{}", done.join("\n")));
        }
        if let Some(e) = &guild.state.panel_error {
            text.push_str(&format!("\n{e}"));
        }
        text.push_str("\nRun /switchboard view any time to check.");
        Ok(text)
    }

    /// Makes what the settings need and Discord lacks: a category per enabled ticket type, the
    /// panel channel, the staff channels; each found first by the id the settings hold, then by
    /// its usual name; staff channels and categories hidden from everyone but the staff and
    /// management roles (overwrites set only where they differ). Lines for what changed go to
    /// `done`; the settings get the ids.
    async fn deploy(
        &self,
        snapshot: &mut Snapshot,
        settings: &mut GuildSettings,
        panel_name: &str,
        done: &mut Vec<String>,
    ) -> Result<(), Told> {
        let staff: Vec<String> = settings.staff_role_ids.iter().chain(&settings.management_role_ids).cloned().collect();
        let hidden = self.staff_overwrites(snapshot.guild_id, &staff);
        let mut types = std::mem::take(&mut settings.ticket_types);
        for t in types.iter_mut().filter(|t| t.enabled) {
            let name = format!("{} Tickets", t.label);
            let id = self.ensure_channel(snapshot, &t.category_id, &[&name], CATEGORY, Some(&hidden), done).await?;
            t.category_id = id.to_string();
        }
        settings.ticket_types = types;
        let panel = self.ensure_channel(snapshot, &settings.panel_channel_id, &[panel_name], TEXT, None, done).await?;
        settings.panel_channel_id = panel.to_string();
        for (slot, names) in [
            (&mut settings.transcripts_channel_id, TRANSCRIPT_NAMES),
            (&mut settings.staff_review_channel_id, STAFF_REVIEW_NAMES),
            (&mut settings.learned_tips_channel_id, LEARNED_TIPS_NAMES),
        ] {
            let current = slot.clone().unwrap_or_default();
            let id = self.ensure_channel(snapshot, &current, &names[..1], TEXT, Some(&hidden), done).await?;
            *slot = Some(id.to_string());
        }
        Ok(())
    }

    /// Overwrites of a staff-only channel: hidden from `@everyone`, open to the staff and
    /// management roles and to the bot.
    fn staff_overwrites(&self, guild_id: u64, roles: &[String]) -> Vec<Value> {
        let mut list = vec![json!({ "id": guild_id.to_string(), "type": 0, "allow": "0",
            "deny": bits::VIEW_CHANNEL.to_string() })];
        for r in roles {
            list.push(json!({ "id": r, "type": 0, "allow": bits::PARTICIPANT.to_string(), "deny": "0" }));
        }
        let bot = self.bot_user_id();
        if bot != 0 {
            let allow = bits::PARTICIPANT | bits::MANAGE_CHANNELS;
            list.push(json!({ "id": bot.to_string(), "type": 1, "allow": allow.to_string(), "deny": "0" }));
        }
        list
    }

    /// The channel the settings name (`current`), else one of `names`, else a new one named
    /// `names[0]`; a staff-only one (`hidden`: its overwrites) gets them where they differ, and
    /// loses role overwrites that let roles no longer staff see it.
    async fn ensure_channel(
        &self,
        snapshot: &mut Snapshot,
        current: &str,
        names: &[&str],
        kind: u64,
        hidden: Option<&Vec<Value>>,
        done: &mut Vec<String>,
    ) -> Result<u64, Told> {
        let what = if kind == CATEGORY { format!("the category {}", names[0]) } else { format!("#{}", names[0]) };
        let found = match snapshot.channel(current, kind) {
            Some(c) => Some(c.clone()),
            None => {
                let adopted = snapshot.named(names, kind).cloned();
                if let Some(c) = &adopted {
                    let what =
                        if kind == CATEGORY { format!("the category {}", c.name) } else { format!("#{}", c.name) };
                    done.push(format!("• linked {what}"));
                }
                adopted
            }
        };
        let Some(channel) = found else {
            let overwrites = hidden.map_or(Value::Array(Vec::new()), |h| Value::Array(h.clone()));
            let id = self.create_channel(snapshot.guild_id, names[0], kind as u8, None, &overwrites).await?;
            snapshot.channels.push(GuildChannel {
                id,
                name: names[0].to_string(),
                kind,
                overwrites: overwrites.as_array().cloned().unwrap_or_default(),
            });
            done.push(format!("• created {what}"));
            return Ok(id);
        };
        if let Some(wanted) = hidden {
            let changed = self.ensure_overwrites(snapshot, &channel, wanted).await?;
            if changed {
                let what = if kind == CATEGORY {
                    format!("the category {}", channel.name)
                } else {
                    format!("<#{}>", channel.id)
                };
                done.push(format!("• updated who may see {what}"));
            }
        }
        Ok(channel.id)
    }

    /// Sets the overwrites of `wanted` that differ on the channel, and removes role overwrites
    /// that let a role outside `wanted` see it (a role no longer staff). Whether anything changed.
    async fn ensure_overwrites(
        &self,
        snapshot: &Snapshot,
        channel: &GuildChannel,
        wanted: &[Value],
    ) -> Result<bool, Told> {
        let mut changed = false;
        let channel_id = ChannelId::new(channel.id);
        for w in wanted {
            let target = id_of(&w["id"]);
            let same = channel.overwrites.iter().any(|o| {
                id_of(&o["id"]) == target
                    && bits_of(&o["allow"]) == bits_of(&w["allow"])
                    && bits_of(&o["deny"]) == bits_of(&w["deny"])
            });
            if same || target == 0 {
                continue;
            }
            let route = Route::ChannelPermission { channel_id, target_id: TargetId::new(target) };
            let body = json!({ "type": w["type"], "allow": w["allow"], "deny": w["deny"] });
            self.rest.send_json(route, LightMethod::Put, &body).await?;
            changed = true;
        }
        for o in &channel.overwrites {
            let target = id_of(&o["id"]);
            let role_seeing = o["type"].as_u64() == Some(0) && bits_of(&o["allow"]) & bits::VIEW_CHANNEL != 0;
            let wanted_here = wanted.iter().any(|w| id_of(&w["id"]) == target);
            if role_seeing && !wanted_here && target != snapshot.guild_id && target != 0 {
                let route = Route::ChannelPermission { channel_id, target_id: TargetId::new(target) };
                self.rest.send_json(route, LightMethod::Delete, &Value::Null).await?;
                changed = true;
            }
        }
        Ok(changed)
    }

    /// `/switchboard link`: adopts the channels with the usual names, creating none; says what
    /// it linked and what is still missing.
    async fn link_existing(
        &self,
        guild_id: u64,
        linked: Option<LinkedGuild>,
        code: Option<&str>,
        display: &str,
    ) -> Result<String, Told> {
        let snapshot = self.checked_snapshot(guild_id).await?;
        let actor = self.workspace_for(linked.as_ref(), code, display).await?;
        let mut settings = linked.as_ref().map(|g| g.settings.clone()).unwrap_or_default();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        match snapshot.channel(&settings.panel_channel_id, TEXT).or_else(|| snapshot.named(PANEL_NAMES, TEXT)) {
            Some(c) => {
                settings.panel_channel_id = c.id.to_string();
                found.push(format!("• <#{}> as the ticket panel channel", c.id));
            }
            None => {
                settings.panel_channel_id = String::new();
                missing.push("• a ticket panel channel (#support, #tickets or #start-support)".to_string());
            }
        }
        for (slot, names, what) in [
            (&mut settings.transcripts_channel_id, TRANSCRIPT_NAMES, "transcripts"),
            (&mut settings.staff_review_channel_id, STAFF_REVIEW_NAMES, "staff review"),
            (&mut settings.learned_tips_channel_id, LEARNED_TIPS_NAMES, "learned tips"),
        ] {
            let current = slot.clone().unwrap_or_default();
            match snapshot.channel(&current, TEXT).or_else(|| snapshot.named(names, TEXT)) {
                Some(c) => {
                    *slot = Some(c.id.to_string());
                    found.push(format!("• <#{}> for {what}", c.id));
                }
                None => {
                    *slot = None;
                    let usual: Vec<String> = names.iter().map(|n| format!("#{n}")).collect();
                    missing.push(format!("• a {what} channel ({})", usual.join(" or ")));
                }
            }
        }
        for c in snapshot.channels.iter().filter(|c| c.kind == CATEGORY) {
            let lower = c.name.to_lowercase();
            let key = ["billing", "technical", "sales"]
                .into_iter()
                .find(|k| lower.contains(k))
                .or_else(|| ["support", "customer", "ticket"].iter().any(|w| lower.contains(w)).then_some("customer"));
            let Some(key) = key else { continue };
            // A category another type uses already stays that type's.
            if settings.ticket_types.iter().any(|t| t.category_id == c.id.to_string()) {
                continue;
            }
            let kept = settings.ticket_type(key).is_some_and(|t| snapshot.channel(&t.category_id, CATEGORY).is_some());
            if kept {
                continue;
            }
            let label = PRESET_TYPES.iter().find(|(k, _)| *k == key).map_or("Support", |(_, l)| *l);
            let help_topic_id = self.topic_for(&actor, label).await?;
            match settings.ticket_types.iter_mut().find(|t| t.key == key) {
                Some(t) => t.category_id = c.id.to_string(),
                None => settings.ticket_types.push(TicketType::new(
                    key.to_string(),
                    help_topic_id,
                    label.to_string(),
                    c.id.to_string(),
                )),
            }
            found.push(format!("• the category {} for {label} tickets", c.name));
        }
        if settings.enabled_types().next().is_none() {
            missing.push("• ticket categories (e.g. \"Customer Support Tickets\")".to_string());
        }
        if settings.staff_role_ids.is_empty() {
            missing.push("• staff roles (name them with /switchboard setup, or in the web settings)".to_string());
        }
        settings.validate_draft()?;
        let mut guild = self.save_settings(&actor, linked.as_ref(), code, guild_id, &snapshot.name, &settings).await?;
        if !guild.settings.panel_channel_id.is_empty() && guild.settings.enabled_types().next().is_some() {
            self.post_panel(&mut guild).await?;
        }
        let mut text = String::new();
        if found.is_empty() {
            text.push_str("Found none of the usual channels.");
        } else {
            text.push_str(&format!("Linked:\n{}", found.join("\n")));
        }
        if !missing.is_empty() {
            text.push_str(&format!("\nStill missing:\n{}", missing.join("\n")));
        }
        let d = deployment(Some(&guild));
        text.push_str(&format!("\nStatus: {}. Next step: {}", d.status.label(), d.next_step));
        Ok(text)
    }

    /// `/switchboard autoconfig`: the settings saved in the web, applied to Discord.
    async fn autoconfig(&self, guild_id: u64, linked: Option<LinkedGuild>, display: &str) -> Result<String, Told> {
        let Some(mut guild) = linked else {
            return Err(Told(format!("This server is not linked to a helpdesk workspace yet. {LINK_FIRST}")));
        };
        if guild.settings.enabled_types().next().is_none() {
            return Err(Told(
                "Autoconfig needs at least one enabled ticket type: add one in the web settings (Admin, Discord) first. Nothing was changed.".into(),
            ));
        }
        let mut snapshot = self.checked_snapshot(guild_id).await?;
        let unknown: Vec<String> = guild
            .settings
            .staff_role_ids
            .iter()
            .chain(&guild.settings.management_role_ids)
            .filter(|r| !snapshot.roles.iter().any(|(id, _, _)| id.to_string() == **r))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(Told(format!(
                "The web settings name roles this server does not have ({}): choose existing roles there, then run /switchboard autoconfig again. Nothing was changed.",
                unknown.join(", ")
            )));
        }
        let before = guild.settings.clone();
        let mut settings = guild.settings.clone();
        let panel_name = snapshot
            .channel(&settings.panel_channel_id, TEXT)
            .map_or(DEFAULT_PANEL_NAME.to_string(), |c| c.name.clone());
        let mut done = Vec::new();
        self.deploy(&mut snapshot, &mut settings, &panel_name, &mut done).await?;
        self.rename_categories(&snapshot, &settings, &mut done).await?;
        if settings != before {
            let actor = self.setup_actor(guild.workspace_id, Some(guild.id), display);
            guild = self.save_settings(&actor, Some(&guild), None, guild_id, &snapshot.name, &settings).await?;
        }
        if self.post_panel(&mut guild).await? {
            done.push(format!("• updated the ticket panel in <#{}>", guild.settings.panel_channel_id));
        }
        let mut text = if done.is_empty() {
            "Nothing to change: Discord already matches the settings saved in the web.".to_string()
        } else {
            format!("Applied the web settings:\n{}", done.join("\n"))
        };
        if let Some(e) = &guild.state.panel_error {
            text.push_str(&format!("\n{e}"));
        }
        Ok(text)
    }

    /// A type's category keeps the `<label> Tickets` naming setup gave it: when the web renamed
    /// the type, the category follows (a category named otherwise by the server's admins stays).
    async fn rename_categories(
        &self,
        snapshot: &Snapshot,
        settings: &GuildSettings,
        done: &mut Vec<String>,
    ) -> Result<(), Told> {
        for t in settings.enabled_types() {
            let Some(c) = snapshot.channel(&t.category_id, CATEGORY) else { continue };
            let wanted = format!("{} Tickets", t.label);
            if c.name.ends_with(" Tickets") && c.name != wanted {
                let route = Route::Channel { channel_id: ChannelId::new(c.id) };
                self.rest.send_json(route, LightMethod::Patch, &json!({ "name": wanted })).await?;
                done.push(format!("• renamed the category {} to {wanted}", c.name));
            }
        }
        Ok(())
    }

    /// `/switchboard view`: the deployment as the web shows it.
    async fn view_text(&self, linked: Option<&LinkedGuild>) -> String {
        let d = deployment(linked);
        let Some(g) = linked else {
            return format!(
                "Status: {}. This server is not linked to a helpdesk workspace yet.\nNext step: {}",
                d.status.label(),
                d.next_step
            );
        };
        let s = &g.settings;
        let channel =
            |c: Option<&str>| c.filter(|c| !c.is_empty()).map_or("not linked".to_string(), |c| format!("<#{c}>"));
        let roles = |ids: &[String]| {
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.iter().map(|r| format!("<@&{r}>")).collect::<Vec<_>>().join(", ")
            }
        };
        let types: Vec<&str> = s.enabled_types().map(|t| t.label.as_str()).collect();
        let mut lines = vec![
            format!("Status: {}", d.status.label()),
            format!(
                "Ticket panel: {}{}",
                channel(Some(&s.panel_channel_id)),
                if g.state.panel_message_id.is_some() { " (panel posted)" } else { "" }
            ),
            format!("Transcripts: {}", channel(s.transcripts_channel_id.as_deref())),
            format!("Staff review: {}", channel(s.staff_review_channel_id.as_deref())),
            format!("Learned tips: {}", channel(s.learned_tips_channel_id.as_deref())),
            format!("Staff roles: {}", roles(&s.staff_role_ids)),
            format!("Management roles: {}", roles(&s.management_role_ids)),
            format!("Enabled ticket types: {}", if types.is_empty() { "none".to_string() } else { types.join(", ") }),
            format!(
                "Auto-learn: {} · Transcripts kept: {}",
                if s.auto_learn { "on" } else { "off" },
                if s.transcript_retention_days == 0 {
                    "forever".to_string()
                } else {
                    format!("{} days", s.transcript_retention_days)
                }
            ),
        ];
        if !d.missing.is_empty() {
            lines.push(format!("Missing: {}", d.missing.join(", ")));
        }
        lines.push(format!("Next step: {}", d.next_step));
        lines.push(match self.web_settings_url() {
            Some(url) => format!("Web settings: {url}"),
            None => "Web settings: Admin, Discord in the web helpdesk".to_string(),
        });
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_takes_the_seeds_types_and_custom_ones_and_names_each_fault() {
        let t = parse_ticket_types("customer, Technical ,custom: Partner Deals, customer").unwrap();
        let keys: Vec<&str> = t.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["customer", "technical", "partner-deals"]);
        assert_eq!(t[2].label, "Partner Deals");
        assert!(parse_ticket_types("refunds").unwrap_err().starts_with("Unknown ticket type \"refunds\""));
        assert!(parse_ticket_types(&format!("custom:{}", "x".repeat(81))).unwrap_err().contains("at most 80"));
        assert!(parse_ticket_types(" , ").is_err());
        assert_eq!(parse_channel_name("Start Support").unwrap(), "start-support");
        assert_eq!(parse_channel_name("").unwrap(), DEFAULT_PANEL_NAME);
        assert!(parse_channel_name(&"a".repeat(101)).unwrap_err().contains("at most 100"));
        assert!(parse_channel_name("help!").is_err());
        assert_eq!(parse_role_names("Staff", "Support, @Moderator,Support").unwrap(), ["Support", "Moderator"]);
        assert!(parse_role_names("Staff", &"r".repeat(101)).is_err());
        assert!(parse_yes_no("Auto-learn", "NO").is_ok_and(|v| !v));
        assert!(parse_yes_no("Auto-learn", "maybe").is_err());
    }

    #[test]
    fn each_missing_bot_permission_is_named_and_an_administrator_lacks_none() {
        assert!(missing_bot_permissions(u64::MAX).is_empty());
        assert!(missing_bot_permissions(bits::ADMINISTRATOR).is_empty());
        let all: u64 = BOT_NEEDS.iter().map(|(b, _)| b).fold(0, |a, b| a | b);
        assert_eq!(
            missing_bot_permissions(all & !bits::MANAGE_CHANNELS & !bits::MANAGE_ROLES),
            ["Manage Channels", "Manage Roles"]
        );
    }

    #[test]
    fn the_deployment_is_pending_partial_or_ready_with_its_next_step() {
        use crate::guilds::GuildState;
        assert_eq!(deployment(None).status, DeploymentStatus::Pending);
        assert_eq!(deployment(None).next_step, LINK_FIRST);
        let mut g = LinkedGuild {
            id: ChannelAccountId(1),
            workspace_id: switchboard_desk::domain::WorkspaceId(1),
            guild_id: "5".into(),
            name: "G".into(),
            enabled: true,
            settings: GuildSettings::default(),
            state: GuildState::default(),
        };
        assert_eq!(deployment(Some(&g)).status, DeploymentStatus::Pending, "linked, nothing there");
        g.settings.panel_channel_id = "6".into();
        g.settings.ticket_types.push(TicketType::new("customer".into(), HelpTopicId(0), String::new(), String::new()));
        let d = deployment(Some(&g));
        assert_eq!(d.status, DeploymentStatus::Partial);
        assert_eq!(
            d.missing,
            ["the ticket panel message", "#ticket-transcripts", "#staff-review", "#learned-tips", "a staff role"]
        );
        g.state.panel_message_id = Some("7".into());
        for slot in [
            &mut g.settings.transcripts_channel_id,
            &mut g.settings.staff_review_channel_id,
            &mut g.settings.learned_tips_channel_id,
        ] {
            *slot = Some("8".into());
        }
        assert!(deployment(Some(&g)).next_step.starts_with("Name your staff roles"));
        g.settings.staff_role_ids.push("9".into());
        let d = deployment(Some(&g));
        assert_eq!((d.status, d.missing.len()), (DeploymentStatus::Ready, 0));
        g.state.panel_error = Some("The panel could not be posted: Missing Permissions".into());
        assert!(
            deployment(Some(&g))
                .next_step
                .starts_with("The panel could not be posted: Missing Permissions. Give the bot")
        );
    }
}
