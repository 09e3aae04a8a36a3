//! Rows for webhooks and their deliveries.

use switchboard_domain::*;

/// A webhook endpoint; the secret stays encrypted here.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRecord {
    pub id: WebhookId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    /// Comma-joined event names.
    pub events: String,
    pub secret_enc: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Goes up by one with every save of its admin form; a save names the one it started from.
    pub version: i64,
    /// Who saved the form last (their label); unset before its first edit.
    pub updated_by: Option<String>,
}

/// One event's delivery to one endpoint, with its outcome so far.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookDeliveryRecord {
    pub id: WebhookDeliveryId,
    pub workspace_id: WorkspaceId,
    pub webhook_id: WebhookId,
    pub event: String,
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub status: WebhookDeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub response_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub delivered_at: Option<Millis>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub status: WebhookDeliveryStatus,
    pub next_attempt_at: Millis,
    pub response_status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub now: Millis,
}
