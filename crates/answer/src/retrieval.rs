//! Retrieval: the passages of the workspace's knowledge that bear on a question, and how much of
//! the question each covers.
//!
//! The search layer requires every query word (`matchingStrategy: all`), which suits a search
//! box but not a customer's sentence: one word the knowledge never uses would hide the passage
//! that answers the rest. So the whole question is searched first (its hits cover every word);
//! when that finds nothing, each word is searched alone and the passages are ranked by how much
//! of the question they cover, each word weighted by how rare it is in the knowledge base (a
//! word no passage has weighs most: a question about "Mars" is not answered by a passage about
//! shipping). Coverage, not the engine's BM25 score (unbounded, not comparable between
//! questions), is what confidence is built on.

use std::collections::HashMap;

use switchboard_desk::domain::{Actor, WorkspaceId};
use switchboard_desk::{Desk, DeskError, KnowledgeHit};

/// Hits asked for the whole question.
const WHOLE_LIMIT: usize = 10;
/// Hits asked for each word alone (a word's rarity is counted from these).
const WORD_LIMIT: usize = 50;

/// Words that say nothing about what is asked, beyond the search layer's own stop words:
/// question words and the politeness around a question.
const QUESTION_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    "i", "me", "my", "we", "our", "you", "your", "he", "she", "his", "her", "its", "am", "do", "does", "did", "can",
    "could", "would", "should", "please", "hi", "hello", "thanks", "from", "have", "has", "had", "been", "how", "what",
    "why", "when", "where", "who", "which", "whom", "hey", "hiya", "team", "question", "quick", "need", "want",
    "wanted", "help", "know", "tell", "thank", "thx", "ok", "okay", "just", "also", "any", "some", "is", "get",
    "there", "way", "anyone", "someone", "lot", "much", "many", "so", "very", "really", "still", "us", "im", "ive",
    "dont", "cant", "wont", "m", "s", "t", "ll", "re", "ve", "d", "able", "possible", "there's", "it's", "about",
    "again", "all", "here", "one", "out", "up", "yes", "yeah", "sir", "madam", "guys", "folks", "support",
];

/// The words of a question that are worth searching for, lowercased, at most ten, each once.
pub fn question_terms(question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in question.split(|c: char| !c.is_alphanumeric()) {
        let w = word.to_lowercase();
        if w.is_empty() || w.chars().count() > 40 || QUESTION_WORDS.contains(&w.as_str()) {
            continue;
        }
        if !out.contains(&w) {
            out.push(w);
        }
        if out.len() == switchboard_desk::search_layer::MAX_QUERY_WORDS {
            break;
        }
    }
    out
}

/// A passage found for a question.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub hit: KnowledgeHit,
    /// The share of the question's weight this passage matches, 0 to 1.
    pub coverage: f32,
    /// The engine's score (summed over the words it matched when searched word by word).
    pub score: f32,
}

/// The passages bearing on `terms` in `ws`, best first.
pub async fn retrieve(desk: &Desk, ws: WorkspaceId, terms: &[String]) -> Result<Vec<Candidate>, DeskError> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    // The system actor of the question's workspace: the engine reads only that workspace's
    // knowledge, through the desk's own search.
    let actor = Actor::system(ws);
    let whole = desk.knowledge_search(&actor, &terms.join(" "), WHOLE_LIMIT).await?;
    if !whole.is_empty() || terms.len() == 1 {
        return Ok(whole.into_iter().map(|hit| Candidate { score: hit.score, coverage: 1.0, hit }).collect());
    }
    let mut weights = Vec::with_capacity(terms.len());
    let mut found: HashMap<i64, (KnowledgeHit, f32, Vec<usize>)> = HashMap::new();
    for (i, term) in terms.iter().enumerate() {
        let hits = desk.knowledge_search(&actor, term, WORD_LIMIT).await?;
        // Rarer words say more about what is asked; a word found nowhere weighs 1.
        weights.push(1.0 / (std::f32::consts::E + hits.len() as f32).ln());
        for hit in hits {
            let e = found.entry(hit.chunk.id).or_insert_with(|| (hit.clone(), 0.0, Vec::new()));
            e.1 += hit.score;
            e.2.push(i);
        }
    }
    let total: f32 = weights.iter().sum();
    let mut out: Vec<Candidate> = found
        .into_values()
        .map(|(hit, score, matched)| {
            let covered: f32 = matched.iter().map(|i| weights[*i]).sum();
            Candidate { hit, score, coverage: if total > 0.0 { covered / total } else { 0.0 } }
        })
        .collect();
    out.sort_by(|a, b| b.coverage.total_cmp(&a.coverage).then(b.score.total_cmp(&a.score)));
    out.truncate(WHOLE_LIMIT);
    Ok(out)
}

/// How far the best passage stands apart: 1 when it is clearly the best or the next one is from
/// the same document, 0.5 when another document's passage is as good (the question could be
/// about either).
pub fn agreement(candidates: &[Candidate]) -> f32 {
    match candidates {
        [first, second, ..] => {
            let same_document = first.hit.chunk.document_id == second.hit.chunk.document_id;
            let tie = (first.coverage - second.coverage).abs() < 0.01 && second.score >= 0.9 * first.score;
            if tie && !same_document { 0.5 } else { 1.0 }
        }
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_words_and_politeness_are_not_searched_for() {
        assert_eq!(question_terms("Hi team! How do I reset my password, please?"), ["reset", "password"]);
        assert_eq!(question_terms("refund refund REFUND"), ["refund"]);
        assert!(question_terms("hello?").is_empty());
        let long = "one two three four five six seven eight nine ten eleven twelve";
        assert_eq!(question_terms(long).len(), 10);
    }
}
