//! The email channel. Mail comes in two ways, an IMAP poller ([`imap`]) and a raw-MIME HTTP
//! endpoint ([`router`]), and both go through [`inbound::receive`]: dedupe per mailbox, parse
//! ([`parse`], pure), thread, `Desk::ingest`. Replies go out through the outbox and
//! [`outbound::EmailSender`] over SMTP. The crate reaches the core through `Desk` methods and
//! the desk's channel kit; its own use cases ([`EmailDesk`]), queries and records live here.

mod desk;
pub mod graphql;
pub mod html;
pub mod imap;
pub mod inbound;
mod module;
pub mod outbound;
pub mod parse;
pub mod queries;
pub mod records;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use switchboard_desk::domain::{ChannelAccountId, ErrorCode};
use switchboard_desk::{Desk, DeskError};

pub use desk::*;
pub use graphql::{EmailMutation, EmailQuery};
pub use inbound::{Received, receive};
pub use module::EmailModule;
pub use outbound::EmailSender;
pub use parse::{ParsedEmail, Rejection, parse_email};
pub use records::{EMAIL_CHANNEL, EmailMessageRecord, MailboxRecord};

/// The channel's operator settings (from `SWITCHBOARD_EMAIL_*`).
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// Largest message taken, in bytes; larger ones are refused (HTTP 413) or quarantined (IMAP).
    pub max_message_bytes: usize,
    /// How often each IMAP mailbox is read when the server has no IDLE (and how long one IDLE lasts).
    pub poll_interval: Duration,
    /// Connect and SMTP timeouts.
    pub network_timeout: Duration,
    /// At most this many acknowledgements to one sender per window.
    pub ack_max_per_sender: i64,
    pub ack_window_ms: i64,
    /// Longest a message may take to parse (off the async workers); past it the message is
    /// quarantined with that reason.
    pub parse_budget: Duration,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            max_message_bytes: 25 * 1024 * 1024,
            poll_interval: Duration::from_secs(60),
            network_timeout: Duration::from_secs(30),
            ack_max_per_sender: 3,
            ack_window_ms: 3_600_000,
            parse_budget: Duration::from_secs(20),
        }
    }
}

#[derive(Clone)]
struct InboundState {
    desk: Desk,
    settings: EmailSettings,
}

/// `POST /inbound/email/{mailbox}`: a raw RFC 5322 message in the body, the mailbox's inbound
/// secret as a bearer token. Answers 202 with what became of it, or 4xx with the reason.
pub fn router(desk: Desk, settings: EmailSettings) -> Router {
    // The handler reads the body against the email size limit itself, so it can name it.
    Router::new()
        .route("/inbound/email/{mailbox}", post(inbound_endpoint))
        .layer(DefaultBodyLimit::disable())
        .with_state(InboundState { desk, settings })
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// A JSON error body in the GraphQL shape, with the code's status.
fn error(code: ErrorCode, message: &str) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_with_status(status, code, message)
}

fn error_with_status(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    json(status, serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }))
}

async fn inbound_endpoint(
    State(s): State<InboundState>,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or_default();
    let Some(id) = mailbox.parse::<i64>().ok().filter(|n| *n > 0).map(ChannelAccountId) else {
        return error(ErrorCode::NotFound, "no such mailbox");
    };
    if secret.is_empty() {
        return error(ErrorCode::Unauthenticated, "send the mailbox's inbound secret as a bearer token");
    }
    let mailbox = match s.desk.email_mailbox_for_inbound(id, secret).await {
        Ok(m) => m,
        Err(DeskError::Unauthenticated(m)) => return error(ErrorCode::Unauthenticated, &m),
        Err(e) => {
            tracing::error!(error = %e, "inbound email: reading the mailbox failed");
            return error(ErrorCode::Unavailable, "try again later");
        }
    };
    let limit = s.settings.max_message_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            let declared = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n > limit);
            let message = match declared {
                Some(size) => Rejection::TooLarge { size, limit }.to_string(),
                None => format!("the message is larger than this mailbox takes ({limit} bytes at most)"),
            };
            return error(ErrorCode::MessageTooLarge, &message);
        }
    };
    if body.is_empty() {
        return error(ErrorCode::EmptyMessage, "the body must be a raw RFC 5322 message");
    }
    match receive(&s.desk, &s.settings, &mailbox, &body).await {
        Ok(Received::Ticket { ticket_id, opened, duplicate }) => json(
            StatusCode::ACCEPTED,
            serde_json::json!({ "outcome": "ticket", "ticketId": ticket_id.0.to_string(), "opened": opened, "duplicate": duplicate }),
        ),
        Ok(Received::AutoReply { reason, duplicate }) => json(
            StatusCode::ACCEPTED,
            serde_json::json!({ "outcome": "auto_reply", "reason": reason, "duplicate": duplicate }),
        ),
        Ok(Received::Bounce { ticket_id, duplicate }) => json(
            StatusCode::ACCEPTED,
            serde_json::json!({ "outcome": "bounce", "ticketId": ticket_id.map(|t| t.0.to_string()), "duplicate": duplicate }),
        ),
        Ok(Received::Quarantined { rejection, .. }) => {
            let message = format!("{rejection}; it was kept for an admin to look at");
            match rejection {
                // Kept, but the size is what the sender can fix: 413 as for any body too large.
                Rejection::TooLarge { .. } => {
                    error_with_status(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::Quarantined, &message)
                }
                Rejection::Unparseable(_) | Rejection::OverLimit(_) => error(ErrorCode::Quarantined, &message),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "inbound email could not be committed");
            error(ErrorCode::Unavailable, "the message was not taken; try again later")
        }
    }
}
