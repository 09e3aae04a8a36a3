//! GraphQL types of the support-ops configuration and what it drives: business-hours calendars,
//! SLA policies, settings and breaches, routing and automation rules, webhooks and their
//! deliveries, quality flags and manager notifications. Conversion only: the desk validates.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::domain as d;
use switchboard_desk::store::{
    CalendarRecord, MacroSuggestionRecord, NotificationRecord, QualityFlagRecord, SlaBreachRecord, SlaPolicyRecord,
    WebhookDeliveryRecord, WebhookRecord,
};
use switchboard_desk::{self as desk_api, DeskError};

use crate::types::{Priority, Ticket, UserError, id, remote_enum, time, time_opt};
use crate::{actor, desk, parse_id};

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
remote_enum!(
/// When an automation rule is evaluated.
AutomationTrigger => "d::AutomationTrigger" {
    TicketOpened, TicketEscalated, MessageContains, CsatNegative, SlaBreach
});
remote_enum!(
    /// Which SLA target a breach missed.
    SlaTarget => "d::SlaTarget" { FirstResponse, Resolution });
remote_enum!(
    /// Why a ticket is in the quality review list.
    QualityFlagKind => "d::QualityFlagKind" { Escalated, NegativeCsat, LowConfidence });
remote_enum!(
/// An event webhook endpoints can subscribe to (`TICKET_OPENED` is sent as `ticket.opened`).
WebhookEvent => "d::WebhookEvent" {
    TicketOpened, TicketEscalated, TicketClosed, TicketUpdated, EntryCreated, CsatNegative, SlaBreach
});

/// A day of the week, for business hours.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// The spelling calendar specs store, e.g. `mon`.
    fn key(self) -> &'static str {
        match self {
            Weekday::Monday => "mon",
            Weekday::Tuesday => "tue",
            Weekday::Wednesday => "wed",
            Weekday::Thursday => "thu",
            Weekday::Friday => "fri",
            Weekday::Saturday => "sat",
            Weekday::Sunday => "sun",
        }
    }

    fn parse(s: &str) -> Option<Weekday> {
        Some(match s.trim().parse::<chrono::Weekday>().ok()? {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        })
    }
}

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

/// Where a webhook delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookDeliveryStatus {
    /// Not delivered yet; retried at `nextAttemptAt`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; no more are made.
    Failed,
}

// ---- calendars ----

/// A business-hours calendar: when the SLA clocks of the policies using it run.
pub struct Calendar {
    record: CalendarRecord,
    spec: d::CalendarSpec,
}

impl Calendar {
    /// Reads the stored spec; one that does not parse is an internal error.
    pub(crate) fn new(record: CalendarRecord) -> Result<Calendar, DeskError> {
        let spec = serde_json::from_str(&record.spec)
            .map_err(|e| DeskError::Internal(format!("calendar {} has an unreadable spec: {e}", record.id)))?;
        Ok(Calendar { record, spec })
    }
}

#[Object]
impl Calendar {
    async fn id(&self) -> ID {
        id(self.record.id.0)
    }
    async fn name(&self) -> &str {
        &self.record.name
    }
    /// IANA time zone the hours are in, e.g. `Europe/Berlin`.
    async fn time_zone(&self) -> &str {
        &self.spec.time_zone
    }
    /// Opening intervals, Monday first; several on one weekday make split shifts.
    async fn schedule(&self) -> Result<Vec<DayHours>, DeskError> {
        self.spec
            .schedule
            .iter()
            .map(|h| {
                let weekday = Weekday::parse(&h.weekday).ok_or_else(|| {
                    DeskError::Internal(format!("calendar {} has an unknown weekday {:?}", self.record.id, h.weekday))
                })?;
                Ok(DayHours { weekday, opens: h.opens.clone(), closes: h.closes.clone() })
            })
            .collect()
    }
    /// Dates closed all day, as `YYYY-MM-DD` in the calendar's zone.
    async fn holidays(&self) -> &[String] {
        &self.spec.holidays
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.record.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.record.updated_at)
    }
}

/// One opening interval on one weekday, in the calendar's wall-clock time.
#[derive(SimpleObject)]
pub struct DayHours {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub opens: String,
    /// `HH:MM` after `opens`; `24:00` is midnight at the end of the day.
    pub closes: String,
}

/// One opening interval as an admin writes it.
#[derive(InputObject)]
pub struct DayHoursInput {
    pub weekday: Weekday,
    /// `HH:MM`, from `00:00` to `23:59`.
    pub opens: String,
    /// `HH:MM` after `opens`; `24:00` means midnight at the end of the day.
    pub closes: String,
}

/// A business-hours calendar as an admin writes it.
#[derive(InputObject)]
pub struct CalendarInput {
    pub name: String,
    /// An IANA time zone name such as `Europe/Berlin`.
    pub time_zone: String,
    /// Opening intervals; hours past midnight go on the next weekday.
    pub schedule: Vec<DayHoursInput>,
    /// Dates closed all day, as `YYYY-MM-DD`.
    #[graphql(default)]
    pub holidays: Vec<String>,
}

impl CalendarInput {
    /// The domain's spec; the desk validates it (errors name `schedule[2].opens` and so on).
    pub(crate) fn spec(&self) -> d::CalendarSpec {
        d::CalendarSpec {
            time_zone: self.time_zone.clone(),
            schedule: self
                .schedule
                .iter()
                .map(|h| d::DayHours {
                    weekday: h.weekday.key().to_string(),
                    opens: h.opens.clone(),
                    closes: h.closes.clone(),
                })
                .collect(),
            holidays: self.holidays.clone(),
        }
    }
}

// ---- SLA ----

/// First-response and resolution targets for tickets of a priority (and help topic).
pub struct SlaPolicy(pub SlaPolicyRecord);

#[Object]
impl SlaPolicy {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The priority of the tickets it covers.
    async fn priority(&self) -> Priority {
        self.0.priority.into()
    }
    /// Limits the policy to one help topic; it covers every topic when absent.
    async fn help_topic_id(&self) -> Option<ID> {
        self.0.help_topic_id.map(|h| id(h.0))
    }
    /// Minutes (business minutes with a calendar) until the first response is due.
    async fn first_response_minutes(&self) -> i64 {
        self.0.first_response_minutes
    }
    /// Minutes (business minutes with a calendar) until resolution is due.
    async fn resolution_minutes(&self) -> i64 {
        self.0.resolution_minutes
    }
    /// The business-hours calendar the targets count in; round the clock when absent.
    async fn calendar_id(&self) -> Option<ID> {
        self.0.calendar_id.map(|c| id(c.0))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
}

/// An SLA policy as an admin writes it; targets apply to tickets opened or re-prioritized after.
#[derive(InputObject)]
pub struct SlaPolicyInput {
    pub name: String,
    pub priority: Priority,
    /// Limits the policy to one help topic.
    pub help_topic_id: Option<ID>,
    /// 5 to 525600.
    pub first_response_minutes: i64,
    /// 5 to 525600.
    pub resolution_minutes: i64,
    /// Counts the targets in this calendar's business hours.
    pub calendar_id: Option<ID>,
}

impl SlaPolicyInput {
    pub(crate) fn change(self) -> Result<desk_api::SlaPolicyChange, DeskError> {
        Ok(desk_api::SlaPolicyChange {
            name: self.name,
            priority: self.priority.into(),
            help_topic_id: self.help_topic_id.as_ref().map(|h| parse_id(h, "helpTopicId")).transpose()?,
            first_response_minutes: self.first_response_minutes,
            resolution_minutes: self.resolution_minutes,
            calendar_id: self.calendar_id.as_ref().map(|c| parse_id(c, "calendarId")).transpose()?,
        })
    }
}

/// The workspace's SLA settings.
#[derive(SimpleObject)]
pub struct SlaSettings {
    /// A ticket is at risk when less than this share (percent) of its target's time is left.
    pub at_risk_percent: i64,
    /// Managers are notified when an SLA target is missed.
    pub alert_on_breach: bool,
}

impl From<desk_api::SlaSettings> for SlaSettings {
    fn from(s: desk_api::SlaSettings) -> Self {
        SlaSettings { at_risk_percent: s.at_risk_percent, alert_on_breach: s.alert_on_breach }
    }
}

/// The SLA settings as an admin writes them.
#[derive(InputObject)]
pub struct SlaSettingsInput {
    /// 1 to 99.
    pub at_risk_percent: i64,
    pub alert_on_breach: bool,
}

impl From<SlaSettingsInput> for desk_api::SlaSettings {
    fn from(s: SlaSettingsInput) -> Self {
        desk_api::SlaSettings { at_risk_percent: s.at_risk_percent, alert_on_breach: s.alert_on_breach }
    }
}

/// Proactive follow-ups and inactivity auto-close; a `null` period switches the feature off.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "InactivitySettingsInput")]
pub struct InactivitySettings {
    /// Follow up once on open tickets without messages for this many hours.
    pub stale_after_hours: Option<i64>,
    /// The follow-up message (a default when null).
    pub stale_message: Option<String>,
    /// Close tickets without activity for this many days (reason: user unresponsive).
    pub auto_close_days: Option<i64>,
    /// Warn the requester this many days before the auto-close.
    pub auto_close_warning_days: Option<i64>,
    /// Escalated tickets close after this many days instead.
    pub auto_close_escalated_days: Option<i64>,
    /// Only the requester's messages count as activity.
    pub auto_close_customer_only: bool,
    /// Delete closed tickets' transcripts (messages and attachments) this many days after close.
    pub transcript_retention_days: Option<i64>,
}

impl From<desk_api::InactivitySettings> for InactivitySettings {
    fn from(s: desk_api::InactivitySettings) -> Self {
        InactivitySettings {
            stale_after_hours: s.stale_after_hours,
            stale_message: s.stale_message,
            auto_close_days: s.auto_close_days,
            auto_close_warning_days: s.auto_close_warning_days,
            auto_close_escalated_days: s.auto_close_escalated_days,
            auto_close_customer_only: s.auto_close_customer_only,
            transcript_retention_days: s.transcript_retention_days,
        }
    }
}

impl From<InactivitySettings> for desk_api::InactivitySettings {
    fn from(s: InactivitySettings) -> Self {
        desk_api::InactivitySettings {
            stale_after_hours: s.stale_after_hours,
            stale_message: s.stale_message,
            auto_close_days: s.auto_close_days,
            auto_close_warning_days: s.auto_close_warning_days,
            auto_close_escalated_days: s.auto_close_escalated_days,
            auto_close_customer_only: s.auto_close_customer_only,
            transcript_retention_days: s.transcript_retention_days,
        }
    }
}

/// Messages after a ticket closes. Messages are templates with the canned-response variables.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "AfterCloseSettingsInput")]
pub struct AfterCloseSettings {
    /// Ask the requester for a rating once the ticket closes (unless they already rated).
    pub csat_request_enabled: bool,
    /// The rating request (a default when null).
    pub csat_request_message: Option<String>,
    /// Ask whether the issue stayed resolved this many days after close (null: off); tickets
    /// closed for inactivity are skipped.
    pub post_close_follow_up_days: Option<i64>,
    /// The post-close question (a default when null).
    pub post_close_follow_up_message: Option<String>,
    /// Sent when the requester rates the ticket 1 or 2 of 5 (null: no message).
    pub negative_csat_message: Option<String>,
    /// Reopen a ticket its requester rated 1 or 2 of 5.
    #[graphql(default)]
    pub negative_csat_reopen: bool,
}

impl From<desk_api::AfterCloseSettings> for AfterCloseSettings {
    fn from(s: desk_api::AfterCloseSettings) -> Self {
        let desk_api::AfterCloseSettings {
            csat_request_enabled,
            csat_request_message,
            post_close_follow_up_days,
            post_close_follow_up_message,
            negative_csat_message,
            negative_csat_reopen,
        } = s;
        AfterCloseSettings {
            csat_request_enabled,
            csat_request_message,
            post_close_follow_up_days,
            post_close_follow_up_message,
            negative_csat_message,
            negative_csat_reopen,
        }
    }
}

impl From<AfterCloseSettings> for desk_api::AfterCloseSettings {
    fn from(s: AfterCloseSettings) -> Self {
        let AfterCloseSettings {
            csat_request_enabled,
            csat_request_message,
            post_close_follow_up_days,
            post_close_follow_up_message,
            negative_csat_message,
            negative_csat_reopen,
        } = s;
        desk_api::AfterCloseSettings {
            csat_request_enabled,
            csat_request_message,
            post_close_follow_up_days,
            post_close_follow_up_message,
            negative_csat_message,
            negative_csat_reopen,
        }
    }
}

/// Manager alert thresholds; a `null` threshold switches that alert off. Each alert notifies
/// managers (`notifications`) when its condition starts holding, once until it clears.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "ManagerAlertSettingsInput")]
pub struct ManagerAlertSettings {
    /// Alert when more tickets than this are unassigned or escalated and not yet resolved.
    pub queue_depth: Option<i64>,
    /// Alert when this week's satisfied share of ratings is this many points under last week's
    /// (each week needs at least five ratings).
    pub csat_drop_percent: Option<i64>,
    /// Alert when more tickets than this escalate within the window.
    pub escalation_spike: Option<i64>,
    /// The escalation-spike window in minutes.
    #[graphql(default = 60)]
    pub escalation_window_minutes: i64,
}

impl From<desk_api::ManagerAlertSettings> for ManagerAlertSettings {
    fn from(s: desk_api::ManagerAlertSettings) -> Self {
        let desk_api::ManagerAlertSettings {
            queue_depth,
            csat_drop_percent,
            escalation_spike,
            escalation_window_minutes,
        } = s;
        ManagerAlertSettings { queue_depth, csat_drop_percent, escalation_spike, escalation_window_minutes }
    }
}

impl From<ManagerAlertSettings> for desk_api::ManagerAlertSettings {
    fn from(s: ManagerAlertSettings) -> Self {
        let ManagerAlertSettings { queue_depth, csat_drop_percent, escalation_spike, escalation_window_minutes } = s;
        desk_api::ManagerAlertSettings { queue_depth, csat_drop_percent, escalation_spike, escalation_window_minutes }
    }
}

/// One day of the SLA trend, by the workspace's calendar.
#[derive(SimpleObject)]
pub struct SlaTrendDay {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// Tickets opened that day.
    pub opened: i64,
    /// SLA targets missed that day (breaches recorded).
    pub breaches: i64,
    /// Tickets resolved that day (and not reopened since).
    pub resolved: i64,
}

impl From<desk_api::TrendDay> for SlaTrendDay {
    fn from(d: desk_api::TrendDay) -> Self {
        SlaTrendDay { date: d.date.to_string(), opened: d.opened, breaches: d.breaches, resolved: d.resolved }
    }
}

/// A missed SLA target of a ticket.
pub struct SlaBreach(pub SlaBreachRecord);

#[Object]
impl SlaBreach {
    async fn target(&self) -> SlaTarget {
        self.0.target.into()
    }
    /// When the target was due.
    async fn due_at(&self) -> DateTime<Utc> {
        time(self.0.due_at)
    }
    /// When the breach was noticed.
    async fn detected_at(&self) -> DateTime<Utc> {
        time(self.0.detected_at)
    }
}

// ---- routing rules ----

/// A routing rule: the first enabled rule, by position, whose clauses hold decides where a new
/// ticket goes.
pub struct RoutingRule(pub desk_api::RoutingRuleView);

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
        })
    }
}

// ---- automation rules ----

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
}

impl SaveAutomationRulesPayload {
    pub(crate) fn new(s: desk_api::AutomationSave) -> Result<Self, DeskError> {
        Ok(SaveAutomationRulesPayload {
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

// ---- webhooks ----

/// A webhook endpoint (its signing secret is never shown after it is set).
pub struct Webhook(pub WebhookRecord);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// The events sent to it, in the enum's order.
    async fn events(&self) -> Vec<WebhookEvent> {
        let stored: Vec<&str> = self.0.events.split(',').collect();
        d::WebhookEvent::ALL.iter().filter(|e| stored.contains(&e.as_str())).map(|e| (*e).into()).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    /// The newest deliveries to it, newest first; `first` up to 200.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 200) as usize * child_complexity")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i64>,
    ) -> Result<Vec<WebhookDelivery>, DeskError> {
        let list = desk(ctx).webhook_deliveries(actor(ctx)?, self.0.id, first.unwrap_or(20)).await?;
        Ok(list.into_iter().map(WebhookDelivery).collect())
    }
}

/// One event's delivery to a webhook endpoint.
pub struct WebhookDelivery(pub WebhookDeliveryRecord);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// The event sent, e.g. `ticket.opened`, or `webhook.test`.
    async fn event(&self) -> &str {
        &self.0.event
    }
    async fn status(&self) -> Result<WebhookDeliveryStatus, DeskError> {
        match self.0.status.as_str() {
            "pending" => Ok(WebhookDeliveryStatus::Pending),
            "delivered" => Ok(WebhookDeliveryStatus::Delivered),
            "failed" => Ok(WebhookDeliveryStatus::Failed),
            other => Err(DeskError::Internal(format!("delivery {} has an unknown status {other:?}", self.0.id))),
        }
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i64 {
        self.0.attempts
    }
    /// The HTTP status of the last answer, when there was one.
    async fn response_status(&self) -> Option<i64> {
        self.0.response_status
    }
    /// How long the last attempt took.
    async fn latency_ms(&self) -> Option<i64> {
        self.0.latency_ms
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.delivered_at)
    }
    /// When the next attempt is due, while the delivery is pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == "pending").then(|| time(self.0.next_attempt_at))
    }
}

/// A webhook endpoint as an admin writes it.
#[derive(InputObject)]
pub struct WebhookInput {
    pub name: String,
    /// An http(s) URL; private and local addresses are refused unless the operator allowed them.
    pub url: String,
    #[graphql(default = true)]
    pub enabled: bool,
    /// At least one event.
    pub events: Vec<WebhookEvent>,
    /// The signing secret (16-200 characters). A new endpoint without one gets a generated
    /// secret, shown once; an edited endpoint without one keeps its secret.
    pub secret: Option<String>,
}

impl From<WebhookInput> for desk_api::WebhookChange {
    fn from(w: WebhookInput) -> Self {
        desk_api::WebhookChange {
            name: w.name,
            url: w.url,
            enabled: w.enabled,
            events: w.events.into_iter().map(Into::into).collect(),
            secret: w.secret,
        }
    }
}

/// A saved webhook endpoint.
#[derive(SimpleObject)]
pub struct SavedWebhook {
    pub webhook: Webhook,
    /// The generated signing secret, shown this once; absent when none was generated.
    pub secret: Option<String>,
}

// ---- quality flags and notifications ----

/// A ticket in the quality review list.
pub struct QualityFlag(pub QualityFlagRecord);

#[Object]
impl QualityFlag {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn ticket_id(&self) -> ID {
        id(self.0.ticket_id.0)
    }
    /// The flagged ticket (one lookup per flag; select it only when needed).
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Ticket, DeskError> {
        Ok(Ticket(desk(ctx).ticket(actor(ctx)?, self.0.ticket_id).await?))
    }
    async fn kind(&self) -> QualityFlagKind {
        self.0.kind.into()
    }
    /// Why it was flagged, e.g. the escalation reason.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    /// When someone marked it reviewed.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.resolved_at)
    }
    /// The staff member who marked it reviewed.
    async fn resolved_by_user_id(&self) -> Option<ID> {
        self.0.resolved_by.map(|u| id(u.0))
    }
}

/// A message for the workspace's managers (an SLA breach, an automation rule's notice).
pub struct Notification(pub NotificationRecord);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// What it is about, e.g. `sla.breach`.
    async fn kind(&self) -> &str {
        &self.0.kind
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

// ---- suggested macros ----

/// A staff reply repeated across closed tickets, offered as a canned response.
pub struct MacroSuggestion(pub MacroSuggestionRecord);

#[Object]
impl MacroSuggestion {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// The reply text, as the canned response would hold it.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Messages with this text.
    async fn occurrences(&self) -> i64 {
        self.0.occurrences
    }
    /// Distinct tickets those messages were on.
    async fn ticket_count(&self) -> i64 {
        self.0.ticket_count
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}
