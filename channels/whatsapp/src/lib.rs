//! The WhatsApp channel (Meta's Cloud API).
//!
//! - `GET /webhooks/whatsapp` answers Meta's verification handshake.
//! - `POST /webhooks/whatsapp` checks `X-Hub-Signature-256` before reading anything, stores the
//!   notification in a durable inbox, answers 200, and processes it right away in a task; a sweep
//!   picks up whatever a crash left unprocessed.
//! - Messages drive the support chat skills or join the contact's open ticket; status updates are
//!   recorded on the delivery of the matching outbound entry.
//! - [`WhatsappSender`] delivers staff replies from the outbox through the Graph API, within the
//!   24-hour customer-service window and the throughput limits.
//!
//! The adapter reaches the core through [`Desk`] and the desk's channel kit; its own use cases
//! ([`WhatsappDesk`]), queries and records live here.

mod desk;
mod graph;
pub mod graphql;
mod inbound;
mod limits;
mod module;
pub mod payload;
pub mod queries;
pub mod records;
mod skills;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_desk::domain::Channel;
use switchboard_desk::{ChannelSender, DeliveryOutcome, Desk, OutboundMessage};

pub use desk::*;
pub use graph::{GraphClient, GraphError, Media};
pub use graphql::{WhatsAppMutation, WhatsAppQuery};
pub use limits::SendLimits;
pub use module::WhatsappModule;
pub use records::{
    WHATSAPP_CHANNEL, WhatsappConversationRecord, WhatsappInboxId, WhatsappInboxRecord, WhatsappNumberRecord,
};

/// Meta's production Graph API, with the version this adapter is written against.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com/v21.0";

/// Meta's customer-service window: free-form messages only within 24 hours of the contact's last.
pub const SERVICE_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Processed notifications and handled message ids are kept this long (Meta redelivers for up
/// to 7 days; the rest is for looking into what arrived).
pub const INBOX_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

/// The channel's server configuration.
#[derive(Debug, Clone)]
pub struct WhatsappConfig {
    /// The Meta app secret that signs notifications; without it every POST is refused.
    pub app_secret: Option<String>,
    /// The token Meta echoes in the verification handshake; without it verification is refused.
    pub verify_token: Option<String>,
    /// The Graph API base with its version, e.g. [`DEFAULT_GRAPH_URL`].
    pub graph_url: String,
    /// How often the inbox sweep looks for notifications a crash left unprocessed.
    pub sweep_interval: Duration,
}

impl Default for WhatsappConfig {
    fn default() -> Self {
        WhatsappConfig {
            app_secret: None,
            verify_token: None,
            graph_url: DEFAULT_GRAPH_URL.into(),
            sweep_interval: Duration::from_secs(30),
        }
    }
}

/// The channel: configuration, the Graph API client and the send limits, shared by the webhook,
/// the chat skills and the outbox sender.
#[derive(Debug)]
pub struct WhatsappChannel {
    desk: Desk,
    config: WhatsappConfig,
    graph: GraphClient,
    limits: SendLimits,
}

impl WhatsappChannel {
    /// A channel over `desk`.
    pub fn new(desk: Desk, config: WhatsappConfig) -> Arc<WhatsappChannel> {
        let graph = GraphClient::new(&config.graph_url);
        Arc::new(WhatsappChannel { desk, config, graph, limits: SendLimits::default() })
    }

    /// Sends one message body as `route`'s number, within the throughput limits; returns the wamid.
    pub(crate) async fn send(&self, route: &WhatsappRoute, to: &str, body: &Value) -> Result<String, GraphError> {
        if !self.limits.acquire(&route.phone_number_id, to, Duration::from_secs(20)).await {
            return Err(GraphError::Transient(
                "held back by the per-recipient rate limit (about one message per 6 seconds to the same contact)"
                    .into(),
            ));
        }
        self.graph.send_message(&route.phone_number_id, &route.access_token, body).await
    }
}

/// The webhook routes, to merge into the server's router.
pub fn router(channel: Arc<WhatsappChannel>) -> Router {
    Router::new().route("/webhooks/whatsapp", get(verify).post(notify)).with_state(channel)
}

/// Compares two secrets in time independent of where they differ (digests have a fixed length).
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn verify(State(ch): State<Arc<WhatsappChannel>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or_default();
    let challenge = q.get("hub.challenge").cloned().unwrap_or_default();
    match ch.config.verify_token.as_deref() {
        Some(expected) if mode == Some("subscribe") && same_secret(token, expected) => {
            (StatusCode::OK, challenge).into_response()
        }
        _ => (StatusCode::FORBIDDEN, "verification refused").into_response(),
    }
}

/// Checks `sha256=<hex>` against the HMAC-SHA256 of the raw body, in constant time.
pub fn signature_is_valid(app_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Ok(sig) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn notify(State(ch): State<Arc<WhatsappChannel>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = ch.config.app_secret.as_deref() else {
        tracing::warn!("a WhatsApp notification arrived but SWITCHBOARD_WHATSAPP_APP_SECRET is not set");
        return (StatusCode::UNAUTHORIZED, "signature cannot be checked: no app secret configured").into_response();
    };
    let header = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature_is_valid(secret, header, &body) {
        return (StatusCode::UNAUTHORIZED, "bad or missing X-Hub-Signature-256").into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8 JSON").into_response();
    };
    // A body that is not a JSON object holds no item to save, so the sender hears why now. Past
    // this check each item is read on its own, and one malformed item never costs a 400 (on which
    // Meta would redeliver the valid items beside it for days).
    if !is_json_object(text) {
        return (StatusCode::BAD_REQUEST, "the body is not a JSON object").into_response();
    }
    // Stored before answering: once Meta hears 200 it will not send this again.
    let id = match ch.desk.store_whatsapp_notification(text).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "storing a WhatsApp notification failed");
            // Not 200, so Meta redelivers it later.
            return (StatusCode::INTERNAL_SERVER_ERROR, "not stored; send it again").into_response();
        }
    };
    let task = ch.clone();
    tokio::spawn(async move { task.process_notification(id).await });
    StatusCode::OK.into_response()
}

/// Whether `text` is one JSON object, checked without building it.
fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// Processes the inbox every `sweep_interval`: notifications older than that which are still
/// unprocessed (the process died, or a transient failure left them) are tried again.
pub fn spawn_sweep(channel: Arc<WhatsappChannel>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(sweep(channel))
}

/// The loop [`spawn_sweep`] runs; it never ends by itself. Old inbox rows are purged by the
/// module's maintenance ([`WhatsappModule`]), not here.
pub(crate) async fn sweep(channel: Arc<WhatsappChannel>) {
    let every = channel.config.sweep_interval;
    // The first pass at start-up takes everything stored before a crash; later passes leave
    // fresh notifications to the task the webhook spawned for them.
    let mut min_age = 0;
    loop {
        match channel.desk.pending_whatsapp_notifications(min_age, 100).await {
            Ok(ids) => {
                for id in ids {
                    channel.process_notification(id).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the WhatsApp inbox failed"),
        }
        min_age = i64::try_from(every.as_millis()).unwrap_or(30_000);
        tokio::time::sleep(every).await;
    }
}

/// Delivers staff replies on WhatsApp tickets from the outbox.
#[derive(Debug, Clone)]
pub struct WhatsappSender(pub Arc<WhatsappChannel>);

impl ChannelSender for WhatsappSender {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn send<'a>(&'a self, msg: &'a OutboundMessage) -> Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>> {
        Box::pin(self.0.deliver(msg))
    }
}

impl WhatsappChannel {
    async fn deliver(&self, msg: &OutboundMessage) -> DeliveryOutcome {
        let to = match msg.requester.identity(Channel::Whatsapp).map(str::to_string).or_else(|| {
            msg.requester.phone.as_deref().map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
        }) {
            Some(to) if !to.is_empty() => to,
            _ => return DeliveryOutcome::Failed { error: "the requester has no WhatsApp number".into() },
        };
        // The number the ticket came in on, so the contact hears back from the number they wrote to.
        let route = match self.desk.whatsapp_route_for_ticket(msg.workspace_id, msg.channel_account_id, &to).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return DeliveryOutcome::Failed { error: "the workspace has no WhatsApp number configured".into() };
            }
            Err(e) => return DeliveryOutcome::Retry { error: format!("reading the WhatsApp number: {e}") },
        };
        let template = match self.desk.whatsapp_template_of_entry(msg.entry_id).await {
            Ok(t) => t,
            Err(e) => return DeliveryOutcome::Retry { error: format!("reading the entry: {e}") },
        };
        let body = match &template {
            Some((name, language)) => payload::template_message(&to, name, language),
            None => {
                // Meta refuses free-form messages outside the window (error 131047); do not try.
                let now = self.desk.now();
                let open = msg.last_customer_message_at.is_some_and(|last| now - last < SERVICE_WINDOW_MS);
                if !open {
                    let error = match route.template.as_ref() {
                        Some((name, _)) => format!(
                            "not sent: outside WhatsApp's 24-hour customer-service window (the contact has not written in the last 24 hours); send the template message \"{name}\" instead"
                        ),
                        None => "not sent: outside WhatsApp's 24-hour customer-service window (the contact has not written in the last 24 hours), and no template message is configured for this number".into(),
                    };
                    return DeliveryOutcome::Failed { error };
                }
                for a in &msg.attachments {
                    let media_id = match self
                        .graph
                        .upload_media(
                            &route.phone_number_id,
                            &route.access_token,
                            &a.file_name,
                            &a.content_type,
                            a.bytes.clone(),
                        )
                        .await
                    {
                        Ok(id) => id,
                        Err(e) => return outcome_of(e),
                    };
                    let m = payload::media_message(&to, &media_id, &a.content_type, &a.file_name);
                    if let Err(e) = self.send(&route, &to, &m).await {
                        return outcome_of(e);
                    }
                }
                payload::text_message(&to, &msg.body)
            }
        };
        match self.send(&route, &to, &body).await {
            Ok(wamid) => DeliveryOutcome::Sent { external_message_id: Some(wamid) },
            Err(e) => outcome_of(e),
        }
    }
}

fn outcome_of(e: GraphError) -> DeliveryOutcome {
    match e {
        GraphError::Transient(error) => DeliveryOutcome::Retry { error },
        GraphError::Permanent(error) => DeliveryOutcome::Failed { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_against_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"app-secret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_is_valid("app-secret", Some(&good), body));
        assert!(!signature_is_valid("other-secret", Some(&good), body));
        assert!(!signature_is_valid("app-secret", Some(&good), b"{}"));
        assert!(!signature_is_valid("app-secret", None, body));
        assert!(!signature_is_valid("app-secret", Some("sha256=zz"), body));
        assert!(!signature_is_valid("app-secret", Some(good.trim_start_matches("sha256=")), body));
    }

    #[test]
    fn only_a_json_object_is_taken_as_a_notification() {
        assert!(is_json_object(r#" {"object":"whatsapp_business_account","entry":[{"changes":"odd"}]}"#));
        for body in ["", "null", "[]", "\"x\"", "{", r#"{"a":1} trailing"#, "not json"] {
            assert!(!is_json_object(body), "{body}");
        }
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same_secret("verify-me", "verify-me"));
        assert!(!same_secret("verify-me", "verify-mE"));
        assert!(!same_secret("", "verify-me"));
    }
}
