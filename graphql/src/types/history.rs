//! A ticket's history: one item per recorded change.

use super::*;

/// One recorded change to a ticket.
pub struct HistoryItem(pub HistoryRecord);

#[Object]
impl HistoryItem {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// Who made the change, as shown (a staff member's name, an API token, "System").
    async fn actor(&self) -> &str {
        &self.0.actor_label
    }
    async fn actor_user_id(&self) -> Option<ID> {
        self.0.actor_user_id.map(|u| id(u.0))
    }
    async fn field(&self) -> &str {
        &self.0.field
    }
    async fn old_value(&self) -> Option<&str> {
        self.0.old_value.as_deref()
    }
    async fn new_value(&self) -> Option<&str> {
        self.0.new_value.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}
