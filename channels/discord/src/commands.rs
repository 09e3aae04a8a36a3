//! The slash commands. In a ticket channel: `/close reason note?`, `/claim`, `/unclaim`,
//! `/note content`, `/macro shortcut` (with autocomplete of the shortcuts) and `/rename name`.
//! Anywhere in a linked guild, the chat skills for members: `/ticket new` (the panel's choice,
//! ephemeral), `/ticket status number` and `/ticket list` (their own tickets only). Who may run
//! each is the seed's table, kept here as data ([`ACCESS`]): `/close` needs Discord's Manage
//! Channels (a staff role alone is not enough); `/claim`, `/unclaim`, `/note`, `/macro` take a
//! staff role or Manage Channels; `/rename` the ticket's requester or a staff role (Manage
//! Channels alone is not enough). The commands are registered as the application's global
//! commands when the gateway is ready; every refusal is an ephemeral message naming what is
//! needed.
//!
//! The command acts as the staff member whose Discord account is linked to the member (staff
//! identities), else as the guild's channel adapter under the member's Discord name, acting in
//! this ticket's conversation only and holding just what the command needs; `/claim` needs the
//! link, since a ticket is claimed by a staff member of the helpdesk.

use serde_json::{Value, json};
use serenity::all::{CommandDataOption, CommandDataOptionValue, CommandInteraction, Permissions};
use serenity::http::{LightMethod, Route};
use switchboard_desk::DeskError;
use switchboard_desk::domain::{Actor, ActorKind, Channel, CloseReason, Permission, TicketId};
use switchboard_desk::store::records::IdentityKind;

use crate::DiscordChannel;
use crate::guilds::LinkedGuild;
use crate::opening::Reply;

/// Who may run a command, as the seed's permission table says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Discord's Manage Channels permission only; a configured staff role is not enough.
    ManageChannelsOnly,
    /// A configured staff (or management) role, or Manage Channels.
    StaffOrManageChannels,
    /// The ticket's requester or a configured staff (or management) role; Manage Channels alone
    /// is not enough.
    OwnerOrStaffRole,
    /// Any member: the chat skills, which only ever show a member their own tickets.
    Anyone,
    /// Discord's Manage Server permission, or a configured management role: setting support up.
    ManageServerOrManagement,
}

/// Every slash command with who may run it. A command registered without a row here is
/// refused to everyone (and a test fails).
pub const ACCESS: &[(&str, Access)] = &[
    ("close", Access::ManageChannelsOnly),
    ("claim", Access::StaffOrManageChannels),
    ("unclaim", Access::StaffOrManageChannels),
    ("note", Access::StaffOrManageChannels),
    ("macro", Access::StaffOrManageChannels),
    ("rename", Access::OwnerOrStaffRole),
    ("ticket", Access::Anyone),
    ("switchboard", Access::ManageServerOrManagement),
];

/// Longest `/close` note (the seed's 500 characters; the desk checks the same).
const CLOSE_NOTE_CHARS: u16 = 500;
/// Longest `/note` (Discord's text option holds 6000; an entry is readable well below).
const NOTE_CHARS: u16 = 4000;
/// Longest channel name Discord takes.
const CHANNEL_NAME_CHARS: u16 = 100;
/// Choices an autocomplete answer holds at most (Discord's limit).
const MAX_CHOICES: usize = 25;
/// Tickets `/ticket list` shows.
const LISTED_TICKETS: i64 = 5;

/// The commands as registered with Discord (`PUT /applications/{id}/commands`): guild-only
/// (`contexts: [0]`), shown to everyone; the bot checks who runs them.
pub fn definitions() -> Value {
    let reasons: Vec<Value> = [
        ("Resolved", "resolved"),
        ("Duplicate", "duplicate"),
        ("User unresponsive", "user_unresponsive"),
        ("Out of scope", "out_of_scope"),
        ("Spam", "spam"),
        ("Other", "other"),
    ]
    .iter()
    .map(|(name, value)| json!({ "name": name, "value": value }))
    .collect();
    json!([
        { "name": "close", "type": 1, "description": "Close this ticket: archive its transcript and delete the channel",
          "contexts": [0], "options": [
            { "type": 3, "name": "reason", "description": "Why the ticket is closed", "required": true, "choices": reasons },
            { "type": 3, "name": "note", "description": "A note for the record (at most 500 characters)", "required": false,
              "max_length": CLOSE_NOTE_CHARS },
          ] },
        { "name": "claim", "type": 1, "description": "Take this ticket: it is assigned to you", "contexts": [0] },
        { "name": "unclaim", "type": 1, "description": "Release this ticket back to the queue", "contexts": [0] },
        { "name": "note", "type": 1, "description": "Add an internal note (staff only; not in the transcript)",
          "contexts": [0], "options": [
            { "type": 3, "name": "content", "description": "The note", "required": true, "max_length": NOTE_CHARS },
          ] },
        { "name": "macro", "type": 1, "description": "Send a canned response in this ticket", "contexts": [0],
          "options": [
            { "type": 3, "name": "shortcut", "description": "The canned response's shortcut", "required": true,
              "autocomplete": true },
          ] },
        { "name": "rename", "type": 1, "description": "Rename this ticket channel", "contexts": [0], "options": [
            { "type": 3, "name": "name", "description": "The new name", "required": true,
              "max_length": CHANNEL_NAME_CHARS },
          ] },
        { "name": "ticket", "type": 1, "description": "Your support tickets", "contexts": [0], "options": [
            { "type": 1, "name": "new", "description": "Open a ticket" },
            { "type": 1, "name": "status", "description": "The status of one of your tickets", "options": [
                { "type": 3, "name": "number", "description": "The ticket's number, e.g. SD-00012", "required": true },
            ] },
            { "type": 1, "name": "list", "description": "Your five most recent tickets" },
          ] },
        crate::setup::definition(),
    ])
}

/// Who may run `command`, from [`ACCESS`].
pub fn access_of(command: &str) -> Option<Access> {
    ACCESS.iter().find(|(name, _)| *name == command).map(|(_, a)| *a)
}

/// Whether a member with `roles` and channel `permissions` (and who is the ticket's requester
/// or not, `owner`) may run a command with `access` in `guild`; else the refusal, naming what is
/// needed.
pub fn allowed(
    command: &str,
    access: Option<Access>,
    guild: &LinkedGuild,
    roles: &[u64],
    permissions: Permissions,
    owner: bool,
) -> Result<(), String> {
    // Discord computes an administrator's channel permissions as all of them.
    let manage_channels = permissions.manage_channels() || permissions.administrator();
    match access {
        None => Err(format!("/{command} is not available.")),
        Some(Access::ManageChannelsOnly) if manage_channels => Ok(()),
        Some(Access::ManageChannelsOnly) => {
            Err(format!("/{command} needs the Manage Channels permission; a staff role alone is not enough."))
        }
        Some(Access::StaffOrManageChannels) if manage_channels || guild.settings.is_staff(roles) => Ok(()),
        Some(Access::StaffOrManageChannels) => {
            Err(format!("/{command} needs {} or the Manage Channels permission.", staff_role(guild)))
        }
        Some(Access::OwnerOrStaffRole) if owner || guild.settings.is_staff(roles) => Ok(()),
        Some(Access::OwnerOrStaffRole) => Err(format!(
            "/{command} needs you to be the ticket's owner or to have {}; the Manage Channels permission alone is not enough.",
            staff_role(guild)
        )),
        Some(Access::Anyone) => Ok(()),
        Some(Access::ManageServerOrManagement) => crate::setup::may_configure(Some(guild), roles, permissions),
    }
}

fn staff_role(guild: &LinkedGuild) -> String {
    let staff: Vec<String> = guild.settings.staff_role_ids.iter().map(|r| format!("<@&{r}>")).collect();
    if staff.is_empty() { "a staff role".to_string() } else { format!("a staff role ({})", staff.join(", ")) }
}

fn option<'a>(c: &'a CommandInteraction, name: &str) -> Option<&'a str> {
    string_option(&c.data.options, name)
}

fn string_option<'a>(options: &'a [CommandDataOption], name: &str) -> Option<&'a str> {
    options.iter().find(|o| o.name == name).and_then(|o| match &o.value {
        CommandDataOptionValue::String(s) => Some(s.as_str()),
        CommandDataOptionValue::Autocomplete { value, .. } => Some(value.as_str()),
        _ => None,
    })
}

impl DiscordChannel {
    /// Registers the slash commands for the application (a bulk overwrite: the same list twice
    /// changes nothing).
    pub(crate) async fn register_commands(&self) {
        let Some(application_id) = self.application_id() else { return };
        let route = Route::Commands { application_id };
        if let Err(e) = self.rest.send_json(route, LightMethod::Put, &definitions()).await {
            tracing::warn!(error = %e, "registering the Discord slash commands failed");
        }
    }

    /// A slash command: `/ticket` anywhere in a linked guild, the others in a ticket channel.
    pub(crate) async fn on_command(&self, c: CommandInteraction) {
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let name = c.data.name.clone();
        if name == "ticket" {
            return self.on_ticket_command(&c, &to).await;
        }
        if name == "switchboard" {
            return self.on_switchboard_command(&c, &to).await;
        }
        let found = match self.ticket_in_linked_guild(c.guild_id.map(|g| g.get()), c.channel_id.get()).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, command = %name, "a Discord command failed");
                return self.tell(&to, "Something went wrong on our side; please try again in a moment.").await;
            }
        };
        let Some((guild, ticket)) = found else {
            return self.tell(&to, &format!("/{name} works in a ticket channel.")).await;
        };
        let member = c.member.as_deref();
        let roles: Vec<u64> = member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default();
        let permissions = member.and_then(|m| m.permissions).unwrap_or_else(Permissions::empty);
        let user = member.map_or(&c.user, |m| &m.user);
        let access = access_of(&name);
        let owner = match access {
            Some(Access::OwnerOrStaffRole) => match self.is_requester(&guild, ticket, user.id.get()).await {
                Ok(owner) => owner,
                Err(e) => {
                    tracing::error!(error = %e, command = %name, "a Discord command failed");
                    return self.tell(&to, "Something went wrong on our side; please try again in a moment.").await;
                }
            },
            _ => false,
        };
        if let Err(refusal) = allowed(&name, access, &guild, &roles, permissions, owner) {
            return self.tell(&to, &refusal).await;
        }
        let display = user.global_name.clone().unwrap_or_else(|| user.name.clone());
        let actor = match self.staff_actor(&guild, ticket, &name, user.id.get(), &display).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, command = %name, "a Discord command failed");
                return self.tell(&to, "Something went wrong on our side; please try again in a moment.").await;
            }
        };
        let linked = matches!(actor.kind, ActorKind::User { .. });
        let result = match name.as_str() {
            "close" => {
                let reason = option(&c, "reason").and_then(|r| CloseReason::parse(r, "reason").ok());
                let Some(reason) = reason else {
                    return self
                        .tell(
                            &to,
                            "Choose a reason: resolved, duplicate, user unresponsive, out of scope, spam or other.",
                        )
                        .await;
                };
                let note = option(&c, "note").map(str::trim).filter(|n| !n.is_empty());
                if note.is_some_and(|n| n.chars().count() > CLOSE_NOTE_CHARS.into()) {
                    return self.tell(&to, "The note may be at most 500 characters.").await;
                }
                // Answered first: closing archives the transcript and deletes this channel.
                self.respond(&to, json!({ "type": 5, "data": { "flags": 64 } })).await;
                let text = match self.desk().close(&actor, ticket, reason, note).await {
                    Ok(_) => format!(
                        "Closed ({}). The transcript is archived and this channel will be deleted.",
                        reason.as_str().replace('_', " ")
                    ),
                    Err(e) => refusal_of(&name, &e),
                };
                return self.follow_up(&to, &text).await;
            }
            "claim" if !linked => Err(format!(
                "/claim assigns the ticket to your helpdesk account: ask an admin to link your Discord account ({}) to it first.",
                user.id
            )),
            "claim" => self
                .desk()
                .claim(&actor, ticket)
                .await
                .map(|_| format!("<@{}> claimed this ticket.", user.id))
                .map_err(|e| refusal_of(&name, &e)),
            "unclaim" => self
                .desk()
                .unclaim(&actor, ticket)
                .await
                .map(|_| format!("<@{}> released this ticket.", user.id))
                .map_err(|e| refusal_of(&name, &e)),
            "note" => {
                let content = option(&c, "content").map(str::trim).unwrap_or_default();
                if content.is_empty() {
                    return self.tell(&to, "Write the note's text.").await;
                }
                let content: String = content.chars().take(NOTE_CHARS.into()).collect();
                match self.note(&actor, (!linked).then_some(display.as_str()), ticket, &content).await {
                    Ok(()) => {
                        Ok("Internal note added. Only staff see it in the helpdesk; it is not in the transcript."
                            .to_string())
                    }
                    Err(e) => Err(refusal_of(&name, &e)),
                }
            }
            "macro" => {
                let shortcut = option(&c, "shortcut").unwrap_or_default();
                match self.desk().render_canned_shortcut(&actor, shortcut, ticket).await {
                    Ok(text) => match self.desk().reply(&actor, ticket, &text, Vec::new(), None).await {
                        Ok(_) => Ok(format!("Sent the canned response {:?}.", shortcut.trim().trim_start_matches('/'))),
                        Err(e) => Err(refusal_of(&name, &e)),
                    },
                    Err(e) => Err(refusal_of(&name, &e)),
                }
            }
            "rename" => {
                let wanted = option(&c, "name").map(str::trim).unwrap_or_default();
                let new_name: String =
                    crate::opening::channel_name(wanted).chars().take(CHANNEL_NAME_CHARS.into()).collect();
                let route = Route::Channel { channel_id: c.channel_id };
                match self.rest.send_json(route, LightMethod::Patch, &json!({ "name": new_name })).await {
                    Ok(_) => Ok(format!("<@{}> renamed this channel to #{new_name}.", user.id)),
                    Err(e) => {
                        tracing::warn!(channel = %c.channel_id, error = %e, "renaming a Discord ticket channel failed");
                        Err(format!("Discord did not rename the channel ({e})."))
                    }
                }
            }
            _ => Err(format!("/{name} is not available.")),
        };
        match result {
            // Claims and renames are news for everyone in the channel; a note stays between staff.
            Ok(text) if name == "claim" || name == "unclaim" || name == "rename" => {
                let body = json!({ "type": 4, "data": { "content": text, "allowed_mentions": { "parse": [] } } });
                self.respond(&to, body).await;
            }
            Ok(text) | Err(text) => self.tell(&to, &text).await,
        }
    }

    /// Adds the internal note; one by a member with no linked staff account keeps their Discord
    /// name as its author, as their messages in the channel do.
    async fn note(
        &self,
        actor: &Actor,
        unlinked_name: Option<&str>,
        ticket: TicketId,
        content: &str,
    ) -> Result<(), DeskError> {
        let entry = self.desk().add_note(actor, ticket, content).await?;
        if let Some(name) = unlinked_name {
            let mut tx = self.desk().store().write().await?;
            tx.set_entry_author_label(actor.workspace_id, entry.entry.id, name).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Whether the Discord user is the ticket's requester.
    async fn is_requester(&self, guild: &LinkedGuild, ticket: TicketId, user_id: u64) -> Result<bool, DeskError> {
        let Some(contact) = self.member_contact(guild, user_id).await? else { return Ok(false) };
        let actor = self.desk().channel_actor_for_ticket(&guild.adapter(), ticket).await?;
        Ok(actor.requester_scope() == Some(contact.id))
    }

    /// The contact a Discord member is, if they have written to the helpdesk before.
    async fn member_contact(
        &self,
        guild: &LinkedGuild,
        user_id: u64,
    ) -> Result<Option<switchboard_desk::store::records::ContactRecord>, DeskError> {
        let kind = IdentityKind::Channel(Channel::Discord);
        self.desk().contact_by_channel_identity(&guild.adapter(), kind, &user_id.to_string()).await
    }

    /// `/ticket new|status|list`, answered only to the member: a linked guild's panel choice, or
    /// their own tickets. Someone else's ticket and a missing one get the same "not found".
    async fn on_ticket_command(&self, c: &CommandInteraction, to: &Reply<'_>) {
        let Some(sub) = c.data.options.first() else { return self.tell(to, "Use /ticket new, status or list.").await };
        let guild = match c.guild_id {
            Some(g) => self.guild(g.get()).await,
            None => Ok(None),
        };
        let guild = match guild {
            Ok(Some(g)) => g,
            Ok(None) => return self.tell(to, "Tickets cannot be opened in this server at the moment.").await,
            Err(e) => {
                tracing::error!(error = %e, "a Discord /ticket command failed");
                return self.tell(to, "Something went wrong on our side; please try again in a moment.").await;
            }
        };
        let text = match self.ticket_skill(c, &guild, sub).await {
            Ok(Some(text)) => text,
            // Answered already (the panel's choice).
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "a Discord /ticket command failed");
                "Something went wrong on our side; please try again in a moment.".to_string()
            }
        };
        self.tell(to, &text).await;
    }

    async fn ticket_skill(
        &self,
        c: &CommandInteraction,
        guild: &LinkedGuild,
        sub: &CommandDataOption,
    ) -> Result<Option<String>, DeskError> {
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let user = c.member.as_deref().map_or(&c.user, |m| &m.user);
        let options: &[CommandDataOption] = match &sub.value {
            CommandDataOptionValue::SubCommand(o) => o,
            _ => &[],
        };
        if sub.name == "new" {
            // The panel's choice, for this member only: its buttons open tickets as the panel's do.
            let panel = crate::guilds::panel_message(&guild.settings);
            let body = json!({ "type": 4, "data": { "content": "What do you need help with?", "flags": 64,
                "components": panel["components"], "allowed_mentions": { "parse": [] } } });
            self.respond(&to, body).await;
            return Ok(None);
        }
        // The member's own tickets only: the adapter acts for them as the requester.
        let contact = self.member_contact(guild, user.id.get()).await?;
        let mine =
            |contact: &switchboard_desk::store::records::ContactRecord| guild.adapter().for_requester(contact.id);
        let line = |t: &switchboard_desk::store::TicketRecord| {
            format!("{} · {} · {}", t.display_number(), t.subject, t.status)
        };
        Ok(Some(match sub.name.as_str() {
            "status" => {
                let number = string_option(options, "number").unwrap_or_default().trim().to_uppercase();
                let found = match &contact {
                    Some(contact) => {
                        self.desk().requester_ticket_by_number(&mine(contact), contact.id, &number).await?
                    }
                    None => None,
                };
                match found {
                    Some(t) => format!("Ticket {}", line(&t)),
                    None => format!("No ticket {number} was found for you."),
                }
            }
            "list" => {
                let tickets = match &contact {
                    Some(contact) => self.desk().requester_tickets(&mine(contact), contact.id, LISTED_TICKETS).await?,
                    None => Vec::new(),
                };
                if tickets.is_empty() {
                    "You have no tickets yet. Use /ticket new to open one.".to_string()
                } else {
                    let lines: Vec<String> = tickets.iter().map(line).collect();
                    format!("Your recent tickets:\n{}", lines.join("\n"))
                }
            }
            _ => "Use /ticket new, status or list.".to_string(),
        }))
    }

    /// Autocomplete of `/macro`'s shortcut: the workspace's canned responses with a shortcut that
    /// the ticket's help topic may use, matching what was typed; nothing for non-staff.
    pub(crate) async fn on_autocomplete(&self, c: CommandInteraction) {
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let choices = self.macro_choices(&c).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "Discord /macro autocomplete failed");
            Vec::new()
        });
        self.respond(&to, json!({ "type": 8, "data": { "choices": choices } })).await;
    }

    async fn macro_choices(&self, c: &CommandInteraction) -> Result<Vec<Value>, DeskError> {
        if c.data.name != "macro" {
            return Ok(Vec::new());
        }
        let Some((guild, ticket)) =
            self.ticket_in_linked_guild(c.guild_id.map(|g| g.get()), c.channel_id.get()).await?
        else {
            return Ok(Vec::new());
        };
        let member = c.member.as_deref();
        let roles: Vec<u64> = member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default();
        let permissions = member.and_then(|m| m.permissions).unwrap_or_else(Permissions::empty);
        if allowed("macro", access_of("macro"), &guild, &roles, permissions, false).is_err() {
            return Ok(Vec::new());
        }
        let typed = option(c, "shortcut").unwrap_or_default().trim().trim_start_matches('/').to_lowercase();
        let user = member.map_or(&c.user, |m| &m.user);
        let actor = self.staff_actor(&guild, ticket, "macro", user.id.get(), &user.name).await?;
        let topic = self.desk().ticket(&actor, ticket).await?.help_topic_id;
        Ok(self
            .desk()
            .canned_responses(&actor)
            .await?
            .into_iter()
            .filter(|r| r.help_topic_id.is_none() || r.help_topic_id == topic)
            .filter_map(|r| {
                let shortcut = r.shortcut.clone()?;
                let hit = shortcut.to_lowercase().contains(&typed) || r.title.to_lowercase().contains(&typed);
                hit.then(|| {
                    let name: String = format!("{} ({shortcut})", r.title).chars().take(100).collect();
                    json!({ "name": name, "value": shortcut })
                })
            })
            .take(MAX_CHOICES)
            .collect())
    }

    /// The actor a member's command runs as: the active staff member linked to their Discord
    /// account, else the guild's adapter acting in this ticket's conversation under the member's
    /// Discord name, with what `command` needs: Manage (every command), and Reassign for
    /// `/unclaim`, which may release another staff member's claim.
    async fn staff_actor(
        &self,
        guild: &LinkedGuild,
        ticket: TicketId,
        command: &str,
        user_id: u64,
        display: &str,
    ) -> Result<Actor, DeskError> {
        let adapter = guild.adapter();
        let linked = self.desk().staff_by_channel_identity(&adapter, Channel::Discord, &user_id.to_string()).await?;
        if let Some(user) = linked {
            return Ok(Actor {
                workspace_id: guild.workspace_id,
                kind: ActorKind::User { id: user.id, role: user.role },
                label: user.name,
            });
        }
        let mut actor = self.desk().channel_actor_for_ticket(&adapter, ticket).await?;
        match command {
            "unclaim" => actor = actor.also_may(Permission::Reassign),
            "macro" => actor = actor.also_may(Permission::View),
            _ => {}
        }
        Ok(Actor { label: format!("{display} (discord)"), ..actor })
    }
}

/// What the member reads when the desk refuses a command.
fn refusal_of(command: &str, e: &DeskError) -> String {
    match e {
        DeskError::Conflict(m) => format!("/{command}: {m}."),
        DeskError::Validation(v) => format!("/{command}: {}.", v.message),
        DeskError::Forbidden(m) => format!("/{command}: {m}."),
        other => {
            tracing::error!(error = %other, command, "a Discord command failed");
            "Something went wrong on our side; please try again in a moment.".to_string()
        }
    }
}
