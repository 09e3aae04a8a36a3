//! Where a document matched: a short excerpt of one field with the matched words marked.
//!
//! Built here from the stored text with the query's own terms (typos included), not by the
//! engine's highlighter, so both engines mark the same words and a typo'd query still shows
//! where it matched.

use tantivy::tokenizer::TokenStream;

use crate::analysis::{QueryTerm, analyzer, distance_within};
use crate::{Field, SearchDoc};

/// About how long an excerpt is, in bytes.
const WINDOW: usize = 160;
/// How much text to keep before the first match, in bytes.
const LEAD: usize = 40;

/// A piece of an excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub text: String,
    /// A matched word.
    pub highlighted: bool,
}

/// An excerpt of one field around its best matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The field it comes from.
    pub field: Field,
    /// The excerpt in order; "…" marks text left out at either end.
    pub fragments: Vec<Fragment>,
}

impl Snippet {
    /// The excerpt as plain text.
    pub fn text(&self) -> String {
        self.fragments.iter().map(|f| f.text.as_str()).collect()
    }

    /// The marked words, in order.
    pub fn highlights(&self) -> Vec<&str> {
        self.fragments.iter().filter(|f| f.highlighted).map(|f| f.text.as_str()).collect()
    }
}

/// Byte ranges of the words in `text` that match a term.
fn matches(text: &str, terms: &[QueryTerm]) -> Vec<(usize, usize)> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        if terms
            .iter()
            .any(|q| q.stem == t.text || (q.typos > 0 && distance_within(&t.text, &q.stem, q.typos).is_some()))
        {
            out.push((t.offset_from, t.offset_to));
        }
    }
    out
}

/// The best excerpt of the first field (of `fields`, in snippet order) where a term matches.
pub(crate) fn best_snippet(doc: &SearchDoc, fields: &[Field], terms: &[QueryTerm]) -> Option<Snippet> {
    for field in Field::SNIPPET_ORDER.iter().filter(|f| fields.contains(f)) {
        let text = field.of(doc);
        let found = matches(text, terms);
        if found.is_empty() {
            continue;
        }
        // The window holding the most matches (the most distinct terms first), starting at a match.
        let mut best = (0usize, 0usize, 0usize);
        for (i, &(start, _)) in found.iter().enumerate() {
            let inside: Vec<&(usize, usize)> =
                found[i..].iter().take_while(|(_, end)| *end <= start + WINDOW).collect();
            let distinct = {
                let mut words: Vec<String> = inside.iter().map(|(s, e)| text[*s..*e].to_lowercase()).collect();
                words.sort();
                words.dedup();
                words.len()
            };
            if (distinct, inside.len()) > (best.1, best.2) {
                best = (i, distinct, inside.len());
            }
        }
        let first = found[best.0].0;
        let from = floor_boundary(text, first.saturating_sub(LEAD));
        let from = word_start(text, from, first);
        let to = ceil_boundary(text, (from + WINDOW).max(found[best.0].1).min(text.len()));
        let to = word_end(text, to);
        let mut fragments = Vec::new();
        let mut at = from;
        if from > 0 {
            fragments.push(Fragment { text: "…".into(), highlighted: false });
        }
        for &(s, e) in found.iter().filter(|(s, e)| *s >= from && *e <= to) {
            if s > at {
                fragments.push(Fragment { text: collapse(&text[at..s]), highlighted: false });
            }
            fragments.push(Fragment { text: text[s..e].to_string(), highlighted: true });
            at = e;
        }
        if to > at {
            fragments.push(Fragment { text: collapse(&text[at..to]), highlighted: false });
        }
        if to < text.len() {
            fragments.push(Fragment { text: "…".into(), highlighted: false });
        }
        return Some(Snippet { field: *field, fragments });
    }
    None
}

/// Line breaks and runs of blanks as one space: an excerpt is one line.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !blank {
                out.push(' ');
            }
            blank = true;
        } else {
            out.push(c);
            blank = false;
        }
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Moves `from` forward to the start of a word (not past `limit`), so an excerpt does not open
/// in the middle of one.
fn word_start(s: &str, from: usize, limit: usize) -> usize {
    if from == 0 {
        return 0;
    }
    match s[from..limit].find(char::is_whitespace) {
        Some(i) => from + i + 1,
        None => from,
    }
}

/// Moves `to` forward to the end of the word it falls in.
fn word_end(s: &str, to: usize) -> usize {
    match s[to..].find(char::is_whitespace) {
        Some(i) if i < 30 => to + i,
        Some(_) => to,
        None if s.len() - to < 30 => s.len(),
        None => to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DocKey, query_terms};

    fn doc(public: &str, internal: &str) -> SearchDoc {
        SearchDoc {
            key: DocKey::ticket(1),
            workspace_id: 1,
            owner_contact_id: Some(1),
            public: false,
            title: "Help".into(),
            public_text: public.into(),
            internal_text: internal.into(),
            people: "Ana ana@example.com".into(),
            tags: String::new(),
            updated_at: 0,
        }
    }

    #[test]
    fn marks_the_matched_words_with_typos_and_stems() {
        let d = doc("Hello,\nmy printers keep jamming on page two.", "");
        let s = best_snippet(&d, &[Field::PublicText], &query_terms("printr jam")).expect("a snippet");
        assert_eq!(s.field, Field::PublicText);
        assert_eq!(s.highlights(), ["printers", "jamming"]);
        assert_eq!(s.text(), "Hello, my printers keep jamming on page two.");
    }

    #[test]
    fn a_long_text_is_cut_around_the_match() {
        let filler = "lorem ipsum dolor sit amet ".repeat(40);
        let d = doc(&format!("{filler} the invoice was wrong {filler}"), "");
        let s = best_snippet(&d, &[Field::PublicText], &query_terms("invoice")).expect("a snippet");
        let text = s.text();
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        assert!(text.len() < 260, "{text}");
        assert_eq!(s.highlights(), ["invoice"]);
    }

    #[test]
    fn fields_not_given_are_never_read() {
        let d = doc("nothing here", "secret refund plan");
        assert!(best_snippet(&d, &[Field::Title, Field::PublicText], &query_terms("refund")).is_none());
        assert_eq!(
            best_snippet(&d, Field::visible_to(crate::Audience::Staff), &query_terms("refund")).map(|s| s.field),
            Some(Field::InternalText)
        );
    }
}
