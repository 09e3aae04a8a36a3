//! Opening a ticket from the panel: a click (or a choice in the select menu), the intake form
//! when the type has one, then a private channel under the type's category and the ticket.
//!
//! Discord wants an answer to an interaction within 3 seconds: the checks (role restriction,
//! open-ticket limit) are quick reads, answered at once; the intake form is the answer itself;
//! otherwise the bot answers "thinking…" (a deferred, ephemeral answer) and edits it when the
//! channel is made. Only the requester sees those answers. A full category overflows into a new
//! one of the same type; at the guild's 500-channel cap the requester is told so and nothing the
//! attempt made is left behind (an overflow category made for it is deleted again, and the ticket
//! is opened only once its channel exists).

use serde_json::{Value, json};
use serenity::all::{
    ActionRowComponent, ApplicationId, ChannelId, ComponentInteraction, ComponentInteractionDataKind, GuildId,
    InteractionId, ModalInteraction, User,
};
use serenity::http::{LightMethod, Route};
use switchboard_desk::domain::{Actor, Channel};
use switchboard_desk::store::records::IdentityKind;
use switchboard_desk::{DeskError, OpenChannelTicket};

use crate::guilds::LinkedGuild;
use crate::settings::TicketType;
use crate::{DiscordChannel, RestError};

/// Discord's permission bits the ticket channel's overwrites use.
mod permission {
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    /// What a participant (requester, staff) may do in a ticket channel.
    pub const PARTICIPANT: u64 = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY;
}

/// The custom id of the "Request human" button on a ticket's opening message.
pub(crate) const REQUEST_HUMAN: &str = "sb:human";

/// Discord's code for a guild at its 500-channel cap.
const MAX_GUILD_CHANNELS: i64 = 30013;
/// The field error Discord gives when a category holds 50 channels.
const CATEGORY_FULL: &str = "CHANNEL_PARENT_MAX_CHANNELS";
/// Longest subject and description the intake form takes (Discord's text inputs allow 4000).
const INTAKE_SUBJECT_CHARS: u16 = 100;
const INTAKE_DESCRIPTION_CHARS: u16 = 4000;

/// Who clicked, as the interaction says.
struct Requester {
    user: User,
    roles: Vec<u64>,
}

/// What the intake form asked and got.
#[derive(Debug, Clone, Default)]
struct Answers {
    subject: Option<String>,
    description: Option<String>,
}

/// Why a ticket was not opened, as the requester reads it.
struct Refusal(String);

impl From<DeskError> for Refusal {
    fn from(e: DeskError) -> Self {
        tracing::error!(error = %e, "opening a Discord ticket failed");
        Refusal("Something went wrong on our side; no ticket was opened. Please try again in a moment.".into())
    }
}

/// One interaction to answer.
pub(crate) struct Reply<'a> {
    pub(crate) id: InteractionId,
    pub(crate) token: &'a str,
    pub(crate) application_id: ApplicationId,
}

impl DiscordChannel {
    pub(crate) async fn respond(&self, to: &Reply<'_>, body: Value) {
        let route = Route::InteractionResponse { interaction_id: to.id, token: to.token };
        if let Err(e) = self.rest.send_json(route, LightMethod::Post, &body).await {
            tracing::warn!(interaction = %to.id, error = %e, "answering a Discord interaction failed");
        }
    }

    /// An ephemeral answer only the member who clicked sees.
    pub(crate) async fn tell(&self, to: &Reply<'_>, text: &str) {
        let body = json!({ "type": 4, "data": { "content": text, "flags": 64, "allowed_mentions": { "parse": [] } } });
        self.respond(to, body).await;
    }

    /// Replaces the deferred answer's "thinking…" with `text`.
    pub(crate) async fn follow_up(&self, to: &Reply<'_>, text: &str) {
        let route = Route::WebhookOriginalInteractionResponse { application_id: to.application_id, token: to.token };
        let body = json!({ "content": text, "allowed_mentions": { "parse": [] } });
        if let Err(e) = self.rest.send_json(route, LightMethod::Patch, &body).await {
            tracing::warn!(interaction = %to.id, error = %e, "editing a Discord interaction's answer failed");
        }
    }

    /// A button or select menu: `sb:open:<type>` on the panel, or `sb:open` with the type chosen.
    pub(crate) async fn on_component(&self, c: ComponentInteraction) {
        if let Some(rest) = c.data.custom_id.strip_prefix("sb:rate:") {
            return self.on_rating(&c, rest).await;
        }
        if c.data.custom_id == REQUEST_HUMAN {
            return self.on_request_human(&c).await;
        }
        if let Some(days) = c.data.custom_id.strip_prefix("sb:setup:keep:") {
            let days = days.to_string();
            return self.on_setup_retention(&c, &days).await;
        }
        let key = match (&c.data.kind, c.data.custom_id.as_str()) {
            (ComponentInteractionDataKind::Button, id) => match id.strip_prefix("sb:open:") {
                Some(k) => k.to_string(),
                None => return,
            },
            (ComponentInteractionDataKind::StringSelect { values }, "sb:open") => match values.first() {
                Some(k) => k.clone(),
                None => return,
            },
            _ => return,
        };
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let Some(guild_id) = c.guild_id else { return };
        let requester = Requester {
            roles: c.member.as_ref().map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            user: c.member.as_ref().map_or_else(|| c.user.clone(), |m| m.user.clone()),
        };
        let (guild, ttype) = match self.ticket_type_for(guild_id, &key).await {
            Ok(found) => found,
            Err(Refusal(text)) => return self.tell(&to, &text).await,
        };
        if let Err(Refusal(text)) = self.may_open(&guild, &ttype, &requester).await {
            return self.tell(&to, &text).await;
        }
        if ttype.has_intake() {
            return self.respond(&to, intake_form(&ttype)).await;
        }
        // Deferred: creating the channel may take longer than Discord's 3 seconds.
        self.respond(&to, json!({ "type": 5, "data": { "flags": 64 } })).await;
        let text = self.open(&guild, &ttype, &requester, c.id, Answers::default()).await;
        self.follow_up(&to, &text).await;
    }

    /// The intake form sent back: `sb:intake:<type>`.
    pub(crate) async fn on_modal(&self, m: ModalInteraction) {
        if m.data.custom_id == "sb:setup" {
            return self.on_setup_form(&m).await;
        }
        let Some(key) = m.data.custom_id.strip_prefix("sb:intake:").map(str::to_string) else { return };
        let to = Reply { id: m.id, token: &m.token, application_id: m.application_id };
        let Some(guild_id) = m.guild_id else { return };
        let requester = Requester {
            roles: m.member.as_ref().map(|x| x.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            user: m.member.as_ref().map_or_else(|| m.user.clone(), |x| x.user.clone()),
        };
        let mut answers = Answers::default();
        for c in m.data.components.iter().flat_map(|row| &row.components) {
            if let ActionRowComponent::InputText(input) = c {
                let value = input.value.clone().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
                match input.custom_id.as_str() {
                    "subject" => answers.subject = value.map(|v| v.chars().take(INTAKE_SUBJECT_CHARS.into()).collect()),
                    "description" => {
                        answers.description = value.map(|v| v.chars().take(INTAKE_DESCRIPTION_CHARS.into()).collect())
                    }
                    _ => {}
                }
            }
        }
        self.respond(&to, json!({ "type": 5, "data": { "flags": 64 } })).await;
        let text = match self.ticket_type_for(guild_id, &key).await {
            Err(Refusal(text)) => text,
            // Checked again: the member may have opened another ticket while the form was open.
            Ok((guild, ttype)) => match self.may_open(&guild, &ttype, &requester).await {
                Err(Refusal(text)) => text,
                Ok(()) => self.open(&guild, &ttype, &requester, m.id, answers).await,
            },
        };
        self.follow_up(&to, &text).await;
    }

    async fn ticket_type_for(&self, guild_id: GuildId, key: &str) -> Result<(LinkedGuild, TicketType), Refusal> {
        let Some(guild) = self.guild(guild_id.get()).await? else {
            tracing::info!(guild = %guild_id, "a panel click in a Discord guild no workspace linked; ignored");
            return Err(Refusal("Tickets cannot be opened in this server at the moment.".into()));
        };
        match guild.settings.ticket_type(key).filter(|t| t.enabled).cloned() {
            Some(t) => Ok((guild, t)),
            None => Err(Refusal("This ticket type is not offered any more.".into())),
        }
    }

    /// The type's role restriction and open-ticket limit.
    async fn may_open(&self, guild: &LinkedGuild, t: &TicketType, who: &Requester) -> Result<(), Refusal> {
        let allowed: Vec<u64> = t.role_ids.iter().filter_map(|r| r.parse().ok()).collect();
        if !allowed.is_empty() && !allowed.iter().any(|r| who.roles.contains(r)) {
            let roles: Vec<String> = allowed.iter().map(|r| format!("<@&{r}>")).collect();
            return Err(Refusal(format!(
                "{} tickets are for members with the {} role. Ask the server's staff if you need one.",
                t.label,
                roles.join(" or ")
            )));
        }
        if t.open_limit == 0 {
            return Ok(());
        }
        let adapter = guild.adapter();
        let id = who.user.id.to_string();
        let identity = IdentityKind::Channel(Channel::Discord);
        let Some(contact) = self.desk.contact_by_channel_identity(&adapter, identity, &id).await? else {
            return Ok(());
        };
        // Counting the member's open tickets reads theirs and no one else's.
        let actor = adapter.for_requester(contact.id);
        let mut open = Vec::new();
        for ticket in self.desk.open_tickets_of_requester(&actor, contact.id, Channel::Discord, None).await? {
            if self.is_of_type(&actor, &ticket, t).await? {
                open.push(ticket);
            }
        }
        if open.len() >= t.open_limit as usize {
            let channels: Vec<String> =
                open.iter().filter_map(|t| t.thread_key.as_deref()).take(3).map(|c| format!("<#{c}>")).collect();
            let what = if t.open_limit == 1 {
                format!("You already have an open {} ticket", t.label)
            } else {
                format!("You already have {} open {} tickets, the most allowed", open.len(), t.label)
            };
            return Err(Refusal(format!("{what}: {}. Carry on there, or close it first.", channels.join(", "))));
        }
        Ok(())
    }

    /// Whether a Discord ticket was opened as ticket type `t`. The limit is per ticket type, and
    /// two types may share a help topic: the opening entry records the type's key. A ticket with
    /// no key recorded counts by its help topic.
    async fn is_of_type(
        &self,
        actor: &Actor,
        ticket: &switchboard_desk::store::TicketRecord,
        t: &TicketType,
    ) -> Result<bool, DeskError> {
        let thread = self.desk.thread(actor, ticket.id).await?;
        let meta = match thread.first() {
            Some(first) => self.desk.entry_channel_meta(actor, first.entry.id).await?,
            None => None,
        };
        Ok(match meta.as_ref().and_then(|m| m["ticket_type"].as_str()) {
            Some(key) => key == t.key,
            None => ticket.help_topic_id == Some(t.help_topic_id),
        })
    }

    /// Makes the channel, opens the ticket, greets the requester; returns what to tell them.
    async fn open(
        &self,
        guild: &LinkedGuild,
        t: &TicketType,
        who: &Requester,
        interaction: InteractionId,
        answers: Answers,
    ) -> String {
        match self.open_inner(guild, t, who, interaction, answers).await {
            Ok(channel) => format!("Your ticket is open: <#{channel}>"),
            Err(Refusal(text)) => text,
        }
    }

    async fn open_inner(
        &self,
        guild: &LinkedGuild,
        t: &TicketType,
        who: &Requester,
        interaction: InteractionId,
        answers: Answers,
    ) -> Result<u64, Refusal> {
        let guild_id: u64 = guild.guild_id.parse().map_err(|_| Refusal("This server's link is broken.".into()))?;
        let user = &who.user;
        let name = if guild.settings.sequential_names { "ticket".to_string() } else { channel_name(&user.name) };
        let overwrites = self.overwrites(guild_id, guild, user.id.get());
        let channel = self.create_in_category(guild, guild_id, t, &name, &overwrites).await?;

        let display = user.global_name.clone().unwrap_or_else(|| user.name.clone());
        let subject = answers.subject.clone().unwrap_or_else(|| format!("{} ticket from {display}", t.label));
        let mut description =
            answers.description.clone().unwrap_or_else(|| format!("Opened from the {} button.", t.label));
        if answers.subject.is_some() && answers.description.is_none() {
            description = subject.clone();
        }
        let mut intake = serde_json::Map::new();
        if let Some(s) = &answers.subject {
            intake.insert("subject".into(), json!(s));
        }
        if let Some(d) = &answers.description {
            intake.insert("description".into(), json!(d));
        }
        let open = OpenChannelTicket {
            channel: Channel::Discord,
            account_id: Some(guild.id),
            thread_key: channel.to_string(),
            external_message_id: format!("interaction-{interaction}"),
            sender_kind: IdentityKind::Channel(Channel::Discord),
            sender_value: user.id.to_string(),
            sender_name: Some(display.clone()),
            subject,
            description,
            help_topic_id: Some(t.help_topic_id),
            entry_meta: Some(json!({ "ticket_type": t.key, "intake": intake })),
            attachments: Vec::new(),
        };
        // The guild's adapter opens it for the member: it may open tickets, not administer.
        let ticket = match self.desk.open_channel_ticket(&guild.adapter(), open).await {
            Ok(ticket) => ticket,
            Err(e) => {
                // Nothing half-made: the channel goes again.
                self.delete_channel(channel).await;
                return Err(e.into());
            }
        };
        let channel_id = ChannelId::new(channel);
        if guild.settings.sequential_names {
            let body = json!({ "name": format!("ticket-{}", ticket.number) });
            if let Err(e) = self.rest.send_json(Route::Channel { channel_id }, LightMethod::Patch, &body).await {
                tracing::warn!(channel, error = %e, "naming a Discord ticket channel failed");
            }
        }
        let mut fields = Vec::new();
        if let Some(s) = &answers.subject {
            fields.push(json!({ "name": "Subject", "value": s }));
        }
        if let Some(d) = &answers.description {
            fields.push(json!({ "name": "Description", "value": d.chars().take(1024).collect::<String>() }));
        }
        let welcome = json!({
            "content": format!("<@{}> thanks for reaching out. Our team will answer here.", user.id),
            "embeds": [{ "title": format!("{} ticket {}-{}", t.label, ticket.ticket_prefix, ticket.number),
                "color": 0x5865F2, "fields": fields }],
            "allowed_mentions": { "users": [user.id.to_string()] },
            "components": [{ "type": 1, "components": [
                { "type": 2, "style": 2, "label": "Request human", "custom_id": REQUEST_HUMAN } ] }],
        });
        if let Err(e) = self.rest.send_json(Route::ChannelMessages { channel_id }, LightMethod::Post, &welcome).await {
            tracing::warn!(channel, error = %e, "greeting in a new Discord ticket channel failed");
        }
        Ok(channel)
    }

    /// The channel's permission overwrites: hidden from everyone, open to the requester, the staff
    /// and management roles and the bot.
    fn overwrites(&self, guild_id: u64, guild: &LinkedGuild, user: u64) -> Value {
        let mut list = vec![
            // The @everyone role has the guild's id.
            json!({ "id": guild_id.to_string(), "type": 0, "allow": "0", "deny": permission::VIEW_CHANNEL.to_string() }),
            json!({ "id": user.to_string(), "type": 1, "allow": permission::PARTICIPANT.to_string(), "deny": "0" }),
        ];
        for role in guild.settings.staff_role_ids.iter().chain(&guild.settings.management_role_ids) {
            list.push(json!({ "id": role, "type": 0, "allow": permission::PARTICIPANT.to_string(), "deny": "0" }));
        }
        let bot = self.bot_user_id.load(std::sync::atomic::Ordering::Acquire);
        if bot != 0 {
            let allow = permission::PARTICIPANT | permission::MANAGE_CHANNELS;
            list.push(json!({ "id": bot.to_string(), "type": 1, "allow": allow.to_string(), "deny": "0" }));
        }
        Value::Array(list)
    }

    /// Creates the channel in the type's category, or the first of its overflow categories with
    /// room, or a new overflow category when all are full.
    async fn create_in_category(
        &self,
        guild: &LinkedGuild,
        guild_id: u64,
        t: &TicketType,
        name: &str,
        overwrites: &Value,
    ) -> Result<u64, Refusal> {
        let mut categories = vec![t.category_id.clone()];
        categories.extend(guild.state.overflow_categories.get(&t.key).cloned().unwrap_or_default());
        for category in &categories {
            match self.create_channel(guild_id, name, 0, Some(category), overwrites).await {
                Ok(id) => return Ok(id),
                Err(e) if e.has_field_code(CATEGORY_FULL) => continue,
                // A category deleted by hand: try the next.
                Err(e) if e.has_field_code("CHANNEL_PARENT_INVALID_TYPE") => continue,
                Err(e) => return Err(refusal_of(&e)),
            }
        }
        // Every category is full: a new one of the same type, named after the first.
        let base = self
            .rest
            .send_json(
                Route::Channel { channel_id: ChannelId::new(parse(&t.category_id)) },
                LightMethod::Get,
                &Value::Null,
            )
            .await
            .ok()
            .and_then(|c| c["name"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{} Tickets", t.label));
        let category_overwrites = json!([{ "id": guild_id.to_string(), "type": 0, "allow": "0",
            "deny": permission::VIEW_CHANNEL.to_string() }]);
        let overflow_name = format!("{base} {}", categories.len() + 1);
        let category = self
            .create_channel(guild_id, &overflow_name, 4, None, &category_overwrites)
            .await
            .map_err(|e| refusal_of(&e))?;
        match self.create_channel(guild_id, name, 0, Some(&category.to_string()), overwrites).await {
            Ok(id) => {
                let mut g = guild.clone();
                // Read again: another opening may have added an overflow category meanwhile.
                if let Ok(Some(fresh)) = self.guild(guild_id).await {
                    g.state = fresh.state;
                }
                g.state.overflow_categories.entry(t.key.clone()).or_default().push(category.to_string());
                if let Err(e) = self.save_guild_state(&g).await {
                    tracing::error!(error = %e, "recording a Discord overflow category failed");
                }
                Ok(id)
            }
            Err(e) => {
                self.delete_channel(category).await;
                Err(refusal_of(&e))
            }
        }
    }

    pub(crate) async fn create_channel(
        &self,
        guild_id: u64,
        name: &str,
        kind: u8,
        parent: Option<&str>,
        overwrites: &Value,
    ) -> Result<u64, RestError> {
        let mut body = json!({ "name": name, "type": kind, "permission_overwrites": overwrites });
        if let Some(p) = parent {
            body["parent_id"] = json!(p);
        }
        let route = Route::GuildChannels { guild_id: GuildId::new(guild_id) };
        let c = self.rest.send_json(route, LightMethod::Post, &body).await?;
        c["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| RestError::Transient("Discord's answer named no channel id".into()))
    }

    pub(crate) async fn delete_channel(&self, channel: u64) {
        let route = Route::Channel { channel_id: ChannelId::new(channel) };
        if let Err(e) = self.rest.send_json(route, LightMethod::Delete, &Value::Null).await {
            tracing::warn!(channel, error = %e, "deleting a Discord channel failed");
        }
    }
}

fn parse(id: &str) -> u64 {
    id.parse().unwrap_or(1)
}

fn refusal_of(e: &RestError) -> Refusal {
    if e.code() == Some(MAX_GUILD_CHANNELS) {
        return Refusal(
            "This server has reached Discord's limit of 500 channels, so no ticket channel can be made right now. \
             Nothing was opened; please tell the server's staff."
                .into(),
        );
    }
    tracing::error!(error = %e, "creating a Discord ticket channel failed");
    Refusal(format!("Discord did not let us make your ticket channel, so no ticket was opened ({e})."))
}

/// A channel name after the user: Discord's text channel names are lower case without spaces.
pub(crate) fn channel_name(username: &str) -> String {
    let name: String = username
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
        .take(90)
        .collect();
    if name.trim_matches('-').is_empty() { "ticket".into() } else { name }
}

/// The intake form (a modal) for a type: subject and/or description.
fn intake_form(t: &TicketType) -> Value {
    let mut rows = Vec::new();
    if t.ask_subject {
        rows.push(json!({ "type": 1, "components": [{ "type": 4, "custom_id": "subject", "style": 1,
            "label": "Subject", "min_length": 1, "max_length": INTAKE_SUBJECT_CHARS, "required": true }] }));
    }
    if t.ask_description {
        rows.push(json!({ "type": 1, "components": [{ "type": 4, "custom_id": "description", "style": 2,
            "label": "Describe the problem", "min_length": 1, "max_length": INTAKE_DESCRIPTION_CHARS, "required": true }] }));
    }
    let title: String = format!("{} ticket", t.label).chars().take(45).collect();
    json!({ "type": 9, "data": { "custom_id": format!("sb:intake:{}", t.key), "title": title, "components": rows } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_discords_rules() {
        assert_eq!(channel_name("Wendy W."), "wendy-w-");
        assert_eq!(channel_name("***"), "ticket");
        assert_eq!(channel_name("olga_k"), "olga_k");
    }
}
