//! GraphQL types of webhook endpoints and their deliveries.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use switchboard_desk::domain as d;
use switchboard_desk::store::{WebhookDeliveryRecord, WebhookRecord};
use switchboard_desk::{self as desk_api, DeskError};

use crate::types::{id, remote_enum, time, time_opt};
use crate::{actor, desk};

remote_enum!(
/// An event webhook endpoints can subscribe to (`TICKET_OPENED` is sent as `ticket.opened`).
WebhookEvent => "d::WebhookEvent" {
    TicketOpened, TicketEscalated, TicketClosed, TicketUpdated, EntryCreated, CsatNegative, SlaBreach
});

/// Where a webhook delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "d::WebhookDeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Not delivered yet; retried at `nextAttemptAt`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; no more are made.
    Failed,
}

/// A webhook endpoint (its signing secret is never shown after it is set).
pub struct Webhook(pub WebhookRecord);

crate::stamp::version_stamp!(WebhookStamp, "WebhookInput", "endpoint");

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// The events sent to it, in the enum's order.
    async fn events(&self) -> Vec<WebhookEvent> {
        let stored: Vec<&str> = self.0.events.split(',').collect();
        d::WebhookEvent::ALL.iter().filter(|e| stored.contains(&e.as_str())).map(|e| (*e).into()).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        time(self.0.updated_at)
    }
    #[graphql(flatten)]
    async fn stamp(&self) -> WebhookStamp {
        WebhookStamp::of(self.0.version, &self.0.updated_by)
    }
    /// The newest deliveries to it, newest first; `first` up to 200.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 200) as usize * child_complexity")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i64>,
    ) -> Result<Vec<WebhookDelivery>, DeskError> {
        let list = desk(ctx).webhook_deliveries(actor(ctx)?, self.0.id, first.unwrap_or(20)).await?;
        Ok(list.into_iter().map(WebhookDelivery).collect())
    }
}

/// One event's delivery to a webhook endpoint.
pub struct WebhookDelivery(pub WebhookDeliveryRecord);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        id(self.0.id.0)
    }
    /// The event sent, e.g. `ticket.opened`, or `webhook.test`.
    async fn event(&self) -> &str {
        &self.0.event
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i64 {
        self.0.attempts
    }
    /// The HTTP status of the last answer, when there was one.
    async fn response_status(&self) -> Option<i64> {
        self.0.response_status
    }
    /// How long the last attempt took.
    async fn latency_ms(&self) -> Option<i64> {
        self.0.latency_ms
    }
    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        time(self.0.created_at)
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        time_opt(self.0.delivered_at)
    }
    /// When the next attempt is due, while the delivery is pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == d::WebhookDeliveryStatus::Pending).then(|| time(self.0.next_attempt_at))
    }
}

/// A webhook endpoint as an admin writes it.
#[derive(InputObject)]
pub struct WebhookInput {
    pub name: String,
    /// An http(s) URL; private and local addresses are refused unless the operator allowed them.
    pub url: String,
    #[graphql(default = true)]
    pub enabled: bool,
    /// At least one event.
    pub events: Vec<WebhookEvent>,
    /// The signing secret (16-200 characters). A new endpoint without one gets a generated
    /// secret, shown once; an edited endpoint without one keeps its secret.
    pub secret: Option<String>,
    /// The endpoint's `version` when the form was loaded, for an update: a save over a newer
    /// version is refused with CONFLICT naming who saved it and when. Without it the save
    /// applies whatever was saved since (as before versions existed).
    pub version: Option<i64>,
}

impl From<WebhookInput> for desk_api::WebhookChange {
    fn from(w: WebhookInput) -> Self {
        desk_api::WebhookChange {
            name: w.name,
            url: w.url,
            enabled: w.enabled,
            events: w.events.into_iter().map(Into::into).collect(),
            secret: w.secret,
            version: w.version,
        }
    }
}

/// A saved webhook endpoint.
#[derive(SimpleObject)]
pub struct SavedWebhook {
    pub webhook: Webhook,
    /// The generated signing secret, shown this once; absent when none was generated.
    pub secret: Option<String>,
}
