//! Staff identities: how a staff member is known on a channel (a chat user id). Admins link,
//! list and unlink them from the Team page.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use switchboard_desk::domain as d;
use switchboard_desk::store::StaffIdentityRecord;

use crate::types::{Channel, id, time};

/// How a staff member is known on a channel.
pub struct StaffIdentity(pub StaffIdentityRecord);

#[Object]
impl StaffIdentity {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// The staff member.
    async fn user_id(&self) -> ID {
        id(self.0.user_id.0)
    }
    /// The channel the identity is on; `null` for a channel this server does not know.
    async fn channel(&self) -> Option<Channel> {
        d::Channel::parse(&self.0.channel, "channel").ok().map(Into::into)
    }
    /// The channel's id for the staff member (a chat user id).
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}
