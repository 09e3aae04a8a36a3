//! A channel's view of one requester: their tickets, newest first, by number, the open one, and
//! system entries on them. Chat channels answer a requester's questions about their own tickets
//! with these.

use switchboard_domain::*;
use switchboard_store::{NewEntry, TicketQuery, TicketRecord};

use crate::retry::retry_on_conflict;
use crate::tickets::live;
use crate::{Desk, DeskError, require};

impl Desk {
    /// `support.list_my_tickets`: the requester's most recent tickets, newest first.
    pub async fn requester_tickets(
        &self,
        actor: &Actor,
        contact: ContactId,
        limit: i64,
    ) -> Result<Vec<TicketRecord>, DeskError> {
        if !may_read_tickets_of(actor, contact)? {
            return Ok(Vec::new());
        }
        let q =
            TicketQuery { requester_id: Some(contact), ..TicketQuery::new(actor.workspace_id, limit.clamp(1, 100)) };
        Ok(self.store().read().await?.list_tickets(&q).await?)
    }

    /// `support.get_ticket_status`: a ticket by number, only when `contact` is its requester;
    /// `None` alike for a missing ticket, someone else's, or text that is not a number.
    pub async fn requester_ticket_by_number(
        &self,
        actor: &Actor,
        contact: ContactId,
        number: &str,
    ) -> Result<Option<TicketRecord>, DeskError> {
        if !may_read_tickets_of(actor, contact)? {
            return Ok(None);
        }
        let mut tx = self.store().read().await?;
        let prefix = tx.workspace_by_id(actor.workspace_id).await?.ticket_prefix;
        let Some(seq) = TicketNumber::parse_seq(number.trim(), &prefix) else { return Ok(None) };
        let t = tx.ticket_by_number(actor.workspace_id, seq).await?;
        Ok(t.filter(|t| t.requester_id == contact))
    }

    /// The requester's most recent ticket that is not closed.
    pub async fn open_ticket_of_requester(
        &self,
        actor: &Actor,
        contact: ContactId,
    ) -> Result<Option<TicketRecord>, DeskError> {
        let tickets = self.requester_tickets(actor, contact, 20).await?;
        Ok(tickets.into_iter().find(|t| t.status != TicketStatus::Closed))
    }

    /// Keeps something the channel sent that the desk cannot show (an unknown message type) as a
    /// system entry on the ticket. Idempotent on the channel's message id.
    pub async fn add_channel_system_entry(
        &self,
        actor: &Actor,
        ticket: TicketId,
        channel: Channel,
        external_message_id: &str,
        body: &str,
    ) -> Result<EntryId, DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        let body = validate_body("body", body)?;
        // Two deliveries of one message race on the entry's unique channel id: the loser reruns
        // and finds the winner's entry.
        retry_on_conflict(|| async {
            let mut tx = self.store().write().await?;
            if let Some(e) = tx.entry_by_external_id(ws, channel, external_message_id).await? {
                return Ok(e.id);
            }
            let t = tx.ticket_by_id(ws, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
            let id = tx
                .insert_entry(&NewEntry {
                    workspace_id: ws,
                    ticket_id: t.id,
                    kind: EntryKind::System,
                    author_user_id: None,
                    author_contact_id: None,
                    channel,
                    external_message_id: Some(external_message_id.to_string()),
                    body: body.clone(),
                    delivery_status: None,
                    created_at: self.now(),
                })
                .await?;
            tx.commit().await?;
            self.publish(vec![live(&t, "entry.created", Some(id), false)]);
            Ok(id)
        })
        .await
    }
}

/// Whether `actor` may read `contact`'s tickets: a customer or a channel acting for a requester
/// only their own (someone else's read as none), anyone else with the View permission.
pub(crate) fn may_read_tickets_of(actor: &Actor, contact: ContactId) -> Result<bool, DeskError> {
    match actor.requester_scope() {
        Some(c) => Ok(c == contact),
        None => require(actor, Permission::View).map(|()| true),
    }
}
