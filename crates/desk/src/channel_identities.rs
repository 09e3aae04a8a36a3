//! Staff identities: how a staff member is known on a channel (a chat user id), so a channel
//! can tell a staff member's message from a customer's and attribute it. Admins link, list and
//! unlink them; an identity belongs to one staff member per workspace and channel.

use switchboard_domain::*;
use switchboard_store::{StaffIdentityRecord, UserRecord};

use crate::retry::retrying;
use crate::{Desk, DeskError, require};

/// Longest external id taken (chat user ids are a few dozen characters; addresses 254).
const MAX_EXTERNAL_ID_CHARS: usize = 320;

impl Desk {
    /// The workspace's staff identities, by staff member (admins).
    pub async fn staff_identities(&self, actor: &Actor) -> Result<Vec<StaffIdentityRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.staff_identities(actor.workspace_id).await?)
    }

    /// The active staff member linked to `external_id` on `channel`, if any, for a channel's
    /// adapter to act as them (a staff command run in the channel). The adapter asks about its
    /// own channel only; anyone else needs Admin, as for listing the identities.
    pub async fn staff_by_channel_identity(
        &self,
        actor: &Actor,
        channel: Channel,
        external_id: &str,
    ) -> Result<Option<UserRecord>, DeskError> {
        match &actor.kind {
            ActorKind::Channel { channel: own, .. } if *own == channel => require(actor, Permission::Manage)?,
            ActorKind::Channel { channel: own, .. } => {
                return Err(DeskError::Forbidden(format!("the {own} channel cannot look up {channel} identities")));
            }
            _ => require(actor, Permission::Admin)?,
        }
        let ws = actor.workspace_id;
        let mut tx = self.store().read().await?;
        let Some(id) = tx.staff_by_identity(ws, channel.as_str(), external_id).await? else { return Ok(None) };
        Ok(tx.user_by_id(ws, id).await?.filter(|u| u.active))
    }

    /// Links how `user` is known on `channel` (admins). An external id already linked on that
    /// channel is a CONFLICT naming the staff member who holds it.
    pub async fn link_staff_identity(
        &self,
        actor: &Actor,
        user: UserId,
        channel: Channel,
        external_id: &str,
    ) -> Result<StaffIdentityRecord, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let external_id = without_nul(external_id.trim()).into_owned();
        if external_id.is_empty() {
            return Err(DeskError::invalid("externalId", "must not be empty"));
        }
        if external_id.chars().count() > MAX_EXTERNAL_ID_CHARS {
            return Err(DeskError::invalid(
                "externalId",
                format!("must be at most {MAX_EXTERNAL_ID_CHARS} characters"),
            ));
        }
        retrying(|| async {
            let mut tx = self.store().write().await?;
            if tx.user_by_id(ws, user).await?.is_none() {
                return Err(DeskError::NotFound("user"));
            }
            if let Some(holder) = tx.staff_by_identity(ws, channel.as_str(), &external_id).await? {
                let name = tx.user_by_id(ws, holder).await?.map(|u| u.name).unwrap_or_default();
                let whom = if holder == user { "this staff member already".to_string() } else { name };
                return Err(DeskError::Conflict(format!("{channel} id {external_id:?} is linked to {whom}")));
            }
            if !tx.add_staff_identity(ws, user, channel.as_str(), &external_id, self.now()).await? {
                // Linked by someone else between the look and the write.
                return Err(DeskError::Conflict(format!("{channel} id {external_id:?} was just linked")));
            }
            let linked = tx
                .staff_identities(ws)
                .await?
                .into_iter()
                .find(|i| i.channel == channel.as_str() && i.external_id == external_id)
                .ok_or(DeskError::NotFound("staff identity"))?;
            tx.commit().await?;
            Ok(linked)
        })
        .await
    }

    /// Removes a staff identity (admins).
    pub async fn unlink_staff_identity(&self, actor: &Actor, id: StaffIdentityId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        retrying(|| async {
            let mut tx = self.store().write().await?;
            if !tx.delete_staff_identity(actor.workspace_id, id).await? {
                return Err(DeskError::NotFound("staff identity"));
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
