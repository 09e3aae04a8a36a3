//! GraphQL types of SLA policies, settings, breaches and the dashboard's trend.

use async_graphql::{Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::domain as d;
use switchboard_desk::store::{SlaBreachRecord, SlaPolicyRecord};
use switchboard_desk::{self as desk_api, DeskError};

use crate::parse_id;
use crate::types::{Priority, id, remote_enum, time};

remote_enum!(
    /// Which SLA target a breach missed.
    SlaTarget => "d::SlaTarget" { FirstResponse, Resolution });

/// First-response and resolution targets for tickets of a priority (and help topic).
pub struct SlaPolicy(pub SlaPolicyRecord);

crate::stamp::version_stamp!(SlaPolicyStamp, "SlaPolicyInput", "policy");

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
    #[graphql(flatten)]
    async fn stamp(&self) -> SlaPolicyStamp {
        SlaPolicyStamp::of(self.0.version, &self.0.updated_by)
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
    /// The policy's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
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
            version: self.version,
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
    /// Goes up with every save of these settings; send it back as `SlaSettingsInput.version` so
    /// a save over someone else's newer one is refused instead of undoing it.
    pub version: i64,
    /// When these settings were last saved; absent before their first save.
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last saved these settings, as history names them.
    pub updated_by: Option<String>,
}

impl SlaSettings {
    pub(crate) fn new(s: desk_api::SlaSettings, v: desk_api::FormVersion) -> Self {
        SlaSettings {
            at_risk_percent: s.at_risk_percent,
            alert_on_breach: s.alert_on_breach,
            version: v.version,
            updated_at: v.updated_at.map(time),
            updated_by: v.updated_by,
        }
    }
}

/// The SLA settings as an admin writes them.
#[derive(InputObject)]
pub struct SlaSettingsInput {
    /// 1 to 99.
    pub at_risk_percent: i64,
    pub alert_on_breach: bool,
    /// The settings form's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}

impl From<SlaSettingsInput> for desk_api::SlaSettings {
    fn from(s: SlaSettingsInput) -> Self {
        desk_api::SlaSettings { at_risk_percent: s.at_risk_percent, alert_on_breach: s.alert_on_breach }
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
