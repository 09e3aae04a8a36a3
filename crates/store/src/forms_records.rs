//! Rows for versions of the admin forms (queues, help topics), so a save cannot overwrite a newer
//! one.

/// An admin form whose saves are checked against the version they were loaded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditedForm {
    Queue,
    HelpTopic,
    CannedResponse,
    RoutingRule,
    SlaPolicy,
    Webhook,
    Calendar,
}

impl EditedForm {
    /// The table holding the form's rows (with `version`, `updated_at` and `updated_by`).
    pub fn table(self) -> &'static str {
        match self {
            EditedForm::Queue => "queues",
            EditedForm::HelpTopic => "help_topics",
            EditedForm::CannedResponse => "canned_responses",
            EditedForm::RoutingRule => "routing_rules",
            EditedForm::SlaPolicy => "sla_policies",
            EditedForm::Webhook => "webhooks",
            EditedForm::Calendar => "business_calendars",
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
