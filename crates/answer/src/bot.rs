//! The bot in the ticket flow: every customer message committed on a channel it answers (the
//! portal, web chat, Discord, WhatsApp; read from the event stream, so every channel is served
//! the same way) gets a turn: an answer, a request for detail, or a handoff to staff. The desk
//! decides whether it may speak at all (`Desk::bot_context`: enabled, an active ticket no human
//! has taken over, no recent staff message) and writes its turn.
//!
//! It escalates, besides when it has no confident answer, when the customer asks for a human,
//! repeats a question it already took a turn on, stays vague after being asked for detail, or
//! writes in anger (capitals, angry words); and when the engine itself fails: a ticket never
//! waits on a broken model.

use std::time::Duration;

use switchboard_desk::domain::WorkspaceId;
use switchboard_desk::store::BotTurnRecord;
use switchboard_desk::{BotContext, BotTurn, BotWork, Desk, DeskError, HANDOFF_TEXT};

use crate::{AnswerEngine, AnswerSettings, Decision};

const ANGRY_WORDS: &[&str] =
    &["useless", "ridiculous", "terrible", "worst", "stupid", "awful", "angry", "furious", "unacceptable", "wtf"];

/// The answer settings the engine reads, from the workspace's record.
pub fn engine_settings(s: &switchboard_desk::store::AnswerSettingsRecord) -> AnswerSettings {
    AnswerSettings { confidence_threshold: s.confidence_threshold as f32 / 100.0, voice: s.voice.clone() }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The customer asks for a person: "human", "agent", "talk to someone", "a real person".
pub fn asks_for_human(text: &str) -> bool {
    let w = words(text);
    let has = |x: &str| w.iter().any(|v| v == x);
    has("human") || has("agent") || has("representative") || has("operator") || {
        let joined = w.join(" ");
        [
            "real person",
            "talk to someone",
            "speak to someone",
            "talk to a person",
            "speak to a person",
            "talk to somebody",
            "speak to somebody",
            "live person",
        ]
        .iter()
        .any(|p| joined.contains(p))
    }
}

/// Signs of anger: mostly capitals, angry words, several exclamation marks.
fn frustration(text: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    if letters.len() >= 12 && upper * 10 >= letters.len() * 7 {
        reasons.push("the message is written in capitals".to_string());
    }
    let w = words(text);
    if let Some(angry) = ANGRY_WORDS.iter().find(|a| w.iter().any(|v| v == *a)) {
        reasons.push(format!("the message says \"{angry}\""));
    }
    if text.matches('!').count() >= 3 {
        reasons.push("the message has several exclamation marks".into());
    }
    reasons
}

fn same_question(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (crate::question_terms(a), crate::question_terms(b));
    x.sort();
    y.sort();
    !x.is_empty() && x == y
}

/// The bot: one per process.
#[derive(Debug, Clone)]
pub struct Bot {
    engine: AnswerEngine,
}

impl Bot {
    /// A bot answering with `engine`.
    pub fn new(engine: AnswerEngine) -> Bot {
        Bot { engine }
    }

    fn desk(&self) -> &Desk {
        &self.engine.desk
    }

    /// Takes a turn on every customer message committed since the last call; returns the turns
    /// taken. A message whose turn fails is logged and left (the next messages still get theirs).
    pub async fn run_pending(&self) -> Result<Vec<BotTurnRecord>, DeskError> {
        let mut taken = Vec::new();
        loop {
            let (work, last) = self.desk().bot_pending().await?;
            for w in &work {
                match self.consider(w).await {
                    Ok(Some(t)) => taken.push(t),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, ticket = w.ticket_id.0, "the answer bot's turn failed"),
                }
            }
            match last {
                Some(l) => self.desk().bot_advance(l).await?,
                None => break,
            }
        }
        Ok(taken)
    }

    /// Runs [`Bot::run_pending`] every `every` until the process ends.
    pub async fn run(self, every: Duration) {
        loop {
            if let Err(e) = self.run_pending().await {
                tracing::warn!(error = %e, "the answer bot could not read new messages");
            }
            tokio::time::sleep(every).await;
        }
    }

    /// The bot's turn on one message, or `None` when it stays quiet.
    pub async fn consider(&self, work: &BotWork) -> Result<Option<BotTurnRecord>, DeskError> {
        let ctx = match self.desk().bot_context(work).await? {
            Ok(ctx) => ctx,
            Err(_quiet) => return Ok(None),
        };
        let turn = self.decide(work.workspace_id, &ctx).await;
        self.desk().record_bot_turn(&ctx, turn).await
    }

    async fn decide(&self, ws: WorkspaceId, ctx: &BotContext) -> BotTurn {
        let text = &ctx.entry.body;
        if asks_for_human(text) {
            return handoff(0.0, vec!["the customer asked for a human".into()]);
        }
        let angry = frustration(text);
        if !angry.is_empty() {
            return handoff(0.0, angry);
        }
        if ctx.earlier.iter().any(|b| same_question(&b.question, &ctx.question)) {
            return handoff(0.0, vec!["the customer asked the same question again".into()]);
        }
        let settings = engine_settings(&ctx.settings);
        let answer = match self.engine.answer(ws, &ctx.question, &settings).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "the answer engine failed; escalating");
                return handoff(0.0, vec!["the answer engine failed".into()]);
            }
        };
        let asked_before = ctx.earlier.last().is_some_and(|b| b.decision == "ask");
        match answer.decision {
            Decision::Answer => BotTurn {
                decision: "answer",
                confidence: answer.confidence,
                low_confidence: answer.confidence < settings.confidence_threshold + 0.1,
                reasons: answer.reasons,
                reply: answer.text,
                escalate: false,
            },
            Decision::Ask if !asked_before => BotTurn {
                decision: "ask",
                confidence: answer.confidence,
                reasons: answer.reasons,
                reply: answer.text,
                escalate: false,
                low_confidence: false,
            },
            Decision::Ask => {
                let mut reasons = answer.reasons;
                reasons.push("still unclear after asking for more detail".into());
                handoff(answer.confidence, reasons)
            }
            Decision::Escalate => handoff(answer.confidence, answer.reasons),
        }
    }
}

fn handoff(confidence: f32, reasons: Vec<String>) -> BotTurn {
    BotTurn {
        decision: "escalate",
        confidence,
        reasons,
        reply: Some(HANDOFF_TEXT.into()),
        escalate: true,
        low_confidence: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_a_person_and_anger_are_recognised() {
        assert!(asks_for_human("Can I talk to a human please"));
        assert!(asks_for_human("AGENT"));
        assert!(asks_for_human("I want to speak to someone"));
        assert!(!asks_for_human("How do I reset my password?"));
        assert!(!frustration("THIS IS RIDICULOUS, NOTHING WORKS").is_empty());
        assert!(frustration("How do I reset my password?").is_empty());
        assert!(same_question("How do I reset my password?", "reset password??"));
    }
}
