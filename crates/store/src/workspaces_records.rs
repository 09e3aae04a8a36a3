//! Rows for workspaces (tenants), their ticket counter and their support settings.

use switchboard_domain::*;

/// A workspace (tenant).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkspaceRecord {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub ticket_prefix: String,
    pub time_zone: String,
    pub created_at: Millis,
}

/// The workspace's support-ops settings (defaults when never saved).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkspaceSettingsRecord {
    /// A ticket is "at risk" when less than this share of its SLA target is left.
    pub at_risk_percent: i64,
    /// The saved automation rule array (JSON, already validated).
    pub automation_rules: String,
    /// Notify managers when an SLA target is missed.
    pub alert_sla_breach: bool,
    /// Follow up on open tickets quiet for this many hours (off when `None`).
    pub stale_after_hours: Option<i64>,
    /// The follow-up message; a default when `None`.
    pub stale_message: Option<String>,
    /// Close tickets quiet for this many days (off when `None`).
    pub auto_close_days: Option<i64>,
    /// Warn this many days before an auto-close.
    pub auto_close_warning_days: Option<i64>,
    /// Escalated tickets close after this many days instead.
    pub auto_close_escalated_days: Option<i64>,
    /// Only the requester's messages count as activity.
    pub auto_close_customer_only: bool,
    /// Delete closed tickets' transcripts this many days after close (kept forever when `None`).
    pub transcript_retention_days: Option<i64>,
    /// Ask the requester for a rating once their ticket closes.
    pub csat_request_enabled: bool,
    /// The rating request (a canned-response template); a default when `None`.
    pub csat_request_message: Option<String>,
    /// Ask whether the issue stayed resolved this many days after close (off when `None`).
    pub post_close_follow_up_days: Option<i64>,
    /// The post-close question (a template); a default when `None`.
    pub post_close_follow_up_message: Option<String>,
    /// Alert managers when more tickets than this are unassigned or escalated (off when `None`).
    pub alert_queue_depth: Option<i64>,
    /// Alert managers when the week's satisfied share drops by this many points (off when `None`).
    pub alert_csat_drop_percent: Option<i64>,
    /// Alert managers when more tickets than this escalate within the window (off when `None`).
    pub alert_escalation_spike: Option<i64>,
    /// The escalation-spike window, in minutes.
    pub alert_escalation_window_minutes: i64,
    /// Sent to a requester who rated their ticket 1 or 2 of 5 (a template; none when `None`).
    pub negative_csat_message: Option<String>,
    /// Reopen a ticket its requester rated 1 or 2 of 5.
    pub negative_csat_reopen: bool,
}

impl Default for WorkspaceSettingsRecord {
    fn default() -> Self {
        Self {
            at_risk_percent: 25,
            automation_rules: "[]".into(),
            alert_sla_breach: true,
            stale_after_hours: None,
            stale_message: None,
            auto_close_days: None,
            auto_close_warning_days: None,
            auto_close_escalated_days: None,
            auto_close_customer_only: false,
            transcript_retention_days: None,
            csat_request_enabled: true,
            csat_request_message: None,
            post_close_follow_up_days: None,
            post_close_follow_up_message: None,
            alert_queue_depth: None,
            alert_csat_drop_percent: None,
            alert_escalation_spike: None,
            alert_escalation_window_minutes: 60,
            negative_csat_message: None,
            negative_csat_reopen: false,
        }
    }
}
