//! GraphQL types of automation rules.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::domain as d;
use switchboard_desk::{self as desk_api, DeskError};

use crate::types::{Priority, UserError, remote_enum, time};

remote_enum!(
/// When an automation rule is evaluated.
AutomationTrigger => "d::AutomationTrigger" {
    TicketOpened, TicketEscalated, MessageContains, CsatNegative, SlaBreach
});

/// What an automation rule action does.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AutomationActionType {
    /// Adds `tag`.
    AddTag,
    /// Escalates the ticket; the rule's name goes into the reason.
    Escalate,
    /// Assigns the ticket with its queue's assignment mode (round robin when the queue is manual).
    AssignRoundRobin,
    /// Sets `priority`.
    SetPriority,
    /// Notifies the workspace's managers, with `message` when given.
    Notify,
}

/// The rule array as JSON in the seed's format, pretty-printed for editing.
pub(crate) fn rules_json(rules: &[d::AutomationRule]) -> Result<String, DeskError> {
    serde_json::to_string_pretty(rules).map_err(|e| DeskError::Internal(e.to_string()))
}

/// An automation rule in force.
pub struct AutomationRule(pub d::AutomationRule);

#[Object]
impl AutomationRule {
    /// The rule's id within the array, e.g. `billing-escalate` (`rule-N` when none was given).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn trigger(&self) -> AutomationTrigger {
        self.0.trigger.into()
    }
    /// The text a `MESSAGE_CONTAINS` rule looks for (case-insensitive).
    #[graphql(name = "match")]
    async fn match_text(&self) -> Option<&str> {
        self.0.match_text.as_deref()
    }
    /// Limits the rule to tickets of this help topic.
    async fn ticket_type_id(&self) -> Option<ID> {
        self.0.ticket_type_id.clone().map(ID)
    }
    async fn actions(&self) -> Vec<AutomationAction> {
        self.0
            .actions
            .iter()
            .map(|a| {
                let mut out =
                    AutomationAction { kind: AutomationActionType::Escalate, tag: None, priority: None, message: None };
                match a {
                    d::AutomationAction::AddTag { tag } => {
                        out.kind = AutomationActionType::AddTag;
                        out.tag = Some(tag.clone());
                    }
                    d::AutomationAction::Escalate => {}
                    d::AutomationAction::AssignRoundRobin => out.kind = AutomationActionType::AssignRoundRobin,
                    d::AutomationAction::SetPriority { priority } => {
                        out.kind = AutomationActionType::SetPriority;
                        out.priority = Some((*priority).into());
                    }
                    d::AutomationAction::Notify { message } => {
                        out.kind = AutomationActionType::Notify;
                        out.message = message.clone();
                    }
                }
                out
            })
            .collect()
    }
}

/// One action of an automation rule; only the members its type uses are set.
#[derive(SimpleObject)]
pub struct AutomationAction {
    #[graphql(name = "type")]
    pub kind: AutomationActionType,
    pub tag: Option<String>,
    pub priority: Option<Priority>,
    pub message: Option<String>,
}

/// What saving the automation rule array did.
#[derive(SimpleObject)]
pub struct SaveAutomationRulesPayload {
    /// False when nothing was saved because a rule was invalid and `dropInvalid` was not set.
    pub saved: bool,
    /// The rules now in force, as JSON.
    pub rules: String,
    /// One report per submitted rule, in order.
    pub reports: Vec<AutomationRuleReport>,
    /// Where the rules' form stands now: the version this save took, or the current one when
    /// nothing was saved.
    pub version: FormVersion,
}

/// Where an admin form stands: the version a save must send back, and who saved it last.
#[derive(SimpleObject)]
pub struct FormVersion {
    /// Goes up with every save; a save naming an older one is refused with CONFLICT.
    pub version: i64,
    /// When the form was last saved; absent before its first save.
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last saved it, as history names them.
    pub updated_by: Option<String>,
}

impl From<desk_api::FormVersion> for FormVersion {
    fn from(v: desk_api::FormVersion) -> Self {
        FormVersion { version: v.version, updated_at: v.updated_at.map(time), updated_by: v.updated_by }
    }
}

impl SaveAutomationRulesPayload {
    pub(crate) fn new(s: desk_api::AutomationSave) -> Result<Self, DeskError> {
        Ok(SaveAutomationRulesPayload {
            version: s.version.into(),
            saved: s.saved,
            rules: rules_json(&s.rules)?,
            reports: s
                .reports
                .into_iter()
                .map(|r| AutomationRuleReport {
                    index: r.index as i64,
                    id: r.id.map(ID),
                    accepted: r.errors.is_empty(),
                    errors: r.errors.into_iter().map(|e| UserError::from(DeskError::Validation(e))).collect(),
                })
                .collect(),
        })
    }
}

/// How one submitted automation rule fared.
#[derive(SimpleObject)]
pub struct AutomationRuleReport {
    /// Position of the rule in the submitted array.
    pub index: i64,
    /// The rule's id, given or assigned.
    pub id: Option<ID>,
    /// The rule passed validation (and is in force when the array was saved).
    pub accepted: bool,
    /// Why the rule was rejected, each naming its field, e.g. `rules[2].trigger`.
    pub errors: Vec<UserError>,
}
