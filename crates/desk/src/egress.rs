//! The outbound guard: every connection the server opens to a host a tenant typed (webhooks, a
//! channel account's servers, and what comes later: knowledge sources, the LLM provider)
//! goes through [`OutboundGuard`].
//!
//! It resolves the name once, refuses the target when ANY resolved address is not allowed by the
//! operator's [`OutboundPolicy`], and hands back the checked addresses for the caller to connect
//! to, so there is no second lookup for DNS rebinding to slip into. The decisions themselves are
//! pure and live in `switchboard_domain::egress`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use switchboard_domain::{OutboundHost, OutboundPolicy, ValidationError, check_cleartext};
use tokio::net::TcpStream;

/// A reqwest client builder whose HTTPS works: every HTTP client of the server and its tests
/// starts here.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_tls_provider();
    reqwest::Client::builder()
}

/// Makes ring the process's TLS provider, once: for clients built here and those libraries build
/// themselves (the S3 attachment store).
pub fn install_tls_provider() {
    // reqwest's own provider choice would be aws-lc (a C build); without one it panics when a
    // client is built. ring, as for the channels' own TLS and PostgreSQL, becomes the process default.
    static RING: std::sync::Once = std::sync::Once::new();
    RING.call_once(|| {
        // Err only means another default was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Resolves host names for reqwest through the outbound guard, so a client connects only to
/// addresses the guard checked (no second lookup for DNS rebinding to slip into). The operator's
/// own proxies are resolved without the check: they are not a tenant's target. Literal IP hosts
/// never reach a resolver: callers check those with [`OutboundGuard::resolve`] before sending.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: OutboundGuard,
    proxy_hosts: Arc<Vec<String>>,
}

impl GuardedResolver {
    /// A resolver checking every name but `proxy_hosts` (lowercase) against `guard`.
    pub fn new(guard: OutboundGuard, proxy_hosts: Vec<String>) -> GuardedResolver {
        GuardedResolver { guard, proxy_hosts: Arc::new(proxy_hosts) }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_ascii_lowercase();
            let addrs: Vec<SocketAddr> = if this.proxy_hosts.contains(&host) {
                SystemResolver.lookup(&host, 0).await?
            } else {
                this.guard.resolve("url", &host, 0).await.map_err(Box::new)?
            };
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// How long a save waits for a host name to resolve.
const SAVE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Turns a host name into addresses. The system resolver in production; tests plug in a fixed
/// table so names can point anywhere without touching the network.
pub trait HostResolver: Send + Sync + std::fmt::Debug {
    /// Every address `host` resolves to, with `port`.
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>>;
}

/// The operating system's resolver (getaddrinfo on a blocking thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Why an outbound connection was not made.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The policy refuses the target; `field` names the setting that holds it.
    #[error("{0}")]
    Refused(ValidationError),
    /// The name did not resolve (now): worth another try later.
    #[error("{host} could not be resolved: {message}")]
    Lookup { host: String, message: String },
    /// Every checked address refused the connection or timed out.
    #[error("connecting to {host}:{port}: {message}")]
    Connect { host: String, port: u16, message: String },
}

impl OutboundError {
    /// True when the operator's policy (not the network) stopped the connection.
    pub fn is_refusal(&self) -> bool {
        matches!(self, OutboundError::Refused(_))
    }
}

impl From<ValidationError> for OutboundError {
    fn from(e: ValidationError) -> Self {
        OutboundError::Refused(e)
    }
}

/// The operator's outbound policy with the resolver it is applied through; cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboundGuard {
    policy: Arc<OutboundPolicy>,
    resolver: Arc<dyn HostResolver>,
}

impl Default for OutboundGuard {
    fn default() -> Self {
        OutboundGuard::new(OutboundPolicy::default(), Arc::new(SystemResolver))
    }
}

impl OutboundGuard {
    /// A guard applying `policy` to what `resolver` answers.
    pub fn new(policy: OutboundPolicy, resolver: Arc<dyn HostResolver>) -> OutboundGuard {
        OutboundGuard { policy: Arc::new(policy), resolver }
    }

    /// A guard applying `policy` through the system resolver.
    pub fn with_policy(policy: OutboundPolicy) -> OutboundGuard {
        OutboundGuard::new(policy, Arc::new(SystemResolver))
    }

    /// The operator's allow-list.
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Resolves `host` and checks every address it resolves to; `field` names the setting in a
    /// refusal. Connect only to the addresses returned.
    pub async fn resolve(&self, field: &str, host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let target = self.policy.check_host(field, host)?;
        let addrs = match &target {
            OutboundHost::Ip(ip) => vec![SocketAddr::new(*ip, port)],
            OutboundHost::Name(name) => {
                let lookup = |message: String| OutboundError::Lookup { host: name.clone(), message };
                let addrs = self.resolver.lookup(name, port).await.map_err(|e| lookup(e.to_string()))?;
                if addrs.is_empty() {
                    return Err(lookup("no addresses".into()));
                }
                addrs
            }
        };
        // One bad address refuses the name: a resolver that answers with both a public and a
        // private address could otherwise steer the connection to the private one.
        for a in &addrs {
            self.policy.check_address(field, &target, a.ip())?;
        }
        Ok(addrs)
    }

    /// Checks a host an admin is saving: the policy's verdict on every address it resolves to
    /// now, and for `plain` security (`cleartext_field` set), that it is this machine. A name
    /// that does not resolve yet passes (the connection checks again), unless it is to carry
    /// cleartext, which needs proof that it stays on this machine.
    pub async fn check_saved_host(
        &self,
        field: &str,
        host: &str,
        port: u16,
        cleartext_field: Option<&str>,
    ) -> Result<(), ValidationError> {
        // An admin is waiting: a resolver that hangs counts as one that did not answer.
        let resolved = tokio::time::timeout(SAVE_LOOKUP_TIMEOUT, self.resolve(field, host, port))
            .await
            .unwrap_or_else(|_| Err(OutboundError::Lookup { host: host.to_string(), message: "timed out".into() }));
        match resolved {
            Ok(addrs) => match cleartext_field {
                Some(f) => check_cleartext(f, &ips(&addrs)),
                None => Ok(()),
            },
            Err(OutboundError::Refused(e)) => Err(e),
            Err(_) => match cleartext_field {
                Some(f) => check_cleartext(f, &[]),
                None => Ok(()),
            },
        }
    }

    /// Resolves and checks `host`, and, for cleartext, requires every address to be loopback:
    /// what a channel calls right before it connects.
    pub async fn resolve_for_connection(
        &self,
        field: &str,
        host: &str,
        port: u16,
        cleartext_field: Option<&str>,
    ) -> Result<Vec<SocketAddr>, OutboundError> {
        let addrs = self.resolve(field, host, port).await?;
        if let Some(f) = cleartext_field {
            check_cleartext(f, &ips(&addrs))?;
        }
        Ok(addrs)
    }

    /// Opens a TCP connection to the first of the checked `addrs` that answers within `timeout`
    /// each; `host` is for the error only.
    pub async fn connect(
        &self,
        host: &str,
        addrs: &[SocketAddr],
        timeout: Duration,
    ) -> Result<(TcpStream, SocketAddr), OutboundError> {
        let port = addrs.first().map(|a| a.port()).unwrap_or_default();
        let mut last = "no address to connect to".to_string();
        for a in addrs {
            match tokio::time::timeout(timeout, TcpStream::connect(a)).await {
                Ok(Ok(tcp)) => return Ok((tcp, *a)),
                Ok(Err(e)) => last = format!("{a}: {e}"),
                Err(_) => last = format!("{a}: timed out"),
            }
        }
        Err(OutboundError::Connect { host: host.to_string(), port, message: last })
    }
}

fn ips(addrs: &[SocketAddr]) -> Vec<IpAddr> {
    addrs.iter().map(SocketAddr::ip).collect()
}

/// A resolver answering from a fixed table (names without a row do not resolve): lets tests point
/// names anywhere without touching the network, through the same guard as production.
#[derive(Debug, Clone, Default)]
pub struct FixedResolver(pub std::collections::HashMap<String, Vec<IpAddr>>);

impl FixedResolver {
    /// A table from `(name, addresses)` pairs.
    pub fn of(rows: &[(&str, &[&str])]) -> FixedResolver {
        FixedResolver(
            rows.iter().map(|(n, a)| (n.to_string(), a.iter().filter_map(|s| s.parse().ok()).collect())).collect(),
        )
    }
}

impl HostResolver for FixedResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        let found = self.0.get(host).map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect());
        Box::pin(async move {
            found.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such host in the table"))
        })
    }
}
