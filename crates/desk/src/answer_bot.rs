//! The answer bot's side of the desk: its settings (Settings → AI & voice), the customer
//! messages it has to consider (read from the event stream behind its own cursor), when it must
//! stay quiet, and its turns: its reply (an entry of the "Answer bot", never a first response),
//! its escalation, and the record of both that the knowledge gaps list reads.
//!
//! The answer engine (`switchboard-answer`) decides what to say; the desk decides whether the
//! bot may speak at all, and writes what it said. A requester's "Request human" is here too.

use switchboard_domain::*;
use switchboard_store::{AnswerSettingsRecord, BotTurnRecord, EntryRecord, NewBotTurn, StreamPosition, TicketRecord};

use crate::{Desk, DeskError, TicketPatch, require};

/// How the bot is named in threads and history.
pub const BOT_LABEL: &str = "Answer bot";
/// The longest voice and tone instruction.
pub const MAX_VOICE_CHARS: usize = 1000;
/// The longest staff reply cooldown, in minutes (a day).
pub const MAX_COOLDOWN_MINUTES: i64 = 1440;
/// The most knowledge gaps listed.
pub const MAX_GAPS: i64 = 200;
const CURSOR: &str = "answer-bot";
const EVENTS_PER_ROUND: i64 = 200;
/// What the bot posts when it hands a ticket to staff.
pub const HANDOFF_TEXT: &str = "I've passed your question to our support team; someone will reply here soon.";

/// The bot's actor in a workspace: the system, named as the bot.
pub fn bot_actor(ws: WorkspaceId) -> Actor {
    Actor { workspace_id: ws, kind: ActorKind::System, label: BOT_LABEL.into() }
}

/// Settings → AI & voice, as an admin saves them.
#[derive(Debug, Clone)]
pub struct AnswerSettingsInput {
    pub bot_enabled: bool,
    /// Percent, 0 to 100.
    pub confidence_threshold: i64,
    pub voice: String,
    /// 0 to [`MAX_COOLDOWN_MINUTES`].
    pub staff_reply_cooldown_minutes: i64,
}

/// A customer message committed since the bot last looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotWork {
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    /// `None` for a ticket just opened: its opening message.
    pub entry_id: Option<EntryId>,
}

/// Why the bot stays quiet on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotQuiet {
    Disabled,
    /// Not a requester's public message on a channel the bot answers.
    NotACustomerMessage,
    /// Resolved or closed.
    TicketNotActive,
    /// Escalated, or claimed by staff: a human has taken over.
    HumanTookOver,
    /// A staff message is more recent than the cooldown.
    StaffCooldown,
    /// Considered before.
    AlreadyConsidered,
}

/// A message the bot may answer, with what it needs to.
#[derive(Debug, Clone)]
pub struct BotContext {
    pub ticket: TicketRecord,
    pub entry: EntryRecord,
    pub settings: AnswerSettingsRecord,
    /// The bot's earlier turns on this ticket, oldest first.
    pub earlier: Vec<BotTurnRecord>,
    /// The question: the message, after the subject when it opens the ticket.
    pub question: String,
}

/// What the bot decided about one message.
#[derive(Debug, Clone)]
pub struct BotTurn {
    /// `answer`, `ask` or `escalate`.
    pub decision: &'static str,
    /// 0 to 1.
    pub confidence: f32,
    pub reasons: Vec<String>,
    /// What it says in the thread, if anything.
    pub reply: Option<String>,
    /// Hands the ticket to staff.
    pub escalate: bool,
    /// The answer went out on weak support: a low-confidence quality flag.
    pub low_confidence: bool,
}

fn validate(input: &AnswerSettingsInput) -> Result<(), DeskError> {
    if !(0..=100).contains(&input.confidence_threshold) {
        return Err(DeskError::invalid("confidenceThreshold", "must be a percentage from 0 to 100"));
    }
    if input.voice.chars().count() > MAX_VOICE_CHARS {
        return Err(DeskError::invalid("voice", format!("is longer than {MAX_VOICE_CHARS} characters")));
    }
    if input.voice.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DeskError::invalid("voice", "holds control characters"));
    }
    if !(0..=MAX_COOLDOWN_MINUTES).contains(&input.staff_reply_cooldown_minutes) {
        return Err(DeskError::invalid(
            "staffReplyCooldownMinutes",
            format!("must be from 0 to {MAX_COOLDOWN_MINUTES} minutes"),
        ));
    }
    Ok(())
}

/// Whether the bot answers this message: on a conversational channel (see
/// [`Channel::answer_bot_replies`]), or on the web when the ticket began as a chat.
fn bot_answers_on(t: &TicketRecord, e: &EntryRecord) -> bool {
    e.channel.answer_bot_replies() || (e.channel == Channel::Web && t.chat_originated)
}

impl Desk {
    /// The workspace's answer settings (defaults when never saved). Staff only.
    pub async fn answer_settings(&self, actor: &Actor) -> Result<AnswerSettingsRecord, DeskError> {
        crate::knowledge::read_access(actor)?;
        self.answer_settings_of(actor.workspace_id).await
    }

    /// A workspace's answer settings, for the bot and the Playground (their callers checked who asks).
    pub async fn answer_settings_of(&self, ws: WorkspaceId) -> Result<AnswerSettingsRecord, DeskError> {
        let mut tx = self.store().read().await?;
        Ok(tx.answer_settings(ws).await?.unwrap_or_else(|| AnswerSettingsRecord::defaults(ws)))
    }

    /// Saves Settings → AI & voice. Admins only.
    pub async fn save_answer_settings(
        &self,
        actor: &Actor,
        input: AnswerSettingsInput,
    ) -> Result<AnswerSettingsRecord, DeskError> {
        require(actor, Permission::Admin)?;
        validate(&input)?;
        let s = AnswerSettingsRecord {
            workspace_id: actor.workspace_id,
            bot_enabled: input.bot_enabled,
            confidence_threshold: input.confidence_threshold,
            voice: input.voice.trim().to_string(),
            staff_reply_cooldown_minutes: input.staff_reply_cooldown_minutes,
            updated_at: self.now(),
        };
        let mut tx = self.store().write().await?;
        tx.save_answer_settings(&s).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// The customer messages committed since the bot's cursor (tickets opened, public entries),
    /// and the position to move the cursor to once they are handled. A bot that never ran starts
    /// at the stream's head: it does not answer the past.
    pub async fn bot_pending(&self) -> Result<(Vec<BotWork>, Option<StreamPosition>), DeskError> {
        let mut tx = self.store().read().await?;
        if !tx.stream_cursor_exists(CURSOR).await? {
            let head = tx.stream_head().await?;
            drop(tx);
            let mut w = self.store().write().await?;
            w.set_stream_cursor(CURSOR, head).await?;
            w.commit().await?;
            return Ok((Vec::new(), None));
        }
        let after = tx.stream_cursor(CURSOR).await?;
        let events = tx.events_after(after, EVENTS_PER_ROUND).await?;
        let last = events.last().map(|e| e.position());
        let mut work = Vec::new();
        for e in &events {
            let Some(ticket_id) = e.ticket_id else { continue };
            let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
            let entry_id = match e.kind {
                EventKind::TicketOpened => None,
                EventKind::EntryCreated if payload.get("public").and_then(|p| p.as_bool()) == Some(true) => {
                    match payload.get("entryId").and_then(|i| i.as_i64()) {
                        Some(id) => Some(EntryId(id)),
                        None => continue,
                    }
                }
                _ => continue,
            };
            work.push(BotWork { workspace_id: e.workspace_id, ticket_id, entry_id });
        }
        Ok((work, last))
    }

    /// How many committed events the bot has not read yet. On PostgreSQL some may be waiting for
    /// older transactions to end before they can be read.
    pub async fn bot_backlog(&self) -> Result<u64, DeskError> {
        let mut tx = self.store().read().await?;
        let after = tx.stream_cursor(CURSOR).await?;
        Ok(u64::try_from(tx.events_behind(after).await?).unwrap_or(0))
    }

    /// Moves the bot's cursor past handled events.
    pub async fn bot_advance(&self, to: StreamPosition) -> Result<(), DeskError> {
        let mut tx = self.store().write().await?;
        tx.set_stream_cursor(CURSOR, to).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the bot may answer this message, and what it needs to; or why it stays quiet.
    pub async fn bot_context(&self, work: &BotWork) -> Result<Result<BotContext, BotQuiet>, DeskError> {
        let ws = work.workspace_id;
        let mut tx = self.store().read().await?;
        let settings = tx.answer_settings(ws).await?.unwrap_or_else(|| AnswerSettingsRecord::defaults(ws));
        if !settings.bot_enabled {
            return Ok(Err(BotQuiet::Disabled));
        }
        let Some(t) = tx.ticket_by_id(ws, work.ticket_id).await? else {
            return Ok(Err(BotQuiet::NotACustomerMessage));
        };
        let entries = tx.list_entries(ws, t.id, false).await?;
        let entry = match work.entry_id {
            Some(id) => entries.iter().find(|e| e.id == id),
            None => entries.iter().find(|e| e.kind == EntryKind::Reply),
        };
        let Some(entry) = entry.cloned() else { return Ok(Err(BotQuiet::NotACustomerMessage)) };
        if entry.kind != EntryKind::Reply
            || entry.author_contact_id != Some(t.requester_id)
            || !bot_answers_on(&t, &entry)
        {
            return Ok(Err(BotQuiet::NotACustomerMessage));
        }
        if !t.status.is_active() {
            return Ok(Err(BotQuiet::TicketNotActive));
        }
        if t.escalated || t.assignee_id.is_some() {
            return Ok(Err(BotQuiet::HumanTookOver));
        }
        let last_staff = entries.iter().filter(|e| e.author_user_id.is_some()).map(|e| e.created_at).max();
        if let Some(at) = last_staff
            && self.now() < at + settings.staff_reply_cooldown_minutes * 60_000
        {
            return Ok(Err(BotQuiet::StaffCooldown));
        }
        let earlier = tx.bot_turns_of_ticket(ws, t.id).await?;
        if earlier.iter().any(|b| b.entry_id == entry.id) {
            return Ok(Err(BotQuiet::AlreadyConsidered));
        }
        let opening = entries.iter().find(|e| e.kind == EntryKind::Reply).map(|e| e.id) == Some(entry.id);
        let question = if opening && !entry.body.contains(t.subject.trim()) {
            format!("{}\n{}", t.subject, entry.body)
        } else {
            entry.body.clone()
        };
        Ok(Ok(BotContext { ticket: t, entry, settings, earlier, question }))
    }

    /// Writes the bot's turn on a message: the record (once per message: a second call for the
    /// same message does nothing and returns `None`), its reply as the bot, and the escalation
    /// with its reasons on the `ticket.escalated` event. The reply never stamps the first response.
    pub async fn record_bot_turn(&self, ctx: &BotContext, turn: BotTurn) -> Result<Option<BotTurnRecord>, DeskError> {
        let t = &ctx.ticket;
        let ws = t.workspace_id;
        let bot = bot_actor(ws);
        let mut tx = self.store().write().await?;
        let new = NewBotTurn {
            workspace_id: ws,
            ticket_id: t.id,
            entry_id: ctx.entry.id,
            question: ctx.question.chars().take(4000).collect(),
            decision: turn.decision.to_string(),
            confidence: (turn.confidence.clamp(0.0, 1.0) * 100.0).round() as i64,
            reasons: serde_json::to_string(&turn.reasons).unwrap_or_else(|_| "[]".into()),
            created_at: self.now(),
        };
        let Some(id) = tx.insert_bot_turn(&new).await? else { return Ok(None) };
        let mut events = Vec::new();
        if let Some(text) = &turn.reply {
            let (entry, live_events) = self.reply_in(&mut tx, &bot, t.id, text, &[], None).await?;
            tx.set_bot_turn_reply(ws, id, entry.entry.id).await?;
            events.extend(live_events);
        }
        if turn.low_confidence {
            let reason = format!("answered with {}% confidence", new.confidence);
            tx.insert_quality_flag(ws, t.id, QualityFlagKind::LowConfidence, &reason, self.now()).await?;
        }
        let record = tx.bot_turns_of_ticket(ws, t.id).await?.into_iter().find(|b| b.id == id);
        tx.commit().await?;
        self.publish(events);
        if turn.escalate {
            let reason = format!("{BOT_LABEL}: {}", turn.reasons.join("; "));
            let patch = TicketPatch {
                escalated: Some(true),
                escalation_reason: Some(reason.chars().take(500).collect()),
                ..TicketPatch::default()
            };
            self.update_ticket(&bot, t.id, patch).await?;
        }
        Ok(record)
    }

    /// A requester's "Request human": the ticket is escalated for staff, and the bot stays quiet
    /// on it from then on. The requester's own tickets only.
    pub async fn request_human(&self, actor: &Actor, ticket: TicketId) -> Result<TicketRecord, DeskError> {
        let Some(requester) = actor.requester_scope() else {
            return Err(DeskError::Forbidden("only the ticket's requester asks for a human".into()));
        };
        let mut tx = self.store().read().await?;
        let t = self.visible_ticket(&mut tx, actor, ticket).await?;
        drop(tx);
        if t.requester_id != requester {
            return Err(DeskError::NotFound("ticket"));
        }
        if !t.status.is_active() {
            return Err(DeskError::invalid("ticketId", "the ticket is not open; reply to reopen it"));
        }
        if t.escalated {
            return Ok(t);
        }
        let patch = TicketPatch {
            escalated: Some(true),
            escalation_reason: Some("the requester asked for a human".into()),
            ..TicketPatch::default()
        };
        self.update_ticket(&bot_actor(t.workspace_id), t.id, patch).await
    }

    /// The bot's turns on a ticket, oldest first. Staff only.
    pub async fn bot_turns(&self, actor: &Actor, ticket: TicketId) -> Result<Vec<BotTurnRecord>, DeskError> {
        crate::knowledge::read_access(actor)?;
        let mut tx = self.store().read().await?;
        let t = self.visible_ticket(&mut tx, actor, ticket).await?;
        Ok(tx.bot_turns_of_ticket(actor.workspace_id, t.id).await?)
    }

    /// Which of a ticket's entries the bot wrote (the thread shows them as the bot's).
    pub async fn bot_entries(&self, actor: &Actor, entries: &[EntryId]) -> Result<Vec<EntryId>, DeskError> {
        let mut tx = self.store().read().await?;
        Ok(tx.bot_entries(actor.workspace_id, entries).await?)
    }

    /// Knowledge gaps: questions the bot escalated, not dismissed, newest first. Staff only.
    pub async fn knowledge_gaps(&self, actor: &Actor) -> Result<Vec<BotTurnRecord>, DeskError> {
        crate::knowledge::read_access(actor)?;
        Ok(self.store().read().await?.knowledge_gaps(actor.workspace_id, MAX_GAPS).await?)
    }

    /// Marks knowledge gaps out of scope: they leave the list. Admins only.
    pub async fn dismiss_knowledge_gaps(&self, actor: &Actor, ids: &[i64]) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        if ids.is_empty() || ids.len() > MAX_GAPS as usize {
            return Err(DeskError::invalid("ids", format!("name between 1 and {MAX_GAPS} knowledge gaps")));
        }
        let mut tx = self.store().write().await?;
        if !tx.dismiss_knowledge_gaps(actor.workspace_id, ids, self.now()).await? {
            return Err(DeskError::NotFound("knowledge gap"));
        }
        tx.commit().await?;
        Ok(())
    }
}
