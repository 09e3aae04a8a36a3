//! Help topics and the defaults they give new tickets.

use super::*;

/// A short reference to a help topic.
#[derive(SimpleObject)]
pub struct HelpTopicRef {
    pub id: ID,
    pub name: String,
}

/// A help topic and the defaults it gives new tickets.
pub struct HelpTopic(pub HelpTopicRecord);

#[Object]
impl HelpTopic {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn default_priority(&self) -> Option<Priority> {
        self.0.default_priority.as_deref().and_then(|p| d::Priority::parse(p, "defaultPriority").ok()).map(Into::into)
    }
    async fn default_queue_id(&self) -> Option<ID> {
        self.0.default_queue_id.map(|q| id(q.0))
    }
    async fn default_assignee_id(&self) -> Option<ID> {
        self.0.default_assignee_id.map(|u| id(u.0))
    }
    /// Resolution due this many minutes after opening.
    async fn due_offset_minutes(&self) -> Option<i64> {
        self.0.due_offset_minutes
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Goes up with every save; send it back as `HelpTopicInput.version` so a save over someone
    /// else's newer one is refused instead of undoing it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// When the topic was last saved; absent before its first edit.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at.map(time)
    }
    /// Who last saved the topic, as history names them.
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated_by.as_deref()
    }
}

/// A help topic as an admin writes it.
#[derive(InputObject)]
pub struct HelpTopicInput {
    pub name: String,
    pub default_priority: Option<Priority>,
    pub default_queue_id: Option<ID>,
    pub default_assignee_id: Option<ID>,
    pub due_offset_minutes: Option<i64>,
    #[graphql(default = true)]
    pub active: bool,
    /// The topic's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}
