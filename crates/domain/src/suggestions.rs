//! Suggested macros: staff replies that repeat across tickets, worth turning into a canned response.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::TicketId;

/// Fewest messages with the same text before it is suggested.
pub const MIN_REPEATS: usize = 3;
/// Fewest distinct tickets those messages must span.
pub const MIN_TICKETS: usize = 2;
/// Fewest characters (of the normalized text) a reply needs to be suggested: a shorter one
/// ("Thanks!", "Done, closing.") is quicker to type than to pick from a list.
pub const MIN_SUGGESTED_REPLY_CHARS: usize = 20;

/// A reply text that repeats often enough to suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedReply {
    /// SHA-256 (hex) of the normalized text: the same reply, however it was spaced or cased.
    pub fingerprint: String,
    /// The text as first written, for the canned response.
    pub body: String,
    pub occurrences: usize,
    pub tickets: usize,
}

/// The text as compared: lowercased, whitespace collapsed, trailing punctuation dropped.
pub fn normalize_reply(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    joined.trim_end_matches(['.', '!', '?', ' ']).to_string()
}

/// Replies whose normalized text appears in at least [`MIN_REPEATS`] messages across at least
/// [`MIN_TICKETS`] tickets, most repeated first. Texts under [`MIN_SUGGESTED_REPLY_CHARS`]
/// ("thanks") are not worth a canned response.
pub fn repeated_replies(replies: &[(TicketId, String)]) -> Vec<RepeatedReply> {
    let mut groups: HashMap<String, (String, usize, Vec<TicketId>)> = HashMap::new();
    for (ticket, body) in replies {
        let norm = normalize_reply(body);
        if norm.chars().count() < MIN_SUGGESTED_REPLY_CHARS {
            continue;
        }
        let g = groups.entry(norm).or_insert_with(|| (body.trim().to_string(), 0, Vec::new()));
        g.1 += 1;
        if !g.2.contains(ticket) {
            g.2.push(*ticket);
        }
    }
    let mut out: Vec<RepeatedReply> = groups
        .into_iter()
        .filter(|(_, (_, n, t))| *n >= MIN_REPEATS && t.len() >= MIN_TICKETS)
        .map(|(norm, (body, n, t))| RepeatedReply {
            fingerprint: hex::encode(Sha256::digest(norm.as_bytes())),
            body,
            occurrences: n,
            tickets: t.len(),
        })
        .collect();
    out.sort_by(|a, b| b.occurrences.cmp(&a.occurrences).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Please restart the router and try again.";

    #[test]
    fn three_messages_across_two_tickets_are_suggested() {
        let replies = vec![
            (TicketId(1), TEXT.to_string()),
            (TicketId(1), "please  restart the ROUTER and try again".to_string()),
            (TicketId(2), TEXT.to_string()),
            (TicketId(3), "Something else entirely, said once.".to_string()),
        ];
        let found = repeated_replies(&replies);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].occurrences, found[0].tickets, found[0].body.as_str()), (3, 2, TEXT));
    }

    #[test]
    fn repeats_within_one_ticket_or_too_few_are_not() {
        let one_ticket = vec![(TicketId(1), TEXT.to_string()); 5];
        assert!(repeated_replies(&one_ticket).is_empty());
        let two = vec![(TicketId(1), TEXT.to_string()), (TicketId(2), TEXT.to_string())];
        assert!(repeated_replies(&two).is_empty());
        let short =
            vec![(TicketId(1), "Thanks!".into()), (TicketId(2), "thanks".into()), (TicketId(3), "Thanks".into())];
        assert!(repeated_replies(&short).is_empty());
    }
}
