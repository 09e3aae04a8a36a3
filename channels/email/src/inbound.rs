//! One received message into the desk: dedupe, parse, thread, ingest, record. Both ways in (the
//! IMAP poller and the raw-MIME endpoint) come through [`receive`].
//!
//! Parsing is CPU work: it runs on blocking threads, a few at a time, within the mailbox
//! settings' time budget, so one hostile message can neither stall the async workers every
//! other request runs on nor hold up the mail behind it.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures_util::FutureExt;
use switchboard_desk::domain::{Channel, MAX_SUBJECT_CHARS, TicketId, WorkspaceId};
use switchboard_desk::store::IdentityKind;
use switchboard_desk::{Desk, DeskError, InboundMessage, NewAttachment};

use crate::records::{EmailMessageRecord, MailboxRecord};
use crate::{AcknowledgementPolicy, EmailDesk, ReceivedEmail};
use tokio::sync::Semaphore;

use crate::EmailSettings;
use crate::parse::{
    MailKind, ParsedEmail, Rejection, check_header_block, content_key, marker_ticket, parse_email, subject_tags,
};

/// Longest stored text; the whole message stays in the attached original.
const MAX_TEXT_CHARS: usize = 19_000;
/// The desk's limit on a name (people's and files').
const MAX_NAME_CHARS: usize = 120;
/// How much of a quarantined oversized message is kept: enough for its headers.
const QUARANTINE_KEEP_BYTES: usize = 64 * 1024;

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// It is on a ticket now (or was already: `duplicate`).
    Ticket { ticket_id: TicketId, opened: bool, duplicate: bool },
    /// An automatic answer: recorded, opens nothing, answers nothing.
    AutoReply { reason: String, duplicate: bool },
    /// A delivery report: recorded on the ticket whose reply bounced, when it is ours.
    Bounce { ticket_id: Option<TicketId>, duplicate: bool },
    /// Not readable or too large: kept for admins with the reason.
    Quarantined { rejection: Rejection, duplicate: bool },
}

fn outcome_of(rec: &EmailMessageRecord) -> Received {
    let reason = rec.reason.clone().unwrap_or_default();
    match rec.outcome.as_str() {
        "ticket" => {
            Received::Ticket { ticket_id: rec.ticket_id.unwrap_or(TicketId(0)), opened: false, duplicate: true }
        }
        "auto_reply" => Received::AutoReply { reason, duplicate: true },
        "bounce" => Received::Bounce { ticket_id: rec.ticket_id, duplicate: true },
        _ => Received::Quarantined { rejection: Rejection::Unparseable(reason), duplicate: true },
    }
}

/// The dedupe key of `raw` without parsing it all: its Message-ID, else a hash. Headers past
/// the caps are not parsed at all (the message will be quarantined): the hash keys it.
fn quick_key(raw: &[u8]) -> String {
    check_header_block(raw)
        .ok()
        .and_then(|()| mail_parser::MessageParser::default().parse_headers(raw))
        .and_then(|m| m.message_id().and_then(crate::parse::normalize_message_id))
        .unwrap_or_else(|| content_key(raw))
}

/// Messages parsed at once: one per core, so a burst of heavy mail leaves the async workers
/// their share of the machine.
static PARSERS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))));

/// Runs `work` on a blocking thread and waits at most `budget` for it (from when a parser slot
/// is free). A blocking thread cannot be stopped, so the work itself must be bounded (the caps
/// in [`crate::parse`]); the budget only stops the waiting, and the slot stays taken until the
/// work ends so runaway parses cannot pile up.
async fn off_runtime<T: Send + 'static>(
    budget: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Rejection> {
    let slot = PARSERS
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| Rejection::Unparseable("the parser is shutting down".into()))?;
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    });
    match tokio::time::timeout(budget, task).await {
        Ok(Ok(value)) => Ok(value),
        // A panic in the parser quarantines the message instead of taking the server down.
        Ok(Err(e)) => Err(Rejection::Unparseable(format!("the parser failed on it ({e})"))),
        Err(_) => Err(Rejection::OverLimit(format!("parsing it took longer than {} ms", budget.as_millis()))),
    }
}

/// Takes one raw message from `mailbox`. Errors only when the desk could not commit for a
/// reason that passes (the database is down: the caller retries later); everything about the
/// message itself is an `Ok` outcome. A message the desk refuses for what it holds, or whose
/// processing panics, is quarantined with the reason, so no single message can hold up the
/// mail behind it.
pub async fn receive(
    desk: &Desk,
    settings: &EmailSettings,
    mailbox: &MailboxRecord,
    raw: &[u8],
) -> Result<Received, DeskError> {
    let shared: Arc<[u8]> = Arc::from(raw);
    let key = match off_runtime(settings.parse_budget, {
        let raw = shared.clone();
        move || quick_key(&raw)
    })
    .await
    {
        Ok(key) => key,
        // Hashing is linear and has no case to go wrong on: it needs no budget.
        Err(_) => {
            let raw = shared.clone();
            tokio::task::spawn_blocking(move || content_key(&raw))
                .await
                .map_err(|e| DeskError::Internal(format!("hashing a received message: {e}")))?
        }
    };
    if let Some(rec) = desk.email_received(mailbox, &key).await? {
        return Ok(outcome_of(&rec));
    }
    let reason = match AssertUnwindSafe(take(desk, settings, mailbox, shared, &key)).catch_unwind().await {
        // Retrying cannot change what the desk (or the database behind it) refused.
        Ok(Err(DeskError::Validation(v))) => v.to_string(),
        Ok(other) => return other,
        Err(_) => "processing it failed with an internal error".to_string(),
    };
    let rejection = Rejection::Unparseable(reason);
    quarantine(desk, mailbox, &key, raw, &rejection).await?;
    Ok(Received::Quarantined { rejection, duplicate: false })
}

/// Keeps a message for admins with why it was set aside: an oversized one its headers' worth,
/// any other whole (it is within the size limit), for an admin to read what the parser could not.
async fn quarantine(
    desk: &Desk,
    mailbox: &MailboxRecord,
    key: &str,
    raw: &[u8],
    rejection: &Rejection,
) -> Result<(), DeskError> {
    let kept = match rejection {
        Rejection::TooLarge { .. } => &raw[..raw.len().min(QUARANTINE_KEEP_BYTES)],
        _ => raw,
    };
    let reason = rejection.to_string();
    tracing::warn!(mailbox = mailbox.id.0, %reason, "email quarantined");
    desk.record_received_email(&ReceivedEmail {
        mailbox,
        dedupe_key: key,
        outcome: "quarantined",
        reason: Some(&reason),
        from_address: None,
        subject: None,
        ticket_id: None,
        entry_id: None,
        raw: kept,
    })
    .await
}

async fn take(
    desk: &Desk,
    settings: &EmailSettings,
    mailbox: &MailboxRecord,
    shared: Arc<[u8]>,
    key: &str,
) -> Result<Received, DeskError> {
    let kept = shared.clone();
    let raw: &[u8] = &kept;
    let max_bytes = settings.max_message_bytes;
    let parsed = off_runtime(settings.parse_budget, move || parse_email(&shared, max_bytes)).await;
    let mail = match parsed.and_then(|p| p) {
        Ok(m) => m,
        Err(rejection) => {
            quarantine(desk, mailbox, key, raw, &rejection).await?;
            return Ok(Received::Quarantined { rejection, duplicate: false });
        }
    };
    let received = ReceivedEmail {
        mailbox,
        dedupe_key: key,
        outcome: "ticket",
        reason: None,
        from_address: Some(&mail.from_address),
        subject: Some(&mail.subject),
        ticket_id: None,
        entry_id: None,
        raw,
    };
    match &mail.kind {
        MailKind::AutoReply { reason } => {
            desk.record_received_email(&ReceivedEmail { outcome: "auto_reply", reason: Some(reason), ..received })
                .await?;
            return Ok(Received::AutoReply { reason: reason.clone(), duplicate: false });
        }
        MailKind::Bounce { original_message_ids, diagnostic } => {
            let mut landed = None;
            let report = NewAttachment {
                file_name: "delivery-report.eml".into(),
                content_type: "message/rfc822".into(),
                bytes: raw.to_vec(),
            };
            let bounce_id = mail.message_id.as_deref().unwrap_or(key);
            for id in original_message_ids {
                let ws = mailbox.workspace_id;
                if let Some((t, e)) = desk.record_email_bounce(ws, bounce_id, id, diagnostic, &report).await? {
                    landed = Some((t, e));
                    break;
                }
            }
            let (ticket_id, entry_id) = (landed.map(|l| l.0), landed.map(|l| l.1));
            let rec = ReceivedEmail { outcome: "bounce", reason: Some(diagnostic), ticket_id, entry_id, ..received };
            desk.record_received_email(&rec).await?;
            return Ok(Received::Bounce { ticket_id: landed.map(|l| l.0), duplicate: false });
        }
        MailKind::Personal => {}
    }
    let ticket_id = thread(desk, mailbox.workspace_id, &mail).await?;
    let mut attachments: Vec<NewAttachment> = mail
        .attachments
        .iter()
        .filter(|a| a.bytes.len() <= switchboard_desk::MAX_ATTACHMENT_BYTES)
        .map(|a| NewAttachment {
            file_name: clamp_file_name(&a.file_name),
            content_type: a.content_type.clone(),
            bytes: a.bytes.clone(),
        })
        .collect();
    let dropped = mail.attachments.len() - attachments.len();
    // The original stays viewable (and downloadable) beside the stored text.
    attachments.push(NewAttachment {
        file_name: "original.eml".into(),
        content_type: "message/rfc822".into(),
        bytes: raw.to_vec(),
    });
    let msg = InboundMessage {
        channel: Channel::Email,
        thread_key: None,
        ticket_id,
        external_message_id: mail.message_id.clone().unwrap_or_else(|| key.to_string()),
        sender_kind: IdentityKind::Email,
        sender_value: mail.from_address.clone(),
        sender_name: mail.from_name.as_deref().map(|n| clamp(n, MAX_NAME_CHARS)),
        subject: Some(if mail.subject.is_empty() {
            "(no subject)".into()
        } else {
            clamp(&mail.subject, MAX_SUBJECT_CHARS)
        }),
        text: stored_text(&mail, dropped, mail.attachments_left_out),
        attachments,
    };
    let ack = mailbox.ack_enabled.then_some(AcknowledgementPolicy {
        template: mailbox.ack_template.as_deref(),
        max_per_sender: settings.ack_max_per_sender,
        window_ms: settings.ack_window_ms,
    });
    // A sender address or a part the desk refuses comes back as a validation error, and
    // `receive` quarantines the message with it.
    let out = desk.ingest_email(&received, &msg, ack).await?;
    Ok(Received::Ticket { ticket_id: out.ticket_id, opened: out.opened, duplicate: out.duplicate })
}

/// Cuts `s` to `max` characters: mail may carry longer subjects, names and file names than the
/// desk keeps, and that must not make it unreadable (the original keeps them whole).
fn clamp(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn clamp_file_name(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_string();
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).filter(|e| e.len() <= 10).unwrap_or_default();
    let stem: String = name.chars().take(MAX_NAME_CHARS - ext.len() - 2).collect();
    if ext.is_empty() { format!("{stem}~") } else { format!("{stem}~.{ext}") }
}

fn stored_text(mail: &ParsedEmail, dropped_attachments: usize, left_out: usize) -> String {
    let mut text = if !mail.text.trim().is_empty() {
        mail.text.clone()
    } else if !mail.full_text.trim().is_empty() && mail.thread_ids.is_empty() {
        // A new message that is all "quote" (a forwarded mail) keeps its text.
        mail.full_text.trim().to_string()
    } else if !mail.attachments.is_empty() {
        "(attachments only)".to_string()
    } else {
        "(no text)".to_string()
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        text = text.chars().take(MAX_TEXT_CHARS).collect();
        text.push_str("\n\n[truncated; the whole message is attached as original.eml]");
    }
    if dropped_attachments > 0 {
        text.push_str(&format!(
            "\n\n[{dropped_attachments} attachment(s) over the size limit are only in original.eml]"
        ));
    }
    if left_out > 0 {
        text.push_str(&format!(
            "\n\n[{left_out} more attachment(s) past the limit of {} per message are only in original.eml]",
            crate::parse::MAX_ATTACHMENTS
        ));
    }
    text
}

/// The ticket a message belongs to: our Message-IDs in its headers, then the ticket tag in the
/// subject, then the marker in its body; `None` opens a new ticket. Tags and markers can be
/// typed by anyone, so they only count for mail from the ticket's requester.
pub async fn thread(desk: &Desk, ws: WorkspaceId, mail: &ParsedEmail) -> Result<Option<TicketId>, DeskError> {
    if let Some(t) = desk.email_ticket_by_message_ids(ws, &mail.thread_ids).await? {
        return Ok(Some(t));
    }
    for (prefix, number) in subject_tags(&mail.subject) {
        if let Some(t) = desk.email_ticket_by_number(ws, &prefix, number, &mail.from_address).await? {
            return Ok(Some(t));
        }
    }
    let bodies = [Some(mail.full_text.as_str()), mail.html.as_deref()];
    for body in bodies.into_iter().flatten() {
        if let Some(id) = marker_ticket(ws.0, body)
            && let Some(t) = desk.email_ticket_of_requester(ws, TicketId(id), &mail.from_address).await?
        {
            return Ok(Some(t));
        }
    }
    Ok(None)
}
