//! GraphQL types of routing rules.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::domain as d;
use switchboard_desk::{self as desk_api, DeskError};

use crate::parse_id;
use crate::types::{Priority, id, remote_enum, time};

remote_enum!(
    /// The ticket fact a routing clause reads.
    ClauseField => "d::ClauseField" { Priority, Source, Tag, RequesterType, HelpTopic, Channel, Text });
remote_enum!(
    /// How a routing clause compares its field with its value: `IS`/`IS_NOT`, or
    /// `CONTAINS`/`NOT_CONTAINS` for `TEXT`.
    ClauseOp => "d::ClauseOp" { Is, IsNot, Contains, NotContains });
remote_enum!(
    /// How a routing rule joins its clauses: `AND` needs every clause, `OR` any one.
    RuleJoin => "d::RuleJoin" { And, Or });

/// What a routing rule action does; each type takes the one member it names (none for `ESCALATE`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RoutingActionType {
    /// Puts the ticket in `queueId`, keeping its assignee.
    AssignToQueue,
    /// Assigns the ticket to `userId`.
    AssignToUser,
    /// Escalates the ticket.
    Escalate,
    /// Moves the ticket to `queueId` and drops its assignee, so that queue's assignment applies.
    ReassignQueue,
    /// Sets the ticket's `priority`.
    SetPriority,
    /// Adds `tag` to the ticket.
    AddTag,
}

impl RoutingActionType {
    fn label(self) -> &'static str {
        match self {
            RoutingActionType::AssignToQueue => "ASSIGN_TO_QUEUE",
            RoutingActionType::AssignToUser => "ASSIGN_TO_USER",
            RoutingActionType::Escalate => "ESCALATE",
            RoutingActionType::ReassignQueue => "REASSIGN_QUEUE",
            RoutingActionType::SetPriority => "SET_PRIORITY",
            RoutingActionType::AddTag => "ADD_TAG",
        }
    }
}

/// A routing rule: the first enabled rule, by position, whose clauses hold decides where a new
/// ticket goes.
pub struct RoutingRule(pub desk_api::RoutingRuleView);

crate::stamp::version_stamp!(RoutingRuleStamp, "RoutingRuleInput", "rule");

#[Object]
impl RoutingRule {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.rule.name
    }
    async fn enabled(&self) -> bool {
        self.0.rule.enabled
    }
    /// Rules are tried from the lowest position up.
    async fn position(&self) -> i64 {
        self.0.rule.position
    }
    async fn join(&self) -> RuleJoin {
        self.0.rule.join.into()
    }
    async fn clauses(&self) -> Vec<RoutingClause> {
        self.0
            .rule
            .clauses
            .iter()
            .map(|c| RoutingClause { field: c.field.into(), op: c.op.into(), value: c.value.clone() })
            .collect()
    }
    async fn actions(&self) -> Vec<RoutingAction> {
        self.0.rule.actions.iter().map(RoutingAction::from).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    #[graphql(flatten)]
    async fn stamp(&self) -> RoutingRuleStamp {
        RoutingRuleStamp::of(self.0.version, &self.0.updated_by)
    }
}

/// One condition of a routing rule.
#[derive(SimpleObject)]
pub struct RoutingClause {
    pub field: ClauseField,
    pub op: ClauseOp,
    /// As stored: a priority, source, channel or requester type key (`high`, `email`), a tag, a
    /// help topic id, or text.
    pub value: String,
}

/// One action of a routing rule; only the member its type names is set.
#[derive(SimpleObject)]
pub struct RoutingAction {
    #[graphql(name = "type")]
    pub kind: RoutingActionType,
    pub queue_id: Option<ID>,
    pub user_id: Option<ID>,
    pub priority: Option<Priority>,
    pub tag: Option<String>,
}

impl From<&d::RoutingAction> for RoutingAction {
    fn from(a: &d::RoutingAction) -> Self {
        let mut out = RoutingAction {
            kind: RoutingActionType::Escalate,
            queue_id: None,
            user_id: None,
            priority: None,
            tag: None,
        };
        match a {
            d::RoutingAction::AssignToQueue { queue_id } => {
                out.kind = RoutingActionType::AssignToQueue;
                out.queue_id = Some(id(queue_id.0));
            }
            d::RoutingAction::ReassignQueue { queue_id } => {
                out.kind = RoutingActionType::ReassignQueue;
                out.queue_id = Some(id(queue_id.0));
            }
            d::RoutingAction::AssignToUser { user_id } => {
                out.kind = RoutingActionType::AssignToUser;
                out.user_id = Some(id(user_id.0));
            }
            d::RoutingAction::Escalate => {}
            d::RoutingAction::SetPriority { priority } => {
                out.kind = RoutingActionType::SetPriority;
                out.priority = Some((*priority).into());
            }
            d::RoutingAction::AddTag { tag } => {
                out.kind = RoutingActionType::AddTag;
                out.tag = Some(tag.clone());
            }
        }
        out
    }
}

/// One condition of a routing rule as an admin writes it.
#[derive(InputObject)]
pub struct RoutingClauseInput {
    pub field: ClauseField,
    pub op: ClauseOp,
    /// A priority, source, channel or requester type key (`high`, `email`), a tag, a help topic
    /// id, or text to look for; checked against `field`.
    pub value: String,
}

/// One action of a routing rule as an admin writes it: set the member its type names.
#[derive(InputObject)]
pub struct RoutingActionInput {
    #[graphql(name = "type")]
    pub kind: RoutingActionType,
    /// For `ASSIGN_TO_QUEUE` and `REASSIGN_QUEUE`.
    pub queue_id: Option<ID>,
    /// For `ASSIGN_TO_USER`.
    pub user_id: Option<ID>,
    /// For `SET_PRIORITY`.
    pub priority: Option<Priority>,
    /// For `ADD_TAG`.
    pub tag: Option<String>,
}

impl RoutingActionInput {
    /// The domain action; a missing member, or one the type does not take, is a validation
    /// error naming it, e.g. `actions[1].queueId`.
    fn action(self, i: usize) -> Result<d::RoutingAction, DeskError> {
        let at = |member: &str| format!("actions[{i}].{member}");
        let kind = self.kind;
        let takes: &str = match kind {
            RoutingActionType::AssignToQueue | RoutingActionType::ReassignQueue => "queueId",
            RoutingActionType::AssignToUser => "userId",
            RoutingActionType::SetPriority => "priority",
            RoutingActionType::AddTag => "tag",
            RoutingActionType::Escalate => "",
        };
        let given = [
            ("queueId", self.queue_id.is_some()),
            ("userId", self.user_id.is_some()),
            ("priority", self.priority.is_some()),
            ("tag", self.tag.is_some()),
        ];
        if let Some((member, _)) = given.iter().find(|(member, set)| *set && *member != takes) {
            return Err(DeskError::invalid(&at(member), format!("does not apply to {}", kind.label())));
        }
        let required = |member: &str| DeskError::invalid(&at(member), format!("is required for {}", kind.label()));
        let queue = |q: Option<ID>| -> Result<d::QueueId, DeskError> {
            parse_id(&q.ok_or_else(|| required("queueId"))?, &at("queueId"))
        };
        Ok(match kind {
            RoutingActionType::AssignToQueue => d::RoutingAction::AssignToQueue { queue_id: queue(self.queue_id)? },
            RoutingActionType::ReassignQueue => d::RoutingAction::ReassignQueue { queue_id: queue(self.queue_id)? },
            RoutingActionType::AssignToUser => d::RoutingAction::AssignToUser {
                user_id: parse_id(&self.user_id.ok_or_else(|| required("userId"))?, &at("userId"))?,
            },
            RoutingActionType::Escalate => d::RoutingAction::Escalate,
            RoutingActionType::SetPriority => {
                d::RoutingAction::SetPriority { priority: self.priority.ok_or_else(|| required("priority"))?.into() }
            }
            RoutingActionType::AddTag => d::RoutingAction::AddTag { tag: self.tag.ok_or_else(|| required("tag"))? },
        })
    }
}

/// A routing rule as an admin writes it.
#[derive(InputObject)]
pub struct RoutingRuleInput {
    pub name: String,
    #[graphql(default = true)]
    pub enabled: bool,
    /// Where it goes in the order; a new rule goes last and an edited one stays put when absent.
    pub position: Option<i64>,
    #[graphql(default_with = "RuleJoin::And")]
    pub join: RuleJoin,
    /// 1 to 20 conditions.
    pub clauses: Vec<RoutingClauseInput>,
    /// 1 to 10 actions; at most one moves the ticket to a queue.
    pub actions: Vec<RoutingActionInput>,
    /// The rule's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}

impl RoutingRuleInput {
    pub(crate) fn change(self) -> Result<desk_api::RoutingRuleChange, DeskError> {
        Ok(desk_api::RoutingRuleChange {
            name: self.name,
            enabled: self.enabled,
            position: self.position,
            join: self.join.into(),
            clauses: self
                .clauses
                .into_iter()
                .map(|c| d::RoutingClause { field: c.field.into(), op: c.op.into(), value: c.value })
                .collect(),
            actions: self.actions.into_iter().enumerate().map(|(i, a)| a.action(i)).collect::<Result<_, _>>()?,
            version: self.version,
        })
    }
}
