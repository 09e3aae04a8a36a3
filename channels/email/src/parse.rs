//! Pure email rules, no I/O: parsing a raw message, telling auto-replies and bounces apart,
//! cutting quoted history and signatures, and reading the threading hints (Message-IDs, the
//! ticket tag in the subject, the hidden marker in our bodies).
//!
//! Every step is linear in the message's size, and what a message may carry is capped (the
//! constants below): past a cap the message is refused with the reason and quarantined, or,
//! where dropping the excess loses nothing (thread ids, attachments kept in the original), it
//! is thinned.

use std::collections::{HashMap, HashSet};

use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// Most header fields taken in a message's header block.
pub const MAX_HEADER_FIELDS: usize = 1_000;
/// Longest single header field (folded lines together), except the thread-id headers, whose
/// ids are thinned instead (see [`MAX_THREAD_IDS`]).
pub const MAX_HEADER_BYTES: usize = 128 * 1024;
/// Most Message-IDs kept from `References` and `In-Reply-To`: the first few (the thread's
/// root, often the message that opened the ticket) and the newest.
pub const MAX_THREAD_IDS: usize = 50;
const FIRST_THREAD_IDS: usize = 10;
/// Most MIME parts (nested messages' parts included) in one message.
pub const MAX_MIME_PARTS: usize = 1_000;
/// Longest MIME boundary (RFC 2046 allows 70; some mailers go past it).
const MAX_BOUNDARY_BYTES: usize = 200;
/// Most multipart parts whose boundary never appears (each costs the parser a search to the
/// end of the message).
const MAX_MISSING_BOUNDARIES: usize = 5;
/// Most attachments stored from one message; the rest stay in the attached original.
pub const MAX_ATTACHMENTS: usize = 100;
/// Most Message-IDs a delivery report may name (each is looked up).
const MAX_BOUNCE_IDS: usize = 10;
/// Longest Message-ID stored as it is (the desk's limit on an external message id); longer
/// ones are stored as a prefix and their SHA-256 (see [`normalize_message_id`]).
pub const MAX_MESSAGE_ID_BYTES: usize = 500;
/// How much of a long Message-ID its stored form keeps readable.
const HASHED_ID_PREFIX_BYTES: usize = 100;

/// A file carried by a message (attachments and inline images alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What kind of message this is, for deciding whether it may open a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailKind {
    /// A person wrote it.
    Personal,
    /// An out-of-office or other automatic answer; the reason names the header that said so.
    AutoReply { reason: String },
    /// A delivery-status report: the Message-IDs it reports on, and the diagnostic.
    Bounce { original_message_ids: Vec<String>, diagnostic: String },
}

/// A message as the channel sees it.
#[derive(Debug, Clone)]
pub struct ParsedEmail {
    /// `<id@host>`, when the message has one.
    pub message_id: Option<String>,
    /// References then In-Reply-To, angle-bracketed, oldest first, without repeats, at most
    /// [`MAX_THREAD_IDS`] (the first few and the newest).
    pub thread_ids: Vec<String>,
    pub subject: String,
    pub from_address: String,
    pub from_name: Option<String>,
    /// The new text only: quoted history, signatures and our marker cut away.
    pub text: String,
    /// The whole text part (HTML turned into text when there is no text part).
    pub full_text: String,
    /// The HTML part, if any (the marker may hide there).
    pub html: Option<String>,
    /// At most [`MAX_ATTACHMENTS`].
    pub attachments: Vec<ParsedAttachment>,
    /// Attachments past [`MAX_ATTACHMENTS`], left in the original only.
    pub attachments_left_out: usize,
    pub kind: MailKind,
}

/// Why a message was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Bigger than the configured limit.
    #[error("the message is {size} bytes; this mailbox takes at most {limit}")]
    TooLarge { size: usize, limit: usize },
    /// Not something we can read as an email; the reason says what was missing.
    #[error("the message cannot be parsed: {0}")]
    Unparseable(String),
    /// Readable, but past one of the caps on what a message may carry (header fields, a
    /// header's length, MIME parts) or over the time parsing may take; the reason names it.
    #[error("the message is past a limit: {0}")]
    OverLimit(String),
}

/// Wraps a Message-ID in angle brackets, the form it is stored and sent in. One longer than
/// [`MAX_MESSAGE_ID_BYTES`] becomes `<prefix.sha256.HEX>`: the same id always gives the same
/// form, so dedupe and threading by `References` work with it as with any other.
pub fn normalize_message_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    if id.is_empty() || id.contains(char::is_whitespace) {
        return None;
    }
    if id.len() + 2 <= MAX_MESSAGE_ID_BYTES {
        return Some(format!("<{id}>"));
    }
    let mut cut = HASHED_ID_PREFIX_BYTES;
    while !id.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(format!("<{}.sha256.{}>", &id[..cut], hex::encode(Sha256::digest(id.as_bytes()))))
}

/// The dedupe key of a message without a Message-ID: a hash of its bytes.
pub fn content_key(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

/// Checks, in one pass and before any parser sees it, that `raw` starts with a header block
/// and that the block stays within [`MAX_HEADER_FIELDS`] and [`MAX_HEADER_BYTES`].
pub fn check_header_block(raw: &[u8]) -> Result<(), Rejection> {
    // mail-parser reads almost anything as *some* message; a real one has a header block first.
    let first_line = raw.split(|b| *b == b'\n').next().unwrap_or_default();
    if !first_line.contains(&b':') {
        return Err(no_header_block());
    }
    let mut fields = 0usize;
    // The field being read: its name and its length so far.
    let mut field: Option<(&[u8], usize)> = None;
    let mut rest = raw;
    // Only whole lines count: a block that never ends in a blank line is no header block.
    while let Some(end) = rest.iter().position(|b| *b == b'\n') {
        let line = &rest[..end];
        rest = &rest[end + 1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Ok(());
        }
        match (&mut field, line[0]) {
            (Some((_, len)), b' ' | b'\t') => *len += line.len() + 2,
            _ => {
                fields += 1;
                if fields > MAX_HEADER_FIELDS {
                    return Err(Rejection::OverLimit(format!("it has more than {MAX_HEADER_FIELDS} header fields")));
                }
                let name = line.split(|b| *b == b':').next().unwrap_or_default();
                field = Some((name, line.len()));
            }
        }
        if let Some((name, len)) = field
            && len > MAX_HEADER_BYTES
            && !is_thread_header(name)
        {
            return Err(Rejection::OverLimit(format!(
                "its {} header is longer than {MAX_HEADER_BYTES} bytes",
                String::from_utf8_lossy(&name[..name.len().min(80)]).trim()
            )));
        }
    }
    Err(no_header_block())
}

fn no_header_block() -> Rejection {
    Rejection::Unparseable("no header block (a message starts with header lines and a blank line)".into())
}

fn is_thread_header(name: &[u8]) -> bool {
    let name = name.trim_ascii();
    name.eq_ignore_ascii_case(b"references") || name.eq_ignore_ascii_case(b"in-reply-to")
}

/// Checks the MIME structure in one pass over the whole message, before the MIME parser spends
/// work on it: how many parts declare a type (every part that is more than plain text does), how
/// long their boundaries are, and whether each boundary ever appears as a delimiter line. The
/// parser compares the boundary at every `--` it meets and searches to the end of the message
/// for a boundary that is missing, so these decide how much work the parse can take.
fn check_mime_structure(raw: &[u8]) -> Result<(), Rejection> {
    let mut content_types = 0usize;
    // Each boundary with the line it is declared on: the parser only looks for it after that.
    let mut boundaries: Vec<(&[u8], usize)> = Vec::new();
    // Each delimiter with the last line it appears on.
    let mut delimiters: HashMap<&[u8], usize> = HashMap::new();
    let mut in_content_type = false;
    // The header block being read (the message's, or a part's after a delimiter line): whether
    // it declares a message/* type and whether it encodes its body.
    let (mut in_headers, mut nested_message, mut encoded) = (true, false, false);
    for (n, line) in raw.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.trim_ascii().is_empty() {
            in_headers = false;
            in_content_type = false;
            continue;
        }
        let continued = in_content_type && line.first().is_some_and(|c| *c == b' ' || *c == b'\t');
        // The parser reads header names with the blanks around them dropped (`Content-Type :`).
        let field = header_field(line);
        let starts = field.is_some_and(|(name, _)| name.eq_ignore_ascii_case(b"content-type"));
        if starts {
            content_types += 1;
            if content_types > MAX_MIME_PARTS {
                return Err(Rejection::OverLimit(format!("it has more than {MAX_MIME_PARTS} MIME parts")));
            }
        }
        in_content_type = starts || continued;
        if in_headers && let Some((name, value)) = field {
            let value = value.trim_ascii();
            // The types the parser opens as a nested message.
            let nested = |t: &[u8]| value.len() >= t.len() && value[..t.len()].eq_ignore_ascii_case(t);
            if name.eq_ignore_ascii_case(b"content-type") && (nested(b"message/rfc822") || nested(b"message/global")) {
                nested_message = true;
            }
            if name.eq_ignore_ascii_case(b"content-transfer-encoding")
                && (value.eq_ignore_ascii_case(b"base64") || value.eq_ignore_ascii_case(b"quoted-printable"))
            {
                encoded = true;
            }
            // RFC 2046 5.2.1 forbids encoding a message/rfc822 part; the parser would decode and
            // parse it unseen by these checks.
            if nested_message && encoded {
                return Err(Rejection::OverLimit(
                    "it carries an encoded message/rfc822 part, which RFC 2046 5.2.1 forbids".into(),
                ));
            }
        }
        if in_content_type && let Some(boundary) = boundary_parameter(line) {
            if boundary.len() > MAX_BOUNDARY_BYTES {
                return Err(Rejection::OverLimit(format!(
                    "a MIME boundary is {} bytes long; at most {MAX_BOUNDARY_BYTES} are taken",
                    boundary.len()
                )));
            }
            boundaries.push((boundary, n));
        }
        if let Some(rest) = line.strip_prefix(b"--") {
            let rest = rest.trim_ascii_end();
            delimiters.insert(rest, n);
            if let Some(opening) = rest.strip_suffix(b"--") {
                delimiters.insert(opening, n);
            }
            (in_headers, nested_message, encoded) = (true, false, false);
        }
    }
    let missing =
        boundaries.iter().filter(|(b, declared)| delimiters.get(b).is_none_or(|last| last <= declared)).count();
    if missing > MAX_MISSING_BOUNDARIES {
        return Err(Rejection::OverLimit(format!(
            "{missing} of its multipart parts name a boundary that never appears; at most \
             {MAX_MISSING_BOUNDARIES} are taken"
        )));
    }
    Ok(())
}

/// A header line's name and value, the name without the blanks around it, as the parser reads it.
fn header_field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|c| *c == b':')?;
    let name = line[..colon].trim_ascii();
    let is_name = !name.is_empty() && name.iter().all(|c| c.is_ascii_graphic());
    is_name.then(|| (name, &line[colon + 1..]))
}

/// The `boundary` parameter on a line of a Content-Type header, unquoted; written as the parser
/// takes it: any case, blanks around `=`, or as an RFC 2231 section (`boundary*0=`).
fn boundary_parameter(line: &[u8]) -> Option<&[u8]> {
    const NAME: &[u8] = b"boundary";
    let at = line.windows(NAME.len()).position(|w| w.eq_ignore_ascii_case(NAME))?;
    let rest = &line[at + NAME.len()..];
    let rest = &rest[rest.iter().position(|c| !(c.is_ascii_digit() || *c == b'*' || c.is_ascii_whitespace()))?..];
    let value = rest.strip_prefix(b"=")?.trim_ascii_start();
    let value = match value.strip_prefix(b"\"") {
        Some(quoted) => &quoted[..quoted.iter().position(|c| *c == b'"').unwrap_or(quoted.len())],
        None => &value[..value.iter().position(|c| *c == b';' || c.is_ascii_whitespace()).unwrap_or(value.len())],
    };
    (!value.is_empty()).then_some(value)
}

/// Every MIME part of `msg`, the parts of nested messages included (counted without recursion:
/// nesting is only as deep as the message makes it).
fn mime_parts(msg: &mail_parser::Message<'_>) -> usize {
    let mut count = 0;
    let mut pending = vec![msg];
    while let Some(m) = pending.pop() {
        count += m.parts.len();
        for part in &m.parts {
            if let PartType::Message(nested) = &part.body {
                pending.push(nested);
            }
        }
    }
    count
}

/// Parses `raw`, refusing it when it is over `max_bytes` or past a cap on what a message may
/// carry, or has no readable sender.
pub fn parse_email(raw: &[u8], max_bytes: usize) -> Result<ParsedEmail, Rejection> {
    if raw.len() > max_bytes {
        return Err(Rejection::TooLarge { size: raw.len(), limit: max_bytes });
    }
    check_header_block(raw)?;
    check_mime_structure(raw)?;
    let msg =
        MessageParser::default().parse(raw).ok_or_else(|| Rejection::Unparseable("not an RFC 5322 message".into()))?;
    // Parts of nested messages sent encoded (base64) were not visible to the check above.
    let parts = mime_parts(&msg);
    if parts > MAX_MIME_PARTS {
        return Err(Rejection::OverLimit(format!("it has {parts} MIME parts; at most {MAX_MIME_PARTS} are taken")));
    }
    let from = msg
        .from()
        .and_then(|a| a.first())
        .or_else(|| msg.sender().and_then(|a| a.first()))
        .ok_or_else(|| Rejection::Unparseable("no From address".into()))?;
    let from_address = from
        .address()
        .map(str::trim)
        .filter(|a| a.contains('@') && !a.contains(char::is_whitespace))
        .ok_or_else(|| Rejection::Unparseable("the From header has no valid address".into()))?
        .to_ascii_lowercase();
    let from_name = from.name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
    let message_id = msg.message_id().and_then(normalize_message_id);
    let thread_ids = thread_ids(&msg);
    let subject = msg.subject().map(str::trim).unwrap_or_default().to_string();
    let html = msg.body_html(0).map(|h| h.into_owned()).filter(|_| msg.html_body_count() > 0);
    // An HTML-only message: its quotes are cut in the HTML, where their markup still shows them.
    let html_only = msg.text_part(0).filter(|p| p.is_text_html()).and_then(|p| p.text_contents());
    let (full_text, reply) = match html_only {
        Some(h) => (crate::html::full_text(h), crate::html::reply_text(h)),
        None => {
            let t = msg.body_text(0).map(|t| t.replace("\r\n", "\n")).unwrap_or_default();
            (t.clone(), t)
        }
    };
    let mut attachments = Vec::new();
    for (i, part) in msg.attachments().take(MAX_ATTACHMENTS).enumerate() {
        let content_type = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_ascii_lowercase())
            .unwrap_or_else(|| "application/octet-stream".into());
        let file_name = part
            .attachment_name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}{}", i + 1, extension_for(&content_type)));
        let bytes = match part.message() {
            // A forwarded message is kept as the bytes it came as.
            Some(m) => m.raw_message().to_vec(),
            None => part.contents().to_vec(),
        };
        attachments.push(ParsedAttachment { file_name, content_type, bytes });
    }
    let attachments_left_out = msg.attachment_count().saturating_sub(attachments.len());
    let kind = classify(&msg, raw, message_id.as_deref());
    let text = strip_reply(&reply);
    Ok(ParsedEmail {
        message_id,
        thread_ids,
        subject,
        from_address,
        from_name,
        text,
        full_text,
        html,
        attachments,
        attachments_left_out,
        kind,
    })
}

/// `References` then `In-Reply-To`, normalized, without repeats, thinned to the first
/// [`FIRST_THREAD_IDS`] and the newest up to [`MAX_THREAD_IDS`].
fn thread_ids(msg: &mail_parser::Message<'_>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    for v in [msg.references(), msg.in_reply_to()] {
        let listed: &[std::borrow::Cow<'_, str>] = match v {
            mail_parser::HeaderValue::Text(t) => std::slice::from_ref(t),
            mail_parser::HeaderValue::TextList(l) => l,
            _ => &[],
        };
        for id in listed.iter().filter_map(|id| normalize_message_id(id)) {
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
    }
    if ids.len() > MAX_THREAD_IDS {
        ids.drain(FIRST_THREAD_IDS..ids.len() - (MAX_THREAD_IDS - FIRST_THREAD_IDS));
    }
    ids
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "message/rfc822" => ".eml",
        _ => ".bin",
    }
}

fn header_text<'a>(msg: &'a mail_parser::Message<'a>, name: &str) -> Option<String> {
    msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase())
}

/// Tells a person's mail from automatic answers and delivery reports (RFC 3834, RFC 3464 and
/// the headers Exchange and common autoresponders set).
fn classify(msg: &mail_parser::Message<'_>, raw: &[u8], own_id: Option<&str>) -> MailKind {
    let is_report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    if is_report {
        let text = String::from_utf8_lossy(raw);
        let mut ids = Vec::new();
        let mut status = None;
        let mut diagnostic = None;
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "message-id" if ids.len() < MAX_BOUNCE_IDS => {
                    if let Some(id) = normalize_message_id(value)
                        && Some(id.as_str()) != own_id
                        && !ids.contains(&id)
                    {
                        ids.push(id);
                    }
                }
                "status" if status.is_none() => status = Some(value.to_string()),
                "diagnostic-code" if diagnostic.is_none() => diagnostic = Some(value.to_string()),
                _ => {}
            }
        }
        let diagnostic = match (status, diagnostic) {
            (Some(s), Some(d)) => format!("{d} (status {s})"),
            (None, Some(d)) => d,
            (Some(s), None) => format!("delivery failed with status {s}"),
            (None, None) => "the receiving server reported the message undeliverable".into(),
        };
        return MailKind::Bounce { original_message_ids: ids, diagnostic };
    }
    if let Some(v) = header_text(msg, "Auto-Submitted")
        && v != "no"
    {
        return MailKind::AutoReply { reason: format!("Auto-Submitted: {v}") };
    }
    if let Some(v) = header_text(msg, "Precedence")
        && ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str())
    {
        return MailKind::AutoReply { reason: format!("Precedence: {v}") };
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(v) = header_text(msg, h) {
            return MailKind::AutoReply { reason: format!("{h}: {v}") };
        }
    }
    let from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_ascii_lowercase();
    if from.starts_with("mailer-daemon@") || from.starts_with("postmaster@") {
        return MailKind::AutoReply { reason: format!("sent by {from}") };
    }
    MailKind::Personal
}

/// Whether a line opens quoted history: "On ... wrote:" (Gmail, Apple Mail), Outlook's
/// "-----Original Message-----" or its From:/Sent: block, or a line of underscores before it.
fn starts_history(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let lower = line.to_ascii_lowercase();
    if lower.contains("-----original message-----") || lower.starts_with("begin forwarded message") {
        return true;
    }
    // Gmail wraps long attributions over two lines.
    if lower.starts_with("on ") {
        if lower.ends_with("wrote:") {
            return true;
        }
        if let Some(next) = lines.get(i + 1)
            && next.trim().to_ascii_lowercase().ends_with("wrote:")
        {
            return true;
        }
    }
    let header_block = |from: usize| {
        lines[from..].iter().take(4).any(|l| {
            let l = l.trim().to_ascii_lowercase();
            l.starts_with("sent:") || l.starts_with("date:")
        })
    };
    if lower.starts_with("from:") && header_block(i + 1) {
        return true;
    }
    if line.len() >= 20 && line.chars().all(|c| c == '_') {
        return lines.get(i + 1).is_some_and(|n| n.trim().to_ascii_lowercase().starts_with("from:"));
    }
    false
}

/// Whether a line opens a signature: the standard "-- " delimiter or a mobile client's tagline.
fn starts_signature(line: &str) -> bool {
    let t = line.trim_end();
    if t == "--" || t == "-- " || line == "-- " {
        return true;
    }
    let lower = t.trim().to_ascii_lowercase();
    lower.starts_with("sent from my ") || lower.starts_with("get outlook for ")
}

/// The new text of a reply: everything before the quoted history, the signature and our
/// marker; `>`-quoted lines are dropped wherever they are.
pub fn strip_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for i in 0..lines.len() {
        let line = lines[i];
        if starts_history(&lines, i) || starts_signature(line) {
            break;
        }
        if line.trim_start().starts_with('>') || find_marker(line).is_some() {
            continue;
        }
        kept.push(line.trim_end());
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let first = kept.iter().position(|l| !l.trim().is_empty()).unwrap_or(kept.len());
    kept[first..].join("\n")
}

/// Ticket tags in a subject, e.g. `[SD-00012]` → `("SD", 12)`; a prefix is letters and digits.
pub fn subject_tags(subject: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        let inner = rest[..close].trim();
        if let Some((prefix, number)) = inner.rsplit_once('-')
            && !prefix.is_empty()
            && prefix.chars().all(|c| c.is_ascii_alphanumeric())
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
            && let Ok(n) = number.parse::<i64>()
        {
            out.push((prefix.to_string(), n));
        }
    }
    out
}

/// The subject of our replies: `Re: <subject> [SD-00012]`, without stacking prefixes or tags.
pub fn reply_subject(subject: &str, ticket_number: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        match ["re:", "aw:", "fw:", "fwd:"].iter().find(|p| lower.starts_with(*p)) {
            Some(p) => s = s[p.len()..].trim_start(),
            None => break,
        }
    }
    let tag = format!("[{ticket_number}]");
    if s.contains(&tag) { format!("Re: {s}") } else { format!("Re: {s} {tag}").trim_end().to_string() }
}

/// The hidden marker for a ticket, put in every body we send: `sbref-<ticket>-<check>`, where
/// the check ties it to the workspace so a typo or a marker from elsewhere matches nothing.
pub fn marker(workspace: i64, ticket: i64) -> String {
    format!("sbref-{ticket}-{}", marker_check(workspace, ticket))
}

fn marker_check(workspace: i64, ticket: i64) -> String {
    let digest = Sha256::new()
        .chain_update(b"switchboard email marker v1")
        .chain_update(workspace.to_be_bytes())
        .chain_update(ticket.to_be_bytes())
        .finalize();
    hex::encode(&digest[..4])
}

/// The first marker in `text`, as (ticket id, check).
pub fn find_marker(text: &str) -> Option<(i64, String)> {
    let mut rest = text;
    while let Some(at) = rest.find("sbref-") {
        rest = &rest[at + 6..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        if let (Ok(ticket), Some(check)) = (digits.parse::<i64>(), after.strip_prefix('-')) {
            let check: String = check.chars().take_while(char::is_ascii_hexdigit).collect();
            if check.len() == 8 {
                return Some((ticket, check));
            }
        }
    }
    None
}

/// The ticket a marker in `text` names, when it was made for `workspace`.
pub fn marker_ticket(workspace: i64, text: &str) -> Option<i64> {
    let (ticket, check) = find_marker(text)?;
    (check == marker_check(workspace, ticket)).then_some(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_bracketed_once() {
        assert_eq!(normalize_message_id(" <a@b> ").as_deref(), Some("<a@b>"));
        assert_eq!(normalize_message_id("a@b").as_deref(), Some("<a@b>"));
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id("a b@c"), None);
    }

    #[test]
    fn long_message_ids_are_hashed_to_a_stable_short_form() {
        let long = format!("<{}@host>", "é".repeat(400));
        let stored = normalize_message_id(&long).unwrap();
        assert!(stored.len() <= MAX_MESSAGE_ID_BYTES, "{stored}");
        assert_eq!(normalize_message_id(&long[1..long.len() - 1]).as_deref(), Some(stored.as_str()));
        let other = format!("<{}@hosu>", "é".repeat(400));
        assert_ne!(normalize_message_id(&other).unwrap(), stored);
        let just_fits = format!("<{}>", "a".repeat(MAX_MESSAGE_ID_BYTES - 2));
        assert_eq!(normalize_message_id(&just_fits).as_deref(), Some(just_fits.as_str()));
    }

    #[test]
    fn mime_structure_is_checked_before_parsing() {
        let ok = "From: a@b\nContent-Type: multipart/mixed;\n\tBoundary=\"=_x y\"\n\n--=_x y\nContent-Type: text/plain\n\n\
                  hi\n--=_x y--\n";
        assert!(check_mime_structure(ok.as_bytes()).is_ok());
        let long = format!("From: a@b\nContent-Type: multipart/mixed; boundary={0}\n\n--{0}\n\nhi\n", "-".repeat(201));
        match check_mime_structure(long.as_bytes()) {
            Err(Rejection::OverLimit(r)) => assert!(r.contains("boundary is 201 bytes"), "{r}"),
            other => panic!("{other:?}"),
        }
        let mut missing = String::from("From: a@b\nContent-Type: multipart/mixed; boundary=top\n\n");
        for i in 0..6 {
            missing.push_str(&format!("--top\nContent-Type: multipart/mixed; boundary=gone{i}\n\nx\n"));
        }
        assert!(matches!(check_mime_structure(missing.as_bytes()), Err(Rejection::OverLimit(_))));
        // Written every way the parser still reads them: blanks around the name or `=`, an
        // RFC 2231 section, or a delimiter that only appears before its declaration.
        for declare in [
            "Content-Type : multipart/mixed; boundary = gone{i}",
            " content-type:multipart/mixed; BOUNDARY*0=\"gone{i}\"",
            "Content-Type: multipart/mixed;\n boundary=gone{i}",
        ] {
            let mut evasive = String::from("From: a@b\nContent-Type: multipart/mixed; boundary=top\n\n");
            for i in 0..6 {
                evasive.push_str(&format!("--gone{i}\n--top\n{}\n\nx\n", declare.replace("{i}", &i.to_string())));
            }
            assert!(matches!(check_mime_structure(evasive.as_bytes()), Err(Rejection::OverLimit(_))), "{declare}");
        }
        // A message part sent encoded would be parsed unseen by these checks.
        let encoded = "From: a@b\nContent-Type: multipart/mixed; boundary=top\n\n--top\nContent-Type: message/rfc822\n\
                       Content-Transfer-Encoding: base64\n\nRnJvbTogYUBi\n--top--\n";
        match check_mime_structure(encoded.as_bytes()) {
            Err(Rejection::OverLimit(r)) => assert!(r.contains("encoded message/rfc822"), "{r}"),
            other => panic!("{other:?}"),
        }
        let plain_nested = encoded.replace("Content-Transfer-Encoding: base64\n", "");
        assert!(check_mime_structure(plain_nested.as_bytes()).is_ok());
    }

    #[test]
    fn header_blocks_are_checked_before_parsing() {
        assert!(check_header_block(b"From: a@b\r\nSubject: x\r\n\r\nbody").is_ok());
        assert!(matches!(check_header_block(b"no colon here\n\nbody"), Err(Rejection::Unparseable(_))));
        assert!(matches!(check_header_block(b"From: a@b\nSubject: x\n"), Err(Rejection::Unparseable(_))));
        // A long References header is thinned later, not refused; a folded Subject is one field.
        let refs = format!("From: a@b\nReferences: {}\n\nbody", "<x@y> ".repeat(50_000));
        assert!(check_header_block(refs.as_bytes()).is_ok());
        let folded = format!("From: a@b\nSubject: {}\n\nbody", "word\n ".repeat(30_000));
        match check_header_block(folded.as_bytes()) {
            Err(Rejection::OverLimit(r)) => assert!(r.contains("Subject header"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tags_and_reply_subjects() {
        assert_eq!(subject_tags("Re: Printer [SD-00012] again"), vec![("SD".to_string(), 12)]);
        assert!(subject_tags("[urgent] no tag [SD-] [-12]").is_empty());
        assert_eq!(reply_subject("Printer", "SD-00012"), "Re: Printer [SD-00012]");
        assert_eq!(reply_subject("RE: Re: Printer [SD-00012]", "SD-00012"), "Re: Printer [SD-00012]");
    }

    #[test]
    fn markers_check_their_workspace() {
        let m = marker(3, 42);
        assert_eq!(marker_ticket(3, &format!("> quoted {m} here")), Some(42));
        assert_eq!(marker_ticket(4, &m), None);
        assert_eq!(marker_ticket(3, "sbref-42-zzzz"), None);
    }

    #[test]
    fn stripping_keeps_only_the_new_text() {
        let gmail = "Thanks, that worked.\n\nOn Mon, 4 Mar 2024 at 10:00, Acme Support <help@acme.test>\nwrote:\n> old";
        assert_eq!(strip_reply(gmail), "Thanks, that worked.");
        let outlook = "Still broken.\n\n-----Original Message-----\nFrom: Acme\nSent: today\n\nold";
        assert_eq!(strip_reply(outlook), "Still broken.");
        let owa = "Yes\n________________________________\nFrom: Acme <help@acme.test>\nSent: Monday\n";
        assert_eq!(strip_reply(owa), "Yes");
        let sig = "Hello\nthere\n-- \nJane Doe\nACME Corp";
        assert_eq!(strip_reply(sig), "Hello\nthere");
        assert_eq!(strip_reply("Fine\n\nSent from my iPhone"), "Fine");
        assert_eq!(strip_reply(&format!("{}Late start", "\n".repeat(100_000))), "Late start");
    }
}
