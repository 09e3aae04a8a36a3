//! The "Request human" button on a ticket's opening message: the ticket is flagged escalated
//! with the reason (its history, the `ticket.escalated` event, automation and a quality flag, as
//! any escalation), an item goes to the guild's `#staff-review` channel mentioning the staff
//! roles when that channel is set, and the member is told someone will come. Pressed again (or
//! twice at once, as a double click does) it changes nothing more.

use serde_json::json;
use serenity::all::{ChannelId, ComponentInteraction};
use serenity::http::{LightMethod, Route};
use switchboard_desk::domain::{Actor, TicketId};
use switchboard_desk::{DeskError, TicketPatch};

use crate::DiscordChannel;
use crate::guilds::LinkedGuild;
use crate::opening::Reply;

impl DiscordChannel {
    /// A "Request human" click in a ticket channel.
    pub(crate) async fn on_request_human(&self, c: &ComponentInteraction) {
        let to = Reply { id: c.id, token: &c.token, application_id: c.application_id };
        let found = self.ticket_in_linked_guild(c.guild_id.map(|g| g.get()), c.channel_id.get()).await;
        let (guild, ticket) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return self.tell(&to, "This ticket is closed; open a new one from the panel.").await,
            Err(e) => {
                tracing::error!(error = %e, "a Discord Request human click failed");
                return self.tell(&to, "Something went wrong on our side; please try again in a moment.").await;
            }
        };
        let user = c.member.as_ref().map_or(&c.user, |m| &m.user);
        let name = user.global_name.clone().unwrap_or_else(|| user.name.clone());
        match self.escalate_for(&guild, ticket, &name, c.channel_id).await {
            Ok(true) => {
                let text = format!("<@{}> asked for a human. Someone from our team will answer here soon.", user.id);
                let body = json!({ "type": 4, "data": { "content": text, "allowed_mentions": { "parse": [] } } });
                self.respond(&to, body).await;
            }
            Ok(false) => {
                self.tell(&to, "Our team has been asked already; someone will answer here soon.").await;
            }
            Err(e) => {
                tracing::error!(error = %e, "escalating a Discord ticket failed");
                self.tell(&to, "Something went wrong on our side; please try again in a moment.").await;
            }
        }
    }

    /// Escalates the ticket for `name`; false when it was escalated already. One click at a time
    /// per ticket, so a double click posts one staff-review item.
    async fn escalate_for(
        &self,
        guild: &LinkedGuild,
        ticket: TicketId,
        name: &str,
        channel: ChannelId,
    ) -> Result<bool, DeskError> {
        let _one_at_a_time = self.escalating.lock().await;
        // The guild's adapter in this ticket's conversation, under the member's name.
        let actor = self.desk().channel_actor_for_ticket(&guild.adapter(), ticket).await?;
        let actor = Actor { label: format!("{name} (discord)"), ..actor };
        let t = self.desk().ticket(&actor, ticket).await?;
        if t.escalated {
            return Ok(false);
        }
        let reason = format!("{name} asked for a human on Discord (Request human)");
        let patch = TicketPatch { escalated: Some(true), escalation_reason: Some(reason), ..TicketPatch::default() };
        let t = self.desk().update_ticket(&actor, ticket, patch).await?;
        if let Some(review) = guild.settings.staff_review_channel_id.as_deref().and_then(|c| c.parse::<u64>().ok()) {
            let roles: Vec<String> = guild.settings.staff_role_ids.clone();
            let mentions: Vec<String> = roles.iter().map(|r| format!("<@&{r}>")).collect();
            let content = format!(
                "{} **{}-{} {}**: {name} asked for a human in <#{channel}>.",
                mentions.join(" "),
                t.ticket_prefix,
                t.number,
                t.subject.replace('*', "")
            );
            let body = json!({ "content": content.trim_start(), "allowed_mentions": { "parse": [], "roles": roles },
                "nonce": format!("esc{}", ticket.0), "enforce_nonce": true });
            let route = Route::ChannelMessages { channel_id: ChannelId::new(review) };
            if let Err(e) = self.rest().send_json(route, LightMethod::Post, &body).await {
                tracing::warn!(channel = review, error = %e, "posting to the Discord staff-review channel failed");
            }
        }
        Ok(true)
    }
}
