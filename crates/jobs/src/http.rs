//! Outbound webhook requests behind the SSRF guard.
//!
//! The URL was checked when the endpoint was saved, but a name can resolve elsewhere by the time
//! we send (DNS rebinding). So the client resolves names itself and refuses every private,
//! loopback or reserved address, checks literal addresses again, and never follows redirects.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use switchboard_desk::domain::{check_webhook_url, is_forbidden_address, signature_header};
use switchboard_desk::{AttemptOutcome, OutgoingDelivery};

/// Resolves host names and drops the addresses a webhook must not reach.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_forbidden_address(a.ip()))
                .collect();
            if addrs.is_empty() {
                let msg = format!("{host} resolves only to private, local or reserved addresses");
                return Err(Box::new(std::io::Error::new(std::io::ErrorKind::PermissionDenied, msg)) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client webhook deliveries go through.
#[derive(Debug, Clone)]
pub struct DeliveryClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl DeliveryClient {
    /// A client with a per-request time limit; `allow_private` is the operator's development switch.
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<DeliveryClient> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(DeliveryClient { client, allow_private })
    }
}

/// Sends one signed delivery and reports what happened; only a 2xx answer counts as delivered.
pub async fn send_delivery(client: &DeliveryClient, d: &OutgoingDelivery) -> AttemptOutcome {
    let started = Instant::now();
    let elapsed = |started: Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    // Literal addresses never reach the resolver, so they are checked here.
    if let Err(e) = check_webhook_url("url", &d.url, client.allow_private) {
        return AttemptOutcome { response_status: None, latency_ms: 0, error: Some(e.to_string()) };
    }
    let timestamp = i64::try_from(crate::now_secs()).unwrap_or_default();
    let signature = signature_header(&d.secret, timestamp, d.body.as_bytes());
    let sent = client
        .client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("switchboard-signature", signature)
        .header("switchboard-event", &d.event)
        .header("switchboard-delivery", d.id.0.to_string())
        .body(d.body.clone())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status();
            let latency_ms = elapsed(started);
            let error = (!status.is_success()).then(|| format!("the endpoint answered {status}"));
            AttemptOutcome { response_status: Some(status.as_u16()), latency_ms, error }
        }
        Err(e) => {
            // The whole source chain: "error sending request" alone says nothing.
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                source = s.source();
            }
            AttemptOutcome { response_status: None, latency_ms: elapsed(started), error: Some(msg) }
        }
    }
}
