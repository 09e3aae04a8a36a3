//! The staff slash commands in a ticket channel: `/close reason note?`, `/claim`, `/unclaim`,
//! `/note content`. Who may run each is the seed's table, kept here as data ([`ACCESS`]): `/close`
//! needs Discord's Manage Channels (a staff role alone is not enough); the others take a staff
//! role or Manage Channels. The commands are registered as the application's global commands
//! when the gateway is ready; every refusal is an ephemeral message naming what is needed.
//!
//! The command acts as the staff member whose Discord account is linked to the member (staff
//! identities), else as the guild's channel adapter under the member's Discord name, acting in
//! this ticket's conversation only and holding just what the command needs; `/claim` needs the
//! link, since a ticket is claimed by a staff member of the helpdesk.

use serde_json::{Value, json};
use serenity::all::{CommandDataOptionValue, CommandInteraction, Permissions};
use serenity::http::{LightMethod, Route};
use switchboard_desk::DeskError;
use switchboard_desk::domain::{Actor, ActorKind, Channel, CloseReason, Permission, TicketId};

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
}

/// Every slash command with who may run it. A command registered without a row here is
/// refused to everyone (and a test fails).
pub const ACCESS: &[(&str, Access)] = &[
    ("close", Access::ManageChannelsOnly),
    ("claim", Access::StaffOrManageChannels),
    ("unclaim", Access::StaffOrManageChannels),
    ("note", Access::StaffOrManageChannels),
];

/// Longest `/close` note (the seed's 500 characters; the desk checks the same).
const CLOSE_NOTE_CHARS: u16 = 500;
/// Longest `/note` (Discord's text option holds 6000; an entry is readable well below).
const NOTE_CHARS: u16 = 4000;

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
    ])
}

/// Who may run `command`, from [`ACCESS`].
pub fn access_of(command: &str) -> Option<Access> {
    ACCESS.iter().find(|(name, _)| *name == command).map(|(_, a)| *a)
}

/// Whether a member with `roles` and channel `permissions` may run a command with `access` in
/// `guild`; else the refusal, naming what is needed.
pub fn allowed(
    command: &str,
    access: Option<Access>,
    guild: &LinkedGuild,
    roles: &[u64],
    permissions: Permissions,
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
            let staff: Vec<String> = guild.settings.staff_role_ids.iter().map(|r| format!("<@&{r}>")).collect();
            let role = if staff.is_empty() {
                "a staff role".to_string()
            } else {
                format!("a staff role ({})", staff.join(", "))
            };
            Err(format!("/{command} needs {role} or the Manage Channels permission."))
        }
    }
}

fn option<'a>(c: &'a CommandInteraction, name: &str) -> Option<&'a str> {
    c.data.options.iter().find(|o| o.name == name).and_then(|o| match &o.value {
        CommandDataOptionValue::String(s) => Some(s.as_str()),
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

    /// A slash command, run in a ticket channel of a linked guild.
    pub(crate) async fn on_command(&self, c: CommandInteraction) {
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let name = c.data.name.clone();
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
        if let Err(refusal) = allowed(&name, access_of(&name), &guild, &roles, permissions) {
            return self.tell(&to, &refusal).await;
        }
        let user = member.map_or(&c.user, |m| &m.user);
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
            _ => Err(format!("/{name} is not available.")),
        };
        match result {
            // Claims are news for everyone in the channel; a note stays between staff.
            Ok(text) if name == "claim" || name == "unclaim" => {
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
        if command == "unclaim" {
            actor = actor.also_may(Permission::Reassign);
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
