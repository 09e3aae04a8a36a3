//! What the Discord channel asks of the core beyond ticket operations: which ticket a Discord
//! channel belongs to.

use switchboard_domain::{Channel, TicketId, WorkspaceId};

use crate::{Desk, DeskError};

impl Desk {
    /// The Discord ticket whose private channel is `channel_id`, with its workspace; `None` for
    /// any other channel (the panel channel, a staff channel, a DM).
    pub async fn discord_ticket_by_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<(WorkspaceId, TicketId)>, DeskError> {
        let mut tx = self.store().read().await?;
        Ok(tx.discord_ticket_by_channel(channel_id).await?)
    }
}

impl Desk {
    /// Whether the Discord message `message_id` is already an entry in the workspace (a gateway
    /// replay), so its attachments need not be fetched again.
    pub async fn discord_entry_exists(&self, ws: WorkspaceId, message_id: &str) -> Result<bool, DeskError> {
        let mut tx = self.store().read().await?;
        Ok(tx.entry_by_external_id(ws, Channel::Discord, message_id).await?.is_some())
    }
}
