//! Lookups a channel module makes by its own keys before it knows the workspace (which ticket a
//! conversation belongs to, whether a message is already an entry), and the account a ticket is
//! answered from.

use switchboard_domain::{Actor, ActorKind, Channel, ChannelAccountId, Permission, TicketId, WorkspaceId};

use crate::retry::retrying;
use crate::{Desk, DeskError, require};

impl Desk {
    /// The ticket of `channel` whose conversation key (its thread key, e.g. the id of the chat
    /// room the ticket lives in) is `thread_key`, with its workspace; `None` when no ticket has it.
    pub async fn ticket_by_channel_thread(
        &self,
        channel: Channel,
        thread_key: &str,
    ) -> Result<Option<(WorkspaceId, TicketId)>, DeskError> {
        let mut tx = self.store().read().await?;
        Ok(tx.ticket_by_channel_thread(channel.as_str(), thread_key).await?)
    }

    /// Whether the channel message `external_id` is already an entry in the workspace (a
    /// redelivery), so its attachments need not be fetched again.
    pub async fn channel_entry_exists(
        &self,
        ws: WorkspaceId,
        channel: Channel,
        external_id: &str,
    ) -> Result<bool, DeskError> {
        let mut tx = self.store().read().await?;
        Ok(tx.entry_by_external_id(ws, channel, external_id).await?.is_some())
    }

    /// `actor`, a channel's adapter, acting inside the conversation of `ticket`, a ticket on its
    /// own channel and account: for that ticket's requester (see [`Actor::for_requester`]), so it
    /// reads their tickets and no one else's. A ticket of another channel or account is
    /// NOT_FOUND; any other actor is refused.
    pub async fn channel_actor_for_ticket(&self, actor: &Actor, ticket: TicketId) -> Result<Actor, DeskError> {
        let ActorKind::Channel { channel, account, .. } = actor.kind.clone() else {
            return Err(DeskError::Forbidden("only a channel's adapter acts in its conversations".into()));
        };
        require(actor, Permission::Manage)?;
        let t = self.store().read().await?.ticket_by_id(actor.workspace_id, ticket).await?;
        let t = t.ok_or(DeskError::NotFound("ticket"))?;
        let other_account = matches!((account, t.channel_account_id), (Some(a), Some(b)) if a != b);
        if t.channel != channel || other_account {
            return Err(DeskError::NotFound("ticket"));
        }
        Ok(actor.clone().for_requester(t.requester_id))
    }

    /// Records that `channel`'s account `account` (the one the ticket came in on) answers the
    /// ticket, unless the ticket already has one: its replies then go out from it.
    pub async fn answer_ticket_from(
        &self,
        actor: &Actor,
        ticket: TicketId,
        channel: Channel,
        account: ChannelAccountId,
    ) -> Result<(), DeskError> {
        require(actor, Permission::Manage)?;
        let ws = actor.workspace_id;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            let (on, _) = tx.ticket_channel(ws, ticket).await?.ok_or(DeskError::NotFound("ticket"))?;
            if on != channel.as_str() {
                return Err(DeskError::invalid("ticketId", format!("is not a {channel} ticket")));
            }
            if tx.channel_account(ws, channel.as_str(), account).await?.is_none() {
                return Err(DeskError::NotFound("channel account"));
            }
            tx.set_ticket_channel_account(ws, ticket, account).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
