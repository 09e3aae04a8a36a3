//! Rows for versions of the admin forms (queues, help topics), so a save cannot overwrite a newer
//! one.

use switchboard_domain::*;

/// The row of an admin form whose saves are checked against the version they were loaded at:
/// the form and the typed id of its row, so a queue's version is never looked up with a webhook's
/// id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditedForm {
    Queue(QueueId),
    HelpTopic(HelpTopicId),
    CannedResponse(CannedResponseId),
    RoutingRule(RoutingRuleId),
    SlaPolicy(SlaPolicyId),
    Webhook(WebhookId),
    Calendar(CalendarId),
}

impl EditedForm {
    /// The table holding the form's rows (with `version`, `updated_at` and `updated_by`).
    pub fn table(self) -> &'static str {
        match self {
            EditedForm::Queue(_) => "queues",
            EditedForm::HelpTopic(_) => "help_topics",
            EditedForm::CannedResponse(_) => "canned_responses",
            EditedForm::RoutingRule(_) => "routing_rules",
            EditedForm::SlaPolicy(_) => "sla_policies",
            EditedForm::Webhook(_) => "webhooks",
            EditedForm::Calendar(_) => "business_calendars",
        }
    }

    /// The row's id as stored, for binding in the one query that serves every form's table.
    pub fn row_id(self) -> i64 {
        match self {
            EditedForm::Queue(id) => id.0,
            EditedForm::HelpTopic(id) => id.0,
            EditedForm::CannedResponse(id) => id.0,
            EditedForm::RoutingRule(id) => id.0,
            EditedForm::SlaPolicy(id) => id.0,
            EditedForm::Webhook(id) => id.0,
            EditedForm::Calendar(id) => id.0,
        }
    }
}

/// One of the forms the workspace's settings are edited through; each has a version of its own
/// (`settings_versions`), since each saves only its own fields of the one settings row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsForm {
    Sla,
    Inactivity,
    AfterClose,
    ManagerAlerts,
    AutomationRules,
}

impl SettingsForm {
    /// The form's key in `settings_versions`.
    pub fn key(self) -> &'static str {
        match self {
            SettingsForm::Sla => "sla",
            SettingsForm::Inactivity => "inactivity",
            SettingsForm::AfterClose => "after_close",
            SettingsForm::ManagerAlerts => "manager_alerts",
            SettingsForm::AutomationRules => "automation_rules",
        }
    }

    /// What people call the form ("Ana saved the SLA settings at …").
    pub fn label(self) -> &'static str {
        match self {
            SettingsForm::Sla => "SLA settings",
            SettingsForm::Inactivity => "follow-up settings",
            SettingsForm::AfterClose => "after-close settings",
            SettingsForm::ManagerAlerts => "manager alerts",
            SettingsForm::AutomationRules => "automation rules",
        }
    }
}
