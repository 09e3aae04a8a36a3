//! Rows for versions of the admin forms (queues, help topics), so a save cannot overwrite a newer
//! one.

/// An admin form whose saves are checked against the version they were loaded at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditedForm {
    Queue,
    HelpTopic,
}

impl EditedForm {
    /// The table holding the form's rows (with `version`, `updated_at` and `updated_by`).
    pub fn table(self) -> &'static str {
        match self {
            EditedForm::Queue => "queues",
            EditedForm::HelpTopic => "help_topics",
        }
    }
}
