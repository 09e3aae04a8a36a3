//! A channel's view of one requester: their tickets, newest first, by number, and the open one.
//! Chat channels answer a requester's questions about their own tickets
//! with these.

use switchboard_domain::*;
use switchboard_store::{TicketQuery, TicketRecord};

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
}

/// Whether `actor` may read `contact`'s tickets: a customer or a channel acting for a requester
/// only their own (someone else's read as none), anyone else with the View permission.
pub(crate) fn may_read_tickets_of(actor: &Actor, contact: ContactId) -> Result<bool, DeskError> {
    match actor.requester_scope() {
        Some(c) => Ok(c == contact),
        None => require(actor, Permission::View).map(|()| true),
    }
}
