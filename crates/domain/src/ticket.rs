//! Ticket numbers and the status state machine.

use crate::{CloseReason, TicketStatus, ValidationError};

/// A per-workspace sequential ticket number shown as `PREFIX-00012`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketNumber {
    /// Workspace prefix, e.g. `SD`.
    pub prefix: String,
    /// The sequence number within the workspace.
    pub seq: i64,
}

impl TicketNumber {
    /// Validates a workspace's ticket prefix: 1-10 ASCII letters or digits, starting with a letter.
    pub fn validate_prefix(prefix: &str) -> Result<(), ValidationError> {
        let ok = (1..=10).contains(&prefix.len())
            && prefix.starts_with(|c: char| c.is_ascii_alphabetic())
            && prefix.chars().all(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(())
        } else {
            Err(ValidationError::new("ticketPrefix", "must be 1-10 letters or digits, starting with a letter"))
        }
    }

    /// Reads what a person types for a ticket: `SD-00012`, `sd-12`, `#12` or `12`.
    /// Returns the sequence number when the text is a number in this workspace's form.
    pub fn parse_seq(text: &str, prefix: &str) -> Option<i64> {
        let t = text.trim().trim_start_matches('#');
        let digits = match t.split_once('-') {
            Some((p, d)) if p.eq_ignore_ascii_case(prefix) => d,
            Some(_) => return None,
            None => t,
        };
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0)
    }
}

impl std::fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:05}", self.prefix, self.seq)
    }
}

/// What a status change implies beyond the status column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// An ordinary move between working states.
    Plain,
    /// Leaving resolved or closed: clears resolution stamps.
    Reopen,
    /// Entering resolved: stamps resolved_at.
    Resolve,
}

/// Decides whether `from -> to` is allowed through a status update.
///
/// Closing needs a reason, so it goes through the close operation, never a bare status change.
/// A closed ticket only comes back through reopen (to open).
pub fn check_transition(
    from: TicketStatus,
    to: TicketStatus,
    close_reason: Option<CloseReason>,
) -> Result<StatusChange, ValidationError> {
    use TicketStatus::*;
    let bad = |msg: String| Err(ValidationError::new("status", msg));
    if from == to {
        return bad(format!("ticket is already {}", from.as_str()));
    }
    match (from, to) {
        (_, Closed) if close_reason.is_none() => bad("closing a ticket needs a close reason".into()),
        (Closed, Open) => Ok(StatusChange::Reopen),
        (Closed, _) => bad(format!("a closed ticket can only be reopened, not moved to {}", to.as_str())),
        (Resolved, Open | InProgress | Waiting) => Ok(StatusChange::Reopen),
        (_, Resolved) => Ok(StatusChange::Resolve),
        _ => Ok(StatusChange::Plain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    #[test]
    fn number_formats_with_padding() {
        assert_eq!(TicketNumber { prefix: "SD".into(), seq: 12 }.to_string(), "SD-00012");
        assert_eq!(TicketNumber { prefix: "SD".into(), seq: 123456 }.to_string(), "SD-123456");
    }

    #[test]
    fn number_parses_what_people_type() {
        assert_eq!(TicketNumber::parse_seq("SD-00012", "SD"), Some(12));
        assert_eq!(TicketNumber::parse_seq("sd-12", "SD"), Some(12));
        assert_eq!(TicketNumber::parse_seq("#12", "SD"), Some(12));
        assert_eq!(TicketNumber::parse_seq("XX-12", "SD"), None);
        assert_eq!(TicketNumber::parse_seq("printer", "SD"), None);
        assert_eq!(TicketNumber::parse_seq("0", "SD"), None);
    }

    #[test]
    fn prefix_rules() {
        assert!(TicketNumber::validate_prefix("SD").is_ok());
        assert!(TicketNumber::validate_prefix("1SD").is_err());
        assert!(TicketNumber::validate_prefix("S-D").is_err());
        assert!(TicketNumber::validate_prefix("").is_err());
    }

    #[test]
    fn transitions() {
        assert_eq!(check_transition(Open, InProgress, None), Ok(StatusChange::Plain));
        assert_eq!(check_transition(Waiting, Resolved, None), Ok(StatusChange::Resolve));
        assert_eq!(check_transition(Resolved, Open, None), Ok(StatusChange::Reopen));
        assert_eq!(check_transition(Closed, Open, None), Ok(StatusChange::Reopen));
        assert!(check_transition(Open, Closed, None).is_err());
        assert!(check_transition(Open, Closed, Some(CloseReason::Spam)).is_ok());
        assert!(check_transition(Closed, Resolved, None).is_err());
        assert!(check_transition(Closed, InProgress, None).is_err());
        let same = check_transition(Open, Open, None).unwrap_err();
        assert_eq!(same.field, "status");
    }
}
