//! Validation of the free text people type: subjects, bodies, names, tags, addresses.

use std::borrow::Cow;

use crate::ValidationError;

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest reply or note body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Longest note on a close, in characters.
pub const MAX_CLOSE_NOTE_CHARS: usize = 500;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;

/// `text` with every NUL (U+0000) replaced by U+FFFD.
///
/// PostgreSQL's `text` cannot hold U+0000 and refuses the whole statement, while SQLite keeps it;
/// text from outside (a mail body, a display name, a GraphQL string) passes through here on its
/// way in so both databases store the same thing and no message fails for one byte. Where the
/// original matters it is kept as bytes (an email's original.eml).
pub fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(text) }
}

/// Like [`without_nul`] for an owned string: no copy when there is nothing to replace.
pub fn into_without_nul(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text }
}

fn bounded(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = without_nul(value);
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let n = v.chars().count();
    if n > max {
        return Err(ValidationError::new(field, format!("is {n} characters; at most {max} allowed")));
    }
    Ok(v.to_string())
}

/// A ticket subject: trimmed, 1 to 200 characters, one line.
pub fn validate_subject(field: &str, value: &str) -> Result<String, ValidationError> {
    let v = bounded(field, value, MAX_SUBJECT_CHARS)?;
    Ok(v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A reply or note body: trimmed, 1 to 20,000 characters.
pub fn validate_body(field: &str, value: &str) -> Result<String, ValidationError> {
    bounded(field, value, MAX_BODY_CHARS)
}

/// The optional note on a close: at most 500 characters; blank means none.
pub fn validate_close_note(field: &str, value: Option<&str>) -> Result<Option<String>, ValidationError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => bounded(field, v, MAX_CLOSE_NOTE_CHARS).map(Some),
    }
}

/// A display name: trimmed, 1 to 120 characters.
pub fn validate_name(field: &str, value: &str) -> Result<String, ValidationError> {
    bounded(field, value, 120)
}

/// Normalizes a tag: trimmed, lowercase, inner spaces as `-`, at most 40 characters of
/// letters, digits, `-`, `_`, `:` and `.`.
pub fn normalize_tag(field: &str, value: &str) -> Result<String, ValidationError> {
    let t = bounded(field, value, MAX_TAG_CHARS)?.to_lowercase().split_whitespace().collect::<Vec<_>>().join("-");
    if t.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')) {
        Ok(t)
    } else {
        Err(ValidationError::new(field, "may hold only letters, digits, '-', '_', ':' and '.'"))
    }
}

/// Handles mentioned as `@handle` in a note, lowercase, in first-seen order without repeats.
///
/// A handle is the local part of a staff member's email (`@sam` for sam@example.com), so an
/// email address written in a note (`bob@example.com`) is not a mention.
pub fn mentions(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '.' | '_' | '-'));
        if chars[i] == '@' && starts_word {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || matches!(chars[j], '.' | '_' | '-' | '+')) {
                j += 1;
            }
            let handle: String = chars[i + 1..j].iter().collect::<String>().trim_end_matches('.').to_lowercase();
            if !handle.is_empty() && !out.contains(&handle) {
                out.push(handle);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// An email address, trimmed and lowercased, with a plausible `local@domain.tld` shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address; `field` names the input in the error.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let v = value.trim().to_lowercase();
        let bad = || ValidationError::new(field, format!("{value:?} is not an email address"));
        let (local, domain) = v.split_once('@').ok_or_else(bad)?;
        let ok = !local.is_empty()
            && v.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !v.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
            && !domain.contains('@');
        if ok { Ok(Self(v)) } else { Err(bad()) }
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, used as the @mention handle.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_trimmed_bounded_and_one_line() {
        assert_eq!(validate_subject("subject", "  Printer \n offline ").unwrap(), "Printer offline");
        assert_eq!(validate_subject("subject", "   ").unwrap_err().field, "subject");
        assert!(validate_subject("subject", &"x".repeat(201)).is_err());
        assert!(validate_subject("subject", &"é".repeat(200)).is_ok());
    }

    #[test]
    fn nul_bytes_are_replaced_in_every_validated_text() {
        assert_eq!(without_nul("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(without_nul("plain"), Cow::Borrowed("plain")));
        assert_eq!(into_without_nul("x\0".to_string()), "x\u{FFFD}");
        assert_eq!(validate_subject("subject", "Printer\0 on fire").unwrap(), "Printer\u{FFFD} on fire");
        assert_eq!(validate_body("body", "\0").unwrap(), "\u{FFFD}");
        assert_eq!(validate_name("name", "Al\0ice").unwrap(), "Al\u{FFFD}ice");
        assert_eq!(validate_close_note("note", Some("ok\0")).unwrap().as_deref(), Some("ok\u{FFFD}"));
    }

    #[test]
    fn close_note_limit() {
        assert_eq!(validate_close_note("note", Some("  ")).unwrap(), None);
        assert!(validate_close_note("note", Some(&"a".repeat(500))).is_ok());
        assert_eq!(validate_close_note("note", Some(&"a".repeat(501))).unwrap_err().field, "note");
    }

    #[test]
    fn mentions_are_handles_not_addresses() {
        assert_eq!(mentions("@Sam can you check? cc @alex, @sam."), vec!["sam", "alex"]);
        assert!(mentions("mail bob@example.com").is_empty());
        assert_eq!(mentions("(@ada.admin)"), vec!["ada.admin"]);
    }

    #[test]
    fn tags_normalize() {
        assert_eq!(normalize_tag("tags", " VIP Customer ").unwrap(), "vip-customer");
        assert!(normalize_tag("tags", "a/b").is_err());
        assert!(normalize_tag("tags", &"a".repeat(41)).is_err());
    }

    #[test]
    fn email_addresses() {
        assert_eq!(EmailAddress::parse("email", " Carla@Example.COM ").unwrap().as_str(), "carla@example.com");
        assert_eq!(EmailAddress::parse("email", "carla@example.com").unwrap().local_part(), "carla");
        for bad in ["", "carla", "carla@", "@example.com", "carla@example", "a b@example.com", "a@b@c.com"] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad}");
        }
    }
}
