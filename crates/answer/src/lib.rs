//! The answer engine: what the bot would say to a question, from the workspace's knowledge.
//!
//! It sits behind the desk: it reads knowledge through the desk's own search (scoped to the
//! question's workspace) and never writes. Retrieval (`retrieval.rs`) finds the passages and how
//! much of the question each covers; composition (`compose.rs`) makes the text, extractive
//! without a chat model and grounded in the passages with one (`llm.rs`). Every answer carries a
//! confidence and a decision (answer, ask for more detail, escalate); below the workspace's
//! threshold the bot escalates instead of guessing, and any failure of the model escalates too.
//!
//! Tips are not built yet: retrieval reads knowledge documents' chunks only.

mod bot;
mod compose;
pub mod llm;
mod retrieval;

use std::sync::Arc;

use switchboard_desk::domain::{Actor, WorkspaceId};
use switchboard_desk::{Desk, DeskError, KnowledgeHit};

pub use bot::{Bot, asks_for_human, engine_settings};
pub use compose::{MAX_EXCERPT_CHARS, excerpt, parse_model_answer};
pub use llm::{LlmClient, LlmConfig, LlmError};
pub use retrieval::question_terms;

/// The longest question taken, in characters.
pub const MAX_QUESTION_CHARS: usize = 4000;
/// Passages given to the chat model.
const MODEL_PASSAGES: usize = 5;
/// A question of one word is too vague to answer with more than this confidence.
const ONE_WORD_CAP: f32 = 0.6;

/// What the bot does with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sends the answer.
    Answer,
    /// Asks the customer for more detail.
    Ask,
    /// Hands the ticket to staff.
    Escalate,
}

/// Where a source comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A chunk of a knowledge document.
    Document,
    /// A tip (not built yet; never returned today).
    Tip,
}

/// A passage the answer was drawn from (or would have been), in ranked order.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: SourceKind,
    /// The document's id.
    pub id: i64,
    /// The chunk's id.
    pub chunk_id: i64,
    pub title: String,
    /// The headings above the passage, joined with " › " (none at the document's top).
    pub heading: Option<String>,
    pub excerpt: String,
    /// The share of the question this passage covers, 0 to 1.
    pub score: f32,
    /// The page it was synced from, for URL documents.
    pub link: Option<String>,
}

/// What the bot would do with a question.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The text it would send (an answer or a request for detail); `None` when it escalates.
    pub text: Option<String>,
    pub decision: Decision,
    /// 0 to 1: retrieval's coverage and agreement, averaged with the model's own judgement
    /// when a model answered.
    pub confidence: f32,
    /// Why, in words an admin reads in the Playground.
    pub reasons: Vec<String>,
    pub sources: Vec<Source>,
    /// Whether the chat model composed (or declined) this answer.
    pub by_model: bool,
}

/// A workspace's answer settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerSettings {
    /// Below this confidence (0 to 1) the bot escalates instead of answering.
    pub confidence_threshold: f32,
    /// A style instruction for the model's answers (unused by extractive answers).
    pub voice: String,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        AnswerSettings { confidence_threshold: 0.65, voice: String::new() }
    }
}

/// The text the bot sends to ask for more detail.
pub const ASK_TEXT: &str = "Could you tell me a bit more about what you need? For example, which product, page or \
step you are asking about, and what you see.";

/// The engine: one per process, shared by every workspace.
#[derive(Debug, Clone)]
pub struct AnswerEngine {
    desk: Desk,
    llm: Option<Arc<LlmClient>>,
}

impl AnswerEngine {
    /// An engine reading `desk`'s knowledge, composing with `llm` when given.
    pub fn new(desk: Desk, llm: Option<LlmClient>) -> AnswerEngine {
        AnswerEngine { desk, llm: llm.map(Arc::new) }
    }

    /// The chat model composing answers, when one is configured.
    pub fn model_name(&self) -> Option<&str> {
        self.llm.as_ref().map(|l| l.model())
    }

    /// What the bot would do with `question` in workspace `ws`. Errors only for a question
    /// that cannot be taken (empty, too long) or a search that failed; a model that fails makes
    /// an escalation, not an error.
    pub async fn answer(
        &self,
        ws: WorkspaceId,
        question: &str,
        settings: &AnswerSettings,
    ) -> Result<Answer, DeskError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(DeskError::invalid("question", "is empty"));
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(DeskError::invalid("question", format!("is longer than {MAX_QUESTION_CHARS} characters")));
        }
        let threshold = settings.confidence_threshold.clamp(0.0, 1.0);
        let terms = question_terms(question);
        if terms.is_empty() {
            return Ok(Answer {
                text: Some(ASK_TEXT.into()),
                decision: Decision::Ask,
                confidence: 0.0,
                reasons: vec!["the question names nothing to look up".into()],
                sources: Vec::new(),
                by_model: false,
            });
        }
        let candidates = retrieval::retrieve(&self.desk, ws, &terms).await?;
        let links = self.links(ws, &candidates).await;
        let sources: Vec<Source> = candidates.iter().map(|c| source(&c.hit, c.coverage, &terms, &links)).collect();
        let Some(best) = candidates.first() else {
            return Ok(escalate(
                0.0,
                vec!["nothing in the knowledge base matches the question".into()],
                sources,
                false,
            ));
        };
        let agreement = retrieval::agreement(&candidates);
        let mut confidence = best.coverage * (0.8 + 0.2 * agreement);
        let mut reasons = vec![format!(
            "the best passage covers {:.0}% of the question{}",
            best.coverage * 100.0,
            if agreement < 1.0 { "; another document's passage matches as well" } else { "" }
        )];
        if terms.len() == 1 && confidence > ONE_WORD_CAP {
            confidence = ONE_WORD_CAP;
            reasons.push("a one-word question is too vague to be sure".into());
        }
        match &self.llm {
            None => Ok(self.extractive(confidence, threshold, terms.len(), reasons, sources)),
            Some(llm) => {
                Ok(self.grounded(llm, question, &candidates, confidence, settings, terms.len(), reasons, sources).await)
            }
        }
    }

    fn extractive(
        &self,
        confidence: f32,
        threshold: f32,
        terms: usize,
        mut reasons: Vec<String>,
        sources: Vec<Source>,
    ) -> Answer {
        let decision = decide(confidence, threshold, terms);
        reasons.push(threshold_reason(confidence, threshold));
        let text = match decision {
            Decision::Answer => sources.first().map(|s| {
                let mut t = s.excerpt.clone();
                t.push_str("\n\nSource: ");
                t.push_str(&cite(s));
                t
            }),
            Decision::Ask => Some(ASK_TEXT.into()),
            Decision::Escalate => None,
        };
        Answer { text, decision, confidence, reasons, sources, by_model: false }
    }

    // The retrieval results and the reasons so far travel together from `answer`; a struct for one
    // private call would only rename them.
    #[allow(clippy::too_many_arguments)]
    async fn grounded(
        &self,
        llm: &LlmClient,
        question: &str,
        candidates: &[retrieval::Candidate],
        retrieval_confidence: f32,
        settings: &AnswerSettings,
        terms: usize,
        mut reasons: Vec<String>,
        sources: Vec<Source>,
    ) -> Answer {
        let threshold = settings.confidence_threshold.clamp(0.0, 1.0);
        let passages: Vec<compose::Passage> = candidates
            .iter()
            .take(MODEL_PASSAGES)
            .map(|c| compose::Passage { title: title_of(&c.hit), text: c.hit.chunk.text.clone() })
            .collect();
        let system = compose::system_prompt(&settings.voice);
        let user = compose::user_prompt(&passages, question);
        let reply = match llm.complete(&system, &user).await {
            Ok(r) => r,
            Err(e) => {
                reasons.push(e.to_string());
                return escalate(retrieval_confidence, reasons, sources, true);
            }
        };
        let model = match parse_model_answer(&reply, passages.len()) {
            Ok(m) => m,
            Err(why) => {
                reasons.push(format!("the model's reply was rejected: {why}"));
                return escalate(retrieval_confidence, reasons, sources, true);
            }
        };
        let confidence = (retrieval_confidence + model.confidence) / 2.0;
        reasons.push(format!("the model's own confidence is {:.0}%", model.confidence * 100.0));
        if model.decline {
            reasons.push("the model declined: the passages do not answer the question".into());
            return escalate(confidence, reasons, sources, true);
        }
        if model.requires_escalation {
            reasons.push("the model asked for a human".into());
            return escalate(confidence, reasons, sources, true);
        }
        let decision = decide(confidence, threshold, terms);
        reasons.push(threshold_reason(confidence, threshold));
        let text = match decision {
            Decision::Answer => {
                let cited: Vec<String> = model.citations.iter().filter_map(|i| sources.get(*i)).map(cite).collect();
                Some(format!("{}\n\nSources: {}", model.answer, cited.join("; ")))
            }
            Decision::Ask => Some(ASK_TEXT.into()),
            Decision::Escalate => None,
        };
        Answer { text, decision, confidence, reasons, sources, by_model: true }
    }

    /// The pages URL documents were synced from, by document id (none when they cannot be read:
    /// a link is a courtesy, not worth failing the answer for).
    async fn links(&self, ws: WorkspaceId, candidates: &[retrieval::Candidate]) -> Vec<(i64, String)> {
        if !candidates.iter().any(|c| c.hit.chunk.document_origin == "url") {
            return Vec::new();
        }
        match self.desk.knowledge_sources(&Actor::system(ws)).await {
            Ok(sources) => {
                sources.into_iter().filter_map(|s| s.source.document_id.map(|d| (d, s.source.url))).collect()
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading knowledge source links failed");
                Vec::new()
            }
        }
    }
}

fn decide(confidence: f32, threshold: f32, terms: usize) -> Decision {
    if confidence >= threshold {
        Decision::Answer
    } else if terms <= 1 {
        Decision::Ask
    } else {
        Decision::Escalate
    }
}

fn threshold_reason(confidence: f32, threshold: f32) -> String {
    let side = if confidence >= threshold { "at or above" } else { "below" };
    format!("confidence {:.0}% is {side} the workspace's threshold of {:.0}%", confidence * 100.0, threshold * 100.0)
}

fn escalate(confidence: f32, reasons: Vec<String>, sources: Vec<Source>, by_model: bool) -> Answer {
    Answer { text: None, decision: Decision::Escalate, confidence, reasons, sources, by_model }
}

fn title_of(hit: &KnowledgeHit) -> String {
    let mut t = hit.chunk.document_title.clone();
    for h in &hit.heading_path {
        t.push_str(" › ");
        t.push_str(h);
    }
    t
}

fn cite(s: &Source) -> String {
    let mut t = s.title.clone();
    if let Some(h) = &s.heading {
        t.push_str(" › ");
        t.push_str(h);
    }
    if let Some(link) = &s.link {
        t.push_str(&format!(" ({link})"));
    }
    t
}

fn source(hit: &KnowledgeHit, coverage: f32, terms: &[String], links: &[(i64, String)]) -> Source {
    Source {
        kind: SourceKind::Document,
        id: hit.chunk.document_id,
        chunk_id: hit.chunk.id,
        title: hit.chunk.document_title.clone(),
        heading: (!hit.heading_path.is_empty()).then(|| hit.heading_path.join(" › ")),
        excerpt: excerpt(&hit.chunk.text, terms),
        score: coverage,
        link: links.iter().find(|(d, _)| *d == hit.chunk.document_id).map(|(_, u)| u.clone()),
    }
}
