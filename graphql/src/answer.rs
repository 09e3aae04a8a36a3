//! The answer bot over GraphQL: the Playground (what the bot would do with a question), Settings
//! → AI & voice, the knowledge gaps list, and a requester's "Request human". Conversion only:
//! the desk checks who may, the answer engine decides what to say.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_answer::{AnswerEngine, Decision, SourceKind, engine_settings};
use switchboard_desk::store::{AnswerSettingsRecord, BotTurnRecord};
use switchboard_desk::{AnswerSettingsInput as Input, DeskError};

use crate::types::{MyTicket, id, time};
use crate::{actor, desk, parse_id};

/// The root fields' state: the server's engine (with its chat model, when configured). Absent
/// (tests of the core schema), answers are extractive.
#[derive(Default, Debug)]
pub struct AnswerQuery(pub Option<AnswerEngine>);

/// The changes (see [`AnswerQuery`]).
#[derive(Default, Debug)]
pub struct AnswerMutation(pub Option<AnswerEngine>);

/// What the bot does with a question.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AnswerDecision {
    /// It sends the answer.
    Answer,
    /// It asks the customer for more detail.
    Ask,
    /// It hands the ticket to staff.
    Escalate,
}

/// Where a source comes from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AnswerSourceKind {
    Document,
    /// A tip (not built yet: never returned).
    Tip,
}

/// A passage the bot drew on, in ranked order.
#[derive(SimpleObject)]
pub struct AnswerSource {
    pub kind: AnswerSourceKind,
    /// The knowledge document's id.
    pub id: ID,
    /// The chunk's id.
    pub chunk_id: ID,
    pub title: String,
    /// The headings above the passage, joined with " › ".
    pub heading: Option<String>,
    pub excerpt: String,
    /// The share of the question the passage covers, 0 to 1.
    pub score: f64,
    /// The page a URL document was synced from.
    pub link: Option<String>,
}

/// What the bot would do with a question.
#[derive(SimpleObject)]
pub struct PlaygroundAnswer {
    /// The text it would send (an answer, or its request for detail); null when it would not answer.
    pub answer: Option<String>,
    pub decision: AnswerDecision,
    /// 0 to 1.
    pub confidence: f64,
    pub reasons: Vec<String>,
    pub sources: Vec<AnswerSource>,
    /// Whether the chat model composed (or declined) it; false for extractive answers.
    pub by_model: bool,
}

/// Settings → AI & voice.
pub struct AnswerSettings {
    record: AnswerSettingsRecord,
    model: Option<String>,
}

#[Object]
impl AnswerSettings {
    /// The bot answers customer messages in tickets on conversational channels (the portal, web
    /// chat and chat apps; not email).
    async fn bot_enabled(&self) -> bool {
        self.record.bot_enabled
    }
    /// Percent, 0 to 100: below it the bot escalates instead of answering.
    async fn confidence_threshold(&self) -> i64 {
        self.record.confidence_threshold
    }
    /// A style instruction for the chat model's answers.
    async fn voice(&self) -> &str {
        &self.record.voice
    }
    /// Minutes the bot waits after a staff message before answering again (0: no time-based pause).
    async fn staff_reply_cooldown_minutes(&self) -> i64 {
        self.record.staff_reply_cooldown_minutes
    }
    /// The chat model the operator configured; null: answers are extractive (the best passage).
    async fn chat_model(&self) -> Option<&str> {
        self.model.as_deref()
    }
}

/// Settings → AI & voice, as saved.
#[derive(InputObject)]
pub struct AnswerSettingsInput {
    pub bot_enabled: bool,
    pub confidence_threshold: i64,
    pub voice: String,
    pub staff_reply_cooldown_minutes: i64,
}

/// A question the bot escalated for lack of an answer.
pub struct KnowledgeGap(pub BotTurnRecord);

#[Object]
impl KnowledgeGap {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The ticket it was asked in.
    async fn ticket_id(&self) -> ID {
        id(self.0.ticket_id.0)
    }
    /// That ticket's number (`SD-42`); null when the ticket is gone.
    async fn ticket_number(&self, ctx: &Context<'_>) -> Result<Option<String>, DeskError> {
        match desk(ctx).ticket(actor(ctx)?, self.0.ticket_id).await {
            Ok(t) => Ok(Some(t.display_number())),
            Err(DeskError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
    async fn question(&self) -> &str {
        &self.0.question
    }
    /// The bot's confidence, 0 to 1.
    async fn confidence(&self) -> f64 {
        self.0.confidence as f64 / 100.0
    }
    async fn reasons(&self) -> Vec<String> {
        serde_json::from_str(&self.0.reasons).unwrap_or_default()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
}

impl AnswerQuery {
    fn engine(&self, ctx: &Context<'_>) -> AnswerEngine {
        self.0.clone().unwrap_or_else(|| AnswerEngine::new(desk(ctx).clone(), None))
    }
}

#[Object]
impl AnswerQuery {
    /// What the bot would do with `question` in this workspace: the answer it would send, its
    /// decision, confidence and reasons, and the passages it drew on, ranked. Staff only.
    #[graphql(complexity = "50 * child_complexity")]
    async fn playground(&self, ctx: &Context<'_>, question: String) -> Result<PlaygroundAnswer, DeskError> {
        // Reading the settings checks that the caller is staff of the workspace.
        let settings = desk(ctx).answer_settings(actor(ctx)?).await?;
        let a = self.engine(ctx).answer(settings.workspace_id, &question, &engine_settings(&settings)).await?;
        Ok(PlaygroundAnswer {
            answer: a.text,
            decision: match a.decision {
                Decision::Answer => AnswerDecision::Answer,
                Decision::Ask => AnswerDecision::Ask,
                Decision::Escalate => AnswerDecision::Escalate,
            },
            confidence: f64::from(a.confidence),
            reasons: a.reasons,
            sources: a
                .sources
                .into_iter()
                .map(|s| AnswerSource {
                    kind: match s.kind {
                        SourceKind::Document => AnswerSourceKind::Document,
                        SourceKind::Tip => AnswerSourceKind::Tip,
                    },
                    id: id(s.id),
                    chunk_id: id(s.chunk_id),
                    title: s.title,
                    heading: s.heading,
                    excerpt: s.excerpt,
                    score: f64::from(s.score),
                    link: s.link,
                })
                .collect(),
            by_model: a.by_model,
        })
    }

    /// Settings → AI & voice. Staff only.
    async fn answer_settings(&self, ctx: &Context<'_>) -> Result<AnswerSettings, DeskError> {
        let record = desk(ctx).answer_settings(actor(ctx)?).await?;
        Ok(AnswerSettings { record, model: self.0.as_ref().and_then(|e| e.model_name().map(str::to_string)) })
    }

    /// Questions the bot escalated for lack of an answer, newest first (at most 200). Staff only.
    #[graphql(complexity = "200 * child_complexity")]
    async fn knowledge_gaps(&self, ctx: &Context<'_>) -> Result<Vec<KnowledgeGap>, DeskError> {
        Ok(desk(ctx).knowledge_gaps(actor(ctx)?).await?.into_iter().map(KnowledgeGap).collect())
    }
}

#[Object]
impl AnswerMutation {
    /// Saves Settings → AI & voice. Admins only.
    async fn update_answer_settings(
        &self,
        ctx: &Context<'_>,
        input: AnswerSettingsInput,
    ) -> Result<AnswerSettings, DeskError> {
        let input = Input {
            bot_enabled: input.bot_enabled,
            confidence_threshold: input.confidence_threshold,
            voice: input.voice,
            staff_reply_cooldown_minutes: input.staff_reply_cooldown_minutes,
        };
        let record = desk(ctx).save_answer_settings(actor(ctx)?, input).await?;
        Ok(AnswerSettings { record, model: self.0.as_ref().and_then(|e| e.model_name().map(str::to_string)) })
    }

    /// Marks knowledge gaps out of scope: they leave the list. Admins only.
    async fn dismiss_knowledge_gaps(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<bool, DeskError> {
        let ids = ids.iter().map(|i| parse_id::<i64>(i, "ids")).collect::<Result<Vec<_>, _>>()?;
        desk(ctx).dismiss_knowledge_gaps(actor(ctx)?, &ids).await?;
        Ok(true)
    }

    /// The requester's "Request human": the ticket goes to staff and the bot stays quiet on it.
    async fn request_human(&self, ctx: &Context<'_>, ticket_id: ID) -> Result<MyTicket, DeskError> {
        let a = actor(ctx)?;
        Ok(MyTicket(desk(ctx).request_human(a, parse_id(&ticket_id, "ticketId")?).await?))
    }
}
