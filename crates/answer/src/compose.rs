//! Composition: the text the bot sends, extractive (the best passage trimmed to the question) or
//! from the chat model (grounded in the numbered passages, citing them, or declining).

use serde_json::Value;

/// The longest extractive excerpt, in characters.
pub const MAX_EXCERPT_CHARS: usize = 600;
/// The longest answer taken from the model, in characters.
pub const MAX_MODEL_ANSWER_CHARS: usize = 4000;

/// A word's crude stem, so "passwords" meets "password" and "resetting" meets "reset".
fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(s) = w.strip_suffix(suffix)
            && s.chars().count() >= 3
        {
            return s.to_string();
        }
    }
    w
}

fn matches(term: &str, word: &str) -> bool {
    let (t, w) = (stem(term), stem(word));
    t == w || (t.len() >= 4 && w.starts_with(&t)) || (w.len() >= 4 && t.starts_with(&w))
}

/// Sentences (and lines) of a passage, with their byte ranges.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end_of_sentence = matches!(c, '.' | '?' | '!') && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace());
        if c == '\n' || end_of_sentence {
            let piece = text[start..=i].trim();
            if !piece.is_empty() {
                out.push(piece);
            }
            start = i + c.len_utf8();
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The passage trimmed to the question: the sentence that matches most of `terms`, and what
/// follows it (steps usually come after the sentence that names the task), up to
/// [`MAX_EXCERPT_CHARS`]. A short passage is kept whole.
pub fn excerpt(text: &str, terms: &[String]) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_EXCERPT_CHARS {
        return text.to_string();
    }
    let pieces = sentences(text);
    let score = |s: &str| {
        let words: Vec<&str> = s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        terms.iter().filter(|t| words.iter().any(|w| matches(t, w))).count()
    };
    let best = (0..pieces.len()).max_by_key(|i| (score(pieces[*i]), usize::MAX - i)).unwrap_or(0);
    let mut out = String::new();
    for piece in &pieces[best..] {
        let len = out.chars().count() + piece.chars().count() + 1;
        if !out.is_empty() && len > MAX_EXCERPT_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(if piece.starts_with(['-', '*', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
                '\n'
            } else {
                ' '
            });
        }
        out.push_str(piece);
    }
    if out.chars().count() > MAX_EXCERPT_CHARS {
        out = out.chars().take(MAX_EXCERPT_CHARS - 1).collect::<String>() + "…";
    }
    out
}

/// A passage as the model reads it.
#[derive(Debug, Clone)]
pub struct Passage {
    pub title: String,
    pub text: String,
}

/// The system prompt: answer from the passages only, cite them, decline otherwise, in the
/// workspace's voice.
pub fn system_prompt(voice: &str) -> String {
    let mut p = String::from(
        "You are a customer support assistant. Answer the customer's question using ONLY the numbered \
         passages you are given; never use other knowledge, never guess. Cite every passage you used by its \
         number. If the passages do not answer the question, decline. If the customer asks for something \
         only a human can do (refunds, account changes) or is upset, set requiresEscalation.\n\
         Reply with one JSON object and nothing else: {\"answer\": string, \"citations\": [passage numbers], \
         \"confidence\": number from 0 to 1 (how sure you are the passages answer the question), \
         \"decline\": boolean, \"requiresEscalation\": boolean}.",
    );
    let voice = voice.trim();
    if !voice.is_empty() {
        p.push_str("\nVoice and tone for the answer (a style instruction only; it never overrides the rules above): ");
        p.push_str(voice);
    }
    p
}

/// The user turn: the numbered passages, then the question.
pub fn user_prompt(passages: &[Passage], question: &str) -> String {
    let mut p = String::from("Passages:\n");
    for (i, s) in passages.iter().enumerate() {
        p.push_str(&format!("[{}] {}\n{}\n\n", i + 1, s.title, s.text));
    }
    p.push_str("Question: ");
    p.push_str(question);
    p
}

/// What the model said, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    pub answer: String,
    /// 0-based indexes of the passages cited.
    pub citations: Vec<usize>,
    pub confidence: f32,
    pub decline: bool,
    pub requires_escalation: bool,
}

/// Reads the model's reply. Refused (with the reason) when it is not the JSON asked for, cites a
/// passage it was not given, or answers without citing any.
pub fn parse_model_answer(content: &str, passages: usize) -> Result<ModelAnswer, String> {
    let trimmed = content.trim();
    // Models often fence JSON in Markdown even when told not to.
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let v: Value =
        serde_json::from_str(unfenced).map_err(|_| "the model did not reply with the JSON asked for".to_string())?;
    let decline = v.get("decline").and_then(Value::as_bool).unwrap_or(false);
    let requires_escalation = v.get("requiresEscalation").and_then(Value::as_bool).unwrap_or(false);
    let confidence = v.get("confidence").and_then(Value::as_f64).unwrap_or(0.0).clamp(0.0, 1.0) as f32;
    let answer = v.get("answer").and_then(Value::as_str).unwrap_or_default().trim().to_string();
    let mut citations = Vec::new();
    for c in v.get("citations").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let n = c.as_u64().or_else(|| c.as_str().and_then(|s| s.trim_matches(['[', ']']).parse().ok()));
        match n {
            Some(n) if n >= 1 && (n as usize) <= passages => {
                if !citations.contains(&(n as usize - 1)) {
                    citations.push(n as usize - 1);
                }
            }
            _ => return Err(format!("the model cited passage {c}, which was not retrieved")),
        }
    }
    if !decline && !requires_escalation {
        if answer.is_empty() {
            return Err("the model gave an empty answer".into());
        }
        if citations.is_empty() {
            return Err("the model answered without citing a passage".into());
        }
        if answer.chars().count() > MAX_MODEL_ANSWER_CHARS {
            return Err(format!("the model's answer is longer than {MAX_MODEL_ANSWER_CHARS} characters"));
        }
    }
    Ok(ModelAnswer { answer, citations, confidence, decline, requires_escalation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excerpt_starts_at_the_sentence_that_answers() {
        let filler = "Our company was founded long ago and serves many customers in many countries. ".repeat(6);
        let text = format!(
            "{filler}To reset your password, open Settings and choose Reset. A link arrives by email. {filler}"
        );
        let terms = vec!["reset".to_string(), "password".to_string()];
        let e = excerpt(&text, &terms);
        assert!(e.starts_with("To reset your password"), "{e}");
        assert!(e.contains("A link arrives by email."), "{e}");
        assert!(e.chars().count() <= MAX_EXCERPT_CHARS);
        assert_eq!(excerpt("Short passage.", &terms), "Short passage.");
    }

    #[test]
    fn a_model_reply_citing_an_unretrieved_passage_is_refused() {
        let ok = parse_model_answer(r#"{"answer":"Open Settings.","citations":[1],"confidence":0.9}"#, 2).unwrap();
        assert_eq!(ok.citations, [0]);
        let fenced = "```json\n{\"answer\":\"x\",\"citations\":[2],\"confidence\":0.5}\n```";
        assert_eq!(parse_model_answer(fenced, 2).unwrap().citations, [1]);
        let bad = parse_model_answer(r#"{"answer":"x","citations":[3],"confidence":0.9}"#, 2).unwrap_err();
        assert!(bad.contains("passage 3"), "{bad}");
        let uncited = parse_model_answer(r#"{"answer":"x","citations":[],"confidence":0.9}"#, 2).unwrap_err();
        assert!(uncited.contains("without citing"), "{uncited}");
        assert!(parse_model_answer("Sure! Open Settings.", 2).is_err());
        let declined =
            parse_model_answer(r#"{"answer":"","citations":[],"confidence":0.1,"decline":true}"#, 2).unwrap();
        assert!(declined.decline);
    }
}
