//! How text becomes terms: the same English analysis for indexing, queries and snippets, so a
//! word matches whatever form it was written in ("printers" finds "printer").

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, TokenStream,
};

/// The analyzer's name in the index.
pub(crate) const ANALYZER: &str = "sb_en";

/// Words split on anything but letters and digits, lowercased, English-stemmed. Words over 40
/// bytes are dropped (no one searches for them; they bloat the term dictionary).
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Words a query ignores: Lucene's English list plus the pronouns and politeness people write
/// into a search box ("my printer", "can you help"), which would otherwise have to appear in the
/// ticket too (every word of a query must match).
pub(crate) const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    "i", "me", "my", "we", "our", "you", "your", "he", "she", "his", "her", "its", "am", "do", "does", "did", "can",
    "could", "would", "should", "please", "hi", "hello", "thanks", "from", "have", "has", "had", "been",
];

/// One word of a query, as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    /// The stemmed, lowercased term.
    pub stem: String,
    /// How many typos may separate it from a stored term.
    pub typos: u8,
}

/// Typos allowed in a word of `chars` characters, as Meilisearch counts them: none under 5,
/// one from 5, two from 9.
pub fn typo_budget(chars: usize) -> u8 {
    match chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The terms of a query: English stop words dropped ("is", "the", "my" carry no meaning and
/// every ticket has them), at most [`crate::MAX_QUERY_WORDS`] words, duplicates once.
/// A query of only stop words keeps them, so it still finds what it says.
pub fn query_terms(text: &str) -> Vec<QueryTerm> {
    let text: String = text.chars().take(crate::MAX_QUERY_CHARS).collect();
    let words = |analyzer: &mut TextAnalyzer| {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(&text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    };
    let plain =
        || TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(40)).filter(LowerCaser);
    let all = words(&mut plain().build());
    let stop = StopWordFilter::remove(STOP_WORDS.iter().map(|w| w.to_string()));
    let kept = words(&mut plain().filter(stop).build());
    let meaningful = if kept.is_empty() { all } else { kept };
    let mut stemmer = analyzer();
    let mut out: Vec<QueryTerm> = Vec::new();
    for word in meaningful.into_iter().take(crate::MAX_QUERY_WORDS) {
        let mut s = stemmer.token_stream(&word);
        let stem = if s.advance() { s.token().text.clone() } else { continue };
        if out.iter().any(|t| t.stem == stem) {
            continue;
        }
        out.push(QueryTerm { typos: typo_budget(word.chars().count()), stem });
    }
    out
}

/// Edit distance counting a swap of two neighbouring letters as one (optimal string alignment),
/// or `None` when it is over `max`.
pub(crate) fn distance_within(a: &str, b: &str, max: u8) -> Option<u8> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let max = max as usize;
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut row_min = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
    }
    let v = d[a.len() * w + b.len()];
    (v <= max).then_some(v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_budget_follows_word_length() {
        assert_eq!(typo_budget(4), 0);
        assert_eq!(typo_budget(5), 1);
        assert_eq!(typo_budget(8), 1);
        assert_eq!(typo_budget(9), 2);
    }

    #[test]
    fn query_terms_stem_and_drop_stop_words() {
        let t = query_terms("My printers are jamming");
        let stems: Vec<&str> = t.iter().map(|t| t.stem.as_str()).collect();
        assert_eq!(stems, ["printer", "jam"]);
        assert_eq!(query_terms("the")[0].stem, "the");
    }

    #[test]
    fn distance_counts_a_swap_once() {
        assert_eq!(distance_within("reciev", "receiv", 1), Some(1));
        assert_eq!(distance_within("printer", "painter", 1), Some(1));
        assert_eq!(distance_within("printer", "pointed", 1), None);
    }
}
