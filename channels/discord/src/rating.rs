//! After a ticket closes its channel goes, so what the desk sends after close (the rating
//! request, a "still fixed?" follow-up) goes to the requester as a direct message, with Helpful /
//! Not helpful / Skip buttons while the ticket is unrated. A click records the ticket's CSAT
//! (Helpful 5, Not helpful 1) once, for the requester only. Members who refuse DMs from the
//! server (Discord's 50007) are recorded as such on the entry, not retried.

use serde_json::json;
use serenity::all::{ChannelId, ComponentInteraction, UserId};
use serenity::http::{LightMethod, Route};
use switchboard_desk::domain::{Actor, ActorKind, Channel, TicketId, WorkspaceId};
use switchboard_desk::store::records::IdentityKind;
use switchboard_desk::{DeliveryOutcome, OutboundMessage};

use crate::{DiscordChannel, RestError};

/// Discord's code for a member who does not take direct messages from the bot.
const CANNOT_MESSAGE_USER: i64 = 50007;

impl DiscordChannel {
    /// Sends an after-close message as a DM to the requester.
    pub(crate) async fn deliver_dm(&self, msg: &OutboundMessage, rated: bool) -> DeliveryOutcome {
        let Some(user) = msg.requester.identity(Channel::Discord).and_then(|u| u.parse::<u64>().ok()) else {
            return DeliveryOutcome::Failed { error: "the requester has no Discord account to write to".into() };
        };
        let dm = match self
            .rest
            .send_json(Route::UserMeDmChannels, LightMethod::Post, &json!({ "recipient_id": user.to_string() }))
            .await
        {
            Ok(c) => c,
            Err(e) => return dm_outcome(e),
        };
        let Some(dm) = dm["id"].as_str().and_then(|c| c.parse::<u64>().ok()) else {
            return DeliveryOutcome::Retry { error: "Discord's answer named no DM channel".into() };
        };
        let mut payload = json!({
            "content": crate::split_message(&msg.body, crate::MAX_MESSAGE_CHARS).into_iter().next().unwrap_or_default(),
            "nonce": format!("sb{}.dm", msg.outbox_id),
            "enforce_nonce": true,
            "allowed_mentions": { "parse": [] },
        });
        if !rated {
            let id = |choice: &str| format!("sb:rate:{}:{}:{choice}", msg.workspace_id.0, msg.ticket_id.0);
            payload["components"] = json!([{ "type": 1, "components": [
                { "type": 2, "style": 3, "label": "Helpful", "emoji": { "name": "👍" }, "custom_id": id("up") },
                { "type": 2, "style": 4, "label": "Not helpful", "emoji": { "name": "👎" }, "custom_id": id("down") },
                { "type": 2, "style": 2, "label": "Skip", "custom_id": id("skip") },
            ] }]);
        }
        match self
            .rest
            .send_json(Route::ChannelMessages { channel_id: ChannelId::new(dm) }, LightMethod::Post, &payload)
            .await
        {
            Ok(m) => DeliveryOutcome::Sent { external_message_id: m["id"].as_str().map(str::to_string) },
            Err(e) => dm_outcome(e),
        }
    }

    /// A rating button: `sb:rate:<workspace>:<ticket>:<up|down|skip>`.
    pub(crate) async fn on_rating(&self, c: &ComponentInteraction, rest: &str) {
        let parts: Vec<&str> = rest.split(':').collect();
        let [ws, ticket, choice] = parts.as_slice() else { return };
        let (Ok(ws), Ok(ticket)) = (ws.parse::<i64>(), ticket.parse::<i64>()) else { return };
        let text = self.rate(WorkspaceId(ws), TicketId(ticket), c.user.id, choice).await;
        // Answer by replacing the message: its buttons go, so it is rated once.
        let body =
            json!({ "type": 7, "data": { "content": text, "components": [], "allowed_mentions": { "parse": [] } } });
        let route = Route::InteractionResponse { interaction_id: c.id, token: &c.token };
        if let Err(e) = self.rest.send_json(route, LightMethod::Post, &body).await {
            tracing::warn!(interaction = %c.id, error = %e, "answering a rating click failed");
        }
    }

    async fn rate(&self, ws: WorkspaceId, ticket: TicketId, user: UserId, choice: &str) -> String {
        let rating = match choice {
            "up" => 5,
            "down" => 1,
            _ => return "No problem: thanks for getting in touch.".into(),
        };
        let adapter = Actor::channel(ws, Channel::Discord, None);
        let contact = match self
            .desk
            .contact_by_channel_identity(&adapter, IdentityKind::Channel(Channel::Discord), &user.to_string())
            .await
        {
            Ok(Some(c)) => c,
            _ => return "This rating is not yours to give.".into(),
        };
        // Someone else's ticket reads as missing to the adapter acting for this member.
        let t = match self.desk.ticket(&adapter.for_requester(contact.id), ticket).await {
            Ok(t) if t.requester_id == contact.id => t,
            _ => return "This rating is not yours to give.".into(),
        };
        if t.csat_rating.is_some() {
            return "You rated this ticket already. Thank you!".into();
        }
        let requester =
            Actor { workspace_id: ws, kind: ActorKind::Contact { id: contact.id }, label: contact.name.clone() };
        match self.desk.rate_ticket(&requester, ticket, rating, None).await {
            Ok(_) => "Thanks for your feedback!".into(),
            Err(e) => {
                tracing::error!(ticket = ticket.0, error = %e, "recording a Discord rating failed");
                "Your rating could not be recorded; sorry.".into()
            }
        }
    }
}

fn dm_outcome(e: RestError) -> DeliveryOutcome {
    match e {
        RestError::Refused { code: CANNOT_MESSAGE_USER, .. } => DeliveryOutcome::Failed {
            error: "not sent: the member does not accept direct messages from this server (Discord 50007)".into(),
        },
        RestError::Transient(error) => DeliveryOutcome::Retry { error },
        refused => DeliveryOutcome::Failed { error: refused.to_string() },
    }
}
