//! Quality review: tickets flagged for a second look.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, require};

use super::MAX_LIST;

impl Desk {
    /// Tickets flagged for review, open ones only unless `include_resolved`.
    pub async fn quality_flags(
        &self,
        actor: &Actor,
        include_resolved: bool,
    ) -> Result<Vec<QualityFlagRecord>, DeskError> {
        require(actor, Permission::View)?;
        Ok(self.store().read().await?.list_quality_flags(actor.workspace_id, include_resolved, MAX_LIST).await?)
    }

    /// Marks a flag reviewed.
    pub async fn resolve_quality_flag(&self, actor: &Actor, id: QualityFlagId) -> Result<QualityFlagRecord, DeskError> {
        require(actor, Permission::Manage)?;
        let mut tx = self.store().write().await?;
        let flag = tx
            .resolve_quality_flag(actor.workspace_id, id, actor.user_id(), self.now())
            .await?
            .ok_or(DeskError::NotFound("open quality flag"))?;
        tx.commit().await?;
        Ok(flag)
    }
}
