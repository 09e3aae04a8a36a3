//! Lookups a channel module makes by its own keys before it knows the workspace: which ticket a
//! conversation belongs to, and whether a message is already an entry.

use switchboard_domain::{Channel, TicketId, WorkspaceId};

use crate::{Desk, DeskError};

impl Desk {
    /// The ticket of `channel` whose conversation key (its thread key, e.g. a Discord ticket
    /// channel's id) is `thread_key`, with its workspace; `None` when no ticket has it.
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
}
