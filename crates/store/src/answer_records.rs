//! Rows of the answer bot (see `answer_queries.rs`): a workspace's answer settings and the turns
//! the bot took on customer messages.

use switchboard_domain::*;

/// A workspace's answer settings (defaults when never saved).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AnswerSettingsRecord {
    pub workspace_id: WorkspaceId,
    /// The bot answers customer messages in tickets.
    pub bot_enabled: bool,
    /// Percent, 0 to 100: below it the bot escalates.
    pub confidence_threshold: i64,
    /// A style instruction for the chat model's answers.
    pub voice: String,
    /// Minutes the bot waits after a staff message (0: no time-based pause).
    pub staff_reply_cooldown_minutes: i64,
    pub updated_at: Millis,
}

impl AnswerSettingsRecord {
    /// The settings of a workspace that never saved any.
    pub fn defaults(workspace_id: WorkspaceId) -> AnswerSettingsRecord {
        AnswerSettingsRecord {
            workspace_id,
            bot_enabled: false,
            confidence_threshold: 65,
            voice: String::new(),
            staff_reply_cooldown_minutes: 30,
            updated_at: 0,
        }
    }
}

/// What the bot did with one customer message.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BotTurnRecord {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    pub question: String,
    /// `answer`, `ask` or `escalate`.
    pub decision: String,
    /// Percent.
    pub confidence: i64,
    /// A JSON array of sentences.
    pub reasons: String,
    pub reply_entry_id: Option<EntryId>,
    pub gap_dismissed_at: Option<Millis>,
    pub created_at: Millis,
}

/// A turn about to be written.
#[derive(Debug, Clone)]
pub struct NewBotTurn {
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub entry_id: EntryId,
    pub question: String,
    pub decision: String,
    pub confidence: i64,
    pub reasons: String,
    pub created_at: Millis,
}
