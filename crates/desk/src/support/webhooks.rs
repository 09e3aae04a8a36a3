//! Webhook endpoints, and the deliveries of domain events to them.

use switchboard_domain::*;
use switchboard_store::*;

use crate::{Desk, DeskError, require};
use rand::RngCore;

use super::MAX_LIST;
use crate::sealed::SecretKind;

/// A webhook endpoint as an admin writes it.
#[derive(Debug, Clone)]
pub struct WebhookChange {
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<WebhookEvent>,
    /// A signing secret to use; one is generated for a new endpoint when absent.
    pub secret: Option<String>,
    /// For an update: the endpoint's version when the form was loaded. A newer one (someone saved
    /// since) is refused; `None` saves over whatever is there (callers from before versions).
    pub version: Option<i64>,
}

/// A saved endpoint, and its signing secret when it was just generated (shown once).
#[derive(Debug, Clone)]
pub struct SavedWebhook {
    pub webhook: WebhookRecord,
    pub new_secret: Option<String>,
}

/// A delivery ready to send: where, what, and the secret to sign it with.
#[derive(Debug, Clone)]
pub struct OutgoingDelivery {
    pub id: WebhookDeliveryId,
    pub url: String,
    pub event: String,
    pub body: String,
    pub secret: Vec<u8>,
    pub attempts: i64,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub response_status: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed; `None` for a 2xx answer.
    pub error: Option<String>,
}

impl Desk {
    /// The workspace's webhook endpoints.
    pub async fn webhooks(&self, actor: &Actor) -> Result<Vec<WebhookRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        Ok(self.store().read().await?.list_webhooks(actor.workspace_id).await?)
    }

    /// Creates or updates a webhook endpoint. The URL's host, and every address it resolves to
    /// now, must pass the operator's outbound policy.
    pub async fn save_webhook(
        &self,
        actor: &Actor,
        id: Option<WebhookId>,
        input: WebhookChange,
    ) -> Result<SavedWebhook, DeskError> {
        require(actor, Permission::Admin)?;
        let ws = actor.workspace_id;
        let name = validate_name("name", &input.name)?;
        let url = check_webhook_url("url", &input.url, self.outbound().policy())?;
        self.outbound().check_saved_host("url", url.host(), url.port(), None).await?;
        if input.events.is_empty() {
            return Err(DeskError::invalid("events", "choose at least one event"));
        }
        let mut events: Vec<&str> = input.events.iter().map(|e| e.as_str()).collect();
        events.sort_unstable();
        events.dedup();
        let new_secret = match (&input.secret, id) {
            (Some(s), _) if s.trim().len() < 16 || s.len() > 200 => {
                return Err(DeskError::invalid("secret", "must be 16-200 characters"));
            }
            (Some(_), _) => None,
            (None, None) => {
                let mut raw = [0u8; 24];
                rand::thread_rng().fill_bytes(&mut raw);
                Some(format!("whsec_{}", hex::encode(raw)))
            }
            (None, Some(_)) => None,
        };
        let secret_enc = match input.secret.as_deref().map(str::trim).or(new_secret.as_deref()) {
            Some(s) => Some(self.seal(SecretKind::WebhookSecret, s)?),
            None => None,
        };
        let mut tx = self.store().write().await?;
        if let Some(id) = id {
            tx.webhook_by_id(ws, id).await?.ok_or(DeskError::NotFound("webhook"))?;
            self.take_version(&mut tx, actor, EditedForm::Webhook(id), "webhook", input.version).await?;
        }
        let webhook = tx
            .upsert_webhook(
                ws,
                id,
                &name,
                url.as_str(),
                input.enabled,
                &events.join(","),
                secret_enc.as_deref(),
                self.now(),
            )
            .await
            .map_err(crate::admin::conflict_as_field("name", "this name"))?;
        tx.commit().await?;
        Ok(SavedWebhook { webhook, new_secret })
    }

    /// Deletes a webhook endpoint and its delivery log.
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> Result<(), DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        if !tx.delete_webhook(actor.workspace_id, id).await? {
            return Err(DeskError::NotFound("webhook"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest deliveries of an endpoint.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: WebhookId,
        limit: i64,
    ) -> Result<Vec<WebhookDeliveryRecord>, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().read().await?;
        tx.webhook_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("webhook"))?;
        Ok(tx.list_webhook_deliveries(actor.workspace_id, id, limit.clamp(1, MAX_LIST)).await?)
    }

    /// Queues a `webhook.test` event for one endpoint, whatever its event selection.
    pub async fn send_test_webhook(&self, actor: &Actor, id: WebhookId) -> Result<WebhookDeliveryId, DeskError> {
        require(actor, Permission::Admin)?;
        let mut tx = self.store().write().await?;
        let hook = tx.webhook_by_id(actor.workspace_id, id).await?.ok_or(DeskError::NotFound("webhook"))?;
        let now = self.now();
        let test_id = format!("evt_test_{}_{now}", hook.id);
        let body = webhook_body(
            &test_id,
            "webhook.test",
            now,
            &serde_json::json!({ "webhook": hook.name, "actor": actor.label }),
        );
        let delivery = tx.insert_webhook_delivery(actor.workspace_id, id, "webhook.test", &body, now).await?;
        tx.commit().await?;
        Ok(delivery)
    }

    /// Turns new domain events into webhook deliveries for the endpoints subscribed to them,
    /// reading the event stream from where it stopped last time. Returns the new deliveries.
    pub async fn dispatch_events(&self) -> Result<Vec<WebhookDeliveryId>, DeskError> {
        const CURSOR: &str = "webhooks";
        let mut created = Vec::new();
        loop {
            // Look before taking the write lock: most ticks find nothing new.
            let mut peek = self.store().read().await?;
            let seen = peek.stream_cursor(CURSOR).await?;
            if peek.events_after(seen, 1).await?.is_empty() {
                break;
            }
            drop(peek);
            let mut tx = self.store().write().await?;
            let after = tx.lock_stream_cursor(CURSOR).await?;
            let events = tx.events_after(after, 500).await?;
            let Some(last) = events.last().map(EventRecord::position) else { break };
            for e in &events {
                let kind = e.kind.as_str();
                if WebhookEvent::parse("event", kind).is_err() {
                    continue;
                }
                let hooks = tx.webhooks_for_event(e.workspace_id, kind).await?;
                if hooks.is_empty() {
                    continue;
                }
                let data: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
                let body = webhook_body(&format!("evt_{}", e.id), kind, e.created_at, &data);
                for h in hooks {
                    created.push(tx.insert_webhook_delivery(e.workspace_id, h.id, kind, &body, self.now()).await?);
                }
            }
            tx.set_stream_cursor(CURSOR, last).await?;
            tx.commit().await?;
            if events.len() < 500 {
                break;
            }
        }
        Ok(created)
    }

    /// Pending deliveries whose next attempt is due, with the attempts made so far.
    pub async fn due_deliveries(&self) -> Result<Vec<(WebhookDeliveryId, i64)>, DeskError> {
        Ok(self.store().read().await?.due_webhook_deliveries(self.now(), 500).await?)
    }

    /// A pending delivery with what is needed to send it; `None` when it is no longer pending
    /// (delivered meanwhile, given up, or its endpoint was deleted or disabled).
    pub async fn delivery_to_send(&self, id: WebhookDeliveryId) -> Result<Option<OutgoingDelivery>, DeskError> {
        let mut tx = self.store().read().await?;
        let Some(d) = tx.webhook_delivery(id).await?.filter(|d| d.status == WebhookDeliveryStatus::Pending) else {
            return Ok(None);
        };
        let Some(hook) = tx.webhook_by_id(d.workspace_id, d.webhook_id).await?.filter(|h| h.enabled) else {
            return Ok(None);
        };
        Ok(Some(OutgoingDelivery {
            id,
            url: hook.url,
            event: d.event,
            body: d.payload,
            secret: self.open_sealed(SecretKind::WebhookSecret, &hook.secret_enc)?.into_bytes(),
            attempts: d.attempts,
        }))
    }

    /// Records an attempt: delivered on a 2xx, else retried after a backoff of `retry_base_ms`
    /// times 3^(attempt-1) until the attempts run out. Returns when to try again, if at all.
    pub async fn record_attempt(
        &self,
        d: &OutgoingDelivery,
        outcome: AttemptOutcome,
        retry_base_ms: i64,
    ) -> Result<Option<Millis>, DeskError> {
        let now = self.now();
        let attempt = d.attempts + 1;
        let (status, next) = match &outcome.error {
            None => (WebhookDeliveryStatus::Delivered, None),
            Some(_) => match retry_delay_ms(attempt, retry_base_ms) {
                Some(delay) => (WebhookDeliveryStatus::Pending, Some(now + delay)),
                None => (WebhookDeliveryStatus::Failed, None),
            },
        };
        let mut tx = self.store().write().await?;
        tx.record_delivery_attempt(
            d.id,
            &DeliveryAttempt {
                status,
                next_attempt_at: next.unwrap_or(now),
                response_status: outcome.response_status.map(i64::from),
                latency_ms: outcome.latency_ms,
                error: outcome.error,
                now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(next)
    }
}

/// The JSON body of a webhook delivery: fixed when queued, so every retry sends the same bytes
/// and receivers can deduplicate on `id`.
fn webhook_body(id: &str, kind: &str, at: Millis, data: &serde_json::Value) -> String {
    let created = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
    serde_json::json!({
        "id": id,
        "type": kind,
        "createdAt": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}
