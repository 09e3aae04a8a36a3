//! Notifications for the workspace's managers.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, require};

use super::MAX_LIST;

impl Desk {
    /// The newest notifications for the workspace's managers.
    pub async fn notifications(&self, actor: &Actor, limit: i64) -> Result<Vec<NotificationRecord>, DeskError> {
        require(actor, Permission::Reassign)?;
        Ok(self.store().read().await?.list_notifications(actor.workspace_id, limit.clamp(1, MAX_LIST)).await?)
    }
}
