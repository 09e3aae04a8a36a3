//! Outbound webhook requests behind the outbound guard.
//!
//! The URL was checked when the endpoint was saved, but a name can resolve elsewhere by the time
//! we send (DNS rebinding). So every send checks the URL again and resolves its host through the
//! desk's [`OutboundGuard`] first, refusing it when any address is not allowed; redirects are
//! never followed.
//!
//! Direct requests connect only to addresses the guard checked: reqwest asks [`GuardedResolver`],
//! which is the guard. Through a proxy the check still happens before the proxy is asked, but the
//! proxy resolves the name again itself: a name that changes its answer between the two lookups
//! could still reach what the proxy can reach. Operators close that gap in the proxy (refuse
//! private, loopback and link-local destinations there) or with an egress firewall.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_desk::domain::{check_webhook_url, signature_header};
use switchboard_desk::egress::{GuardedResolver, OutboundGuard};
use switchboard_desk::{AttemptOutcome, OutgoingDelivery};

/// The HTTP proxies webhook deliveries go through (the standard `HTTPS_PROXY`, `HTTP_PROXY`,
/// `ALL_PROXY` and `NO_PROXY` settings); none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookProxy {
    /// Proxy for `http://` URLs.
    pub http: Option<String>,
    /// Proxy for `https://` URLs.
    pub https: Option<String>,
    /// Hosts reached directly, in the `NO_PROXY` format.
    pub no_proxy: Option<String>,
}

impl WebhookProxy {
    fn urls(&self) -> impl Iterator<Item = &String> {
        self.http.iter().chain(self.https.iter())
    }
}

/// The HTTP client webhook deliveries go through.
#[derive(Debug, Clone)]
pub struct DeliveryClient {
    client: reqwest::Client,
    guard: OutboundGuard,
}

impl DeliveryClient {
    /// A client with a per-request time limit that connects only where `guard` allows, directly
    /// or through `proxy`.
    pub fn new(timeout: Duration, guard: OutboundGuard, proxy: &WebhookProxy) -> anyhow::Result<DeliveryClient> {
        let proxy_hosts = proxy
            .urls()
            .map(|u| {
                let url = reqwest::Url::parse(u).map_err(|e| anyhow::anyhow!("the proxy {u:?} is not a URL: {e}"))?;
                Ok(url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_ascii_lowercase())
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        // Only the proxies configured here: reqwest would otherwise read the environment on its
        // own, and the proxy in use would be one nobody checked.
        let mut builder = switchboard_desk::egress::http_client_builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(guard.clone(), proxy_hosts)))
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")));
        let no_proxy = || proxy.no_proxy.as_deref().and_then(reqwest::NoProxy::from_string);
        if let Some(p) = &proxy.http {
            builder = builder.proxy(reqwest::Proxy::http(p)?.no_proxy(no_proxy()));
        }
        if let Some(p) = &proxy.https {
            builder = builder.proxy(reqwest::Proxy::https(p)?.no_proxy(no_proxy()));
        }
        Ok(DeliveryClient { client: builder.build()?, guard })
    }
}

/// Sends one signed delivery and reports what happened; only a 2xx answer counts as delivered.
pub async fn send_delivery(client: &DeliveryClient, d: &OutgoingDelivery) -> AttemptOutcome {
    let started = Instant::now();
    let elapsed = |started: Instant| i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let refused = |error: String| AttemptOutcome { response_status: None, latency_ms: 0, error: Some(error) };
    let url = match check_webhook_url("url", &d.url, client.guard.policy()) {
        Ok(u) => u,
        Err(e) => return refused(e.to_string()),
    };
    // Before any connection, proxy or not: a proxy would otherwise be handed a name nobody checked.
    if let Err(e) = client.guard.resolve("url", url.host(), url.port()).await {
        return refused(e.to_string());
    }
    let timestamp = i64::try_from(crate::now_secs()).unwrap_or_default();
    let signature = signature_header(&d.secret, timestamp, d.body.as_bytes());
    let sent = client
        .client
        .post(url.as_str())
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use switchboard_desk::domain::{OutboundPolicy, WebhookDeliveryId};
    use switchboard_desk::egress::FixedResolver;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A TCP listener on loopback that counts connections and answers each with `200 OK`: a
    /// webhook receiver, or an HTTP proxy double (a proxy answers plain-HTTP requests itself).
    async fn listener() -> (u16, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let asked = Arc::new(AtomicUsize::new(0));
        let count = asked.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                });
            }
        });
        (port, asked)
    }

    fn delivery(url: &str) -> OutgoingDelivery {
        OutgoingDelivery {
            id: WebhookDeliveryId(1),
            url: url.into(),
            event: "ticket.opened".into(),
            body: "{}".into(),
            secret: b"whsec_0123456789abcdef".to_vec(),
            attempts: 0,
        }
    }

    // Names point where the test says, without touching the network: nothing here may reach a
    // non-loopback address, and the refused ones are refused before any connection.
    fn guard(allow: &str) -> OutboundGuard {
        let table = FixedResolver::of(&[
            ("hooks.internal.test", &["10.0.0.7"]),
            ("metadata.test", &["93.184.216.34", "169.254.169.254"]),
            ("hooks.public.test", &["93.184.216.34"]),
            ("hooks.loopback.test", &["127.0.0.1"]),
        ]);
        OutboundGuard::new(OutboundPolicy::parse(allow).unwrap(), Arc::new(table))
    }

    fn client(allow: &str, proxy: &WebhookProxy) -> DeliveryClient {
        DeliveryClient::new(Duration::from_secs(5), guard(allow), proxy).unwrap()
    }

    #[tokio::test]
    async fn a_proxy_is_never_asked_for_a_private_target() {
        let (port, asked) = listener().await;
        let proxy = WebhookProxy { http: Some(format!("http://127.0.0.1:{port}")), ..Default::default() };
        let c = client("", &proxy);
        for url in ["http://hooks.internal.test/in", "http://metadata.test/latest", "http://hooks.loopback.test/"] {
            let out = send_delivery(&c, &delivery(url)).await;
            let error = out.error.unwrap_or_default();
            assert!(error.starts_with("url: "), "{url}: {error}");
            assert!(error.contains("unless its operator allows it"), "{url}: {error}");
        }
        assert_eq!(asked.load(Ordering::SeqCst), 0, "the proxy was asked for a private target");
        // A public target goes through the proxy (which answers for it here).
        let out = send_delivery(&c, &delivery("http://hooks.public.test/in")).await;
        assert_eq!(out.response_status, Some(200), "{:?}", out.error);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn without_a_proxy_names_resolving_to_private_addresses_are_refused_before_connecting() {
        let (port, asked) = listener().await;
        let c = client("", &WebhookProxy::default());
        let out = send_delivery(&c, &delivery(&format!("http://hooks.loopback.test:{port}/in"))).await;
        assert!(out.error.unwrap_or_default().contains("hooks.loopback.test resolves to 127.0.0.1, a loopback"));
        let out = send_delivery(&c, &delivery("http://hooks.internal.test/in")).await;
        assert!(out.error.unwrap_or_default().contains("10.0.0.7, a private network address"));
        assert_eq!(asked.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_operator_can_allow_a_network_or_a_name() {
        let (port, asked) = listener().await;
        for allow in ["127.0.0.0/8", "hooks.loopback.test"] {
            let c = client(allow, &WebhookProxy::default());
            let out = send_delivery(&c, &delivery(&format!("http://hooks.loopback.test:{port}/in"))).await;
            assert_eq!(out.response_status, Some(200), "{allow}: {:?}", out.error);
            // Allowing one thing allows nothing else.
            let out = send_delivery(&c, &delivery("http://hooks.internal.test/in")).await;
            assert!(out.error.unwrap_or_default().contains("10.0.0.7"), "{allow}");
        }
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }
}
