//! GraphQL types of the managers' notifications.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use switchboard_desk::store::NotificationRecord;

use crate::types::{id, time};

/// A message for the workspace's managers (an SLA breach, an automation rule's notice).
pub struct Notification(pub NotificationRecord);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// What it is about, e.g. `sla.breach`.
    async fn kind(&self) -> &str {
        self.0.kind.as_str()
    }
    async fn ticket_id(&self) -> Option<ID> {
        self.0.ticket_id.map(|t| id(t.0))
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}
