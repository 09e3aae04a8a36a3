//! Queues, their members and assignment modes.

use super::*;

remote_enum!(
    /// A queue member's role.
    MemberRole => "d::MemberRole" { Member, Lead });

remote_enum!(
    /// How new tickets in a queue get an assignee.
    AssignmentMode => "d::AssignmentMode" { Manual, RoundRobin, LoadBalanced });

/// A short reference to a queue.
#[derive(SimpleObject)]
pub struct QueueRef {
    pub id: ID,
    pub name: String,
}

/// A queue and its settings.
pub struct Queue(pub QueueRecord);

#[Object]
impl Queue {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// New tickets land here when nothing else decides.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    async fn assignment_mode(&self) -> AssignmentMode {
        self.0.assignment_mode.into()
    }
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<QueueMember>, DeskError> {
        Ok(desk(ctx).queue_members(actor(ctx)?, self.0.id).await?.into_iter().map(QueueMember).collect())
    }
    /// Goes up with every save; send it back as `QueueInput.version` so a save over someone
    /// else's newer one is refused instead of undoing it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// When the queue was last saved; absent before its first edit.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at.map(time)
    }
    /// Who last saved the queue, as history names them.
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated_by.as_deref()
    }
}

/// A staff member's place in a queue.
pub struct QueueMember(pub QueueMemberRecord);

#[Object]
impl QueueMember {
    async fn user(&self) -> UserRef {
        UserRef { id: id(self.0.user_id.0), name: self.0.user_name.clone() }
    }
    async fn email(&self) -> &str {
        &self.0.user_email
    }
    async fn role(&self) -> MemberRole {
        self.0.role.into()
    }
    /// Breaks ties in assignment: higher goes first.
    async fn weight(&self) -> i64 {
        self.0.weight
    }
    /// Skipped by automatic assignment while true.
    async fn on_break(&self) -> bool {
        self.0.on_break
    }
}

/// A queue as an admin writes it.
#[derive(InputObject)]
pub struct QueueInput {
    pub name: String,
    #[graphql(default_with = "AssignmentMode::Manual")]
    pub assignment_mode: AssignmentMode,
    #[graphql(default)]
    pub is_default: bool,
    /// The queue's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}
