//! GraphQL types of the follow-up settings: inactivity follow-ups and auto-close, the
//! after-close messages and the manager alerts.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk as desk_api;

use crate::types::time;

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
    /// Goes up with every save of these settings. Send back the one loaded: a save over someone
    /// else's newer one is refused with CONFLICT naming who saved it and when; without it the
    /// save applies whatever was saved since (as before versions existed). Always set in answers.
    pub version: Option<i64>,
    /// When these settings were last saved; absent before their first save.
    #[graphql(skip_input)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last saved these settings, as history names them.
    #[graphql(skip_input)]
    pub updated_by: Option<String>,
}

impl InactivitySettings {
    pub(crate) fn new(s: desk_api::InactivitySettings, v: desk_api::FormVersion) -> Self {
        InactivitySettings {
            version: Some(v.version),
            updated_at: v.updated_at.map(time),
            updated_by: v.updated_by,
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
    /// Goes up with every save of these settings. Send back the one loaded: a save over someone
    /// else's newer one is refused with CONFLICT naming who saved it and when; without it the
    /// save applies whatever was saved since (as before versions existed). Always set in answers.
    pub version: Option<i64>,
    /// When these settings were last saved; absent before their first save.
    #[graphql(skip_input)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last saved these settings, as history names them.
    #[graphql(skip_input)]
    pub updated_by: Option<String>,
}

impl AfterCloseSettings {
    pub(crate) fn new(s: desk_api::AfterCloseSettings, v: desk_api::FormVersion) -> Self {
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
            version: Some(v.version),
            updated_at: v.updated_at.map(time),
            updated_by: v.updated_by,
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
            ..
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
    /// Goes up with every save of these settings. Send back the one loaded: a save over someone
    /// else's newer one is refused with CONFLICT naming who saved it and when; without it the
    /// save applies whatever was saved since (as before versions existed). Always set in answers.
    pub version: Option<i64>,
    /// When these settings were last saved; absent before their first save.
    #[graphql(skip_input)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last saved these settings, as history names them.
    #[graphql(skip_input)]
    pub updated_by: Option<String>,
}

impl ManagerAlertSettings {
    pub(crate) fn new(s: desk_api::ManagerAlertSettings, v: desk_api::FormVersion) -> Self {
        let desk_api::ManagerAlertSettings {
            queue_depth,
            csat_drop_percent,
            escalation_spike,
            escalation_window_minutes,
        } = s;
        ManagerAlertSettings {
            queue_depth,
            csat_drop_percent,
            escalation_spike,
            escalation_window_minutes,
            version: Some(v.version),
            updated_at: v.updated_at.map(time),
            updated_by: v.updated_by,
        }
    }
}

impl From<ManagerAlertSettings> for desk_api::ManagerAlertSettings {
    fn from(s: ManagerAlertSettings) -> Self {
        let ManagerAlertSettings {
            queue_depth, csat_drop_percent, escalation_spike, escalation_window_minutes, ..
        } = s;
        desk_api::ManagerAlertSettings { queue_depth, csat_drop_percent, escalation_spike, escalation_window_minutes }
    }
}
