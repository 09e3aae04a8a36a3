//! Outgoing webhooks: which events exist, how a delivery is signed, and which URLs may be called.
//!
//! Only the decisions that need no network live here. The sender still has to resolve the host
//! through the outbound guard, which checks every resolved address against the same
//! [`OutboundPolicy`] and connects to the address it checked (not resolve again), or DNS
//! rebinding walks around the check.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::{Host, Url};

use crate::ValidationError;
#[cfg(test)]
use crate::egress::is_forbidden_address;
use crate::egress::{OutboundHost, OutboundPolicy};

/// Longest webhook URL, in characters.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2048;

type HmacSha256 = Hmac<Sha256>;

/// Something that happened in a workspace that subscribers can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WebhookEvent {
    /// A ticket was created.
    #[serde(rename = "ticket.opened")]
    TicketOpened,
    /// A ticket was handed up to staff or a higher tier.
    #[serde(rename = "ticket.escalated")]
    TicketEscalated,
    /// A ticket was closed.
    #[serde(rename = "ticket.closed")]
    TicketClosed,
    /// A ticket's fields changed.
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    /// A reply or note was added to a thread.
    #[serde(rename = "entry.created")]
    EntryCreated,
    /// A requester gave a bad satisfaction rating.
    #[serde(rename = "csat.negative")]
    CsatNegative,
    /// An SLA target was missed.
    #[serde(rename = "sla.breach")]
    SlaBreach,
}

impl WebhookEvent {
    /// Every event, in declaration order.
    pub const ALL: &'static [WebhookEvent] = &[
        WebhookEvent::TicketOpened,
        WebhookEvent::TicketEscalated,
        WebhookEvent::TicketClosed,
        WebhookEvent::TicketUpdated,
        WebhookEvent::EntryCreated,
        WebhookEvent::CsatNegative,
        WebhookEvent::SlaBreach,
    ];

    /// The wire and stored spelling, e.g. `ticket.opened`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TicketOpened => "ticket.opened",
            WebhookEvent::TicketEscalated => "ticket.escalated",
            WebhookEvent::TicketClosed => "ticket.closed",
            WebhookEvent::TicketUpdated => "ticket.updated",
            WebhookEvent::EntryCreated => "entry.created",
            WebhookEvent::CsatNegative => "csat.negative",
            WebhookEvent::SlaBreach => "sla.breach",
        }
    }

    /// Parses the wire spelling; `field` names the input in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ValidationError> {
        Self::ALL.iter().copied().find(|e| e.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
            ValidationError::new(field, format!("unknown event {s:?}; expected one of: {}", names.join(", ")))
        })
    }
}

impl std::fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for WebhookEvent {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("WebhookEvent", &s)
    }
}

// The timestamp is signed with the body so a captured delivery cannot be replayed later.
fn signing_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header for a delivery: `t=<unix secs>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature_header(secret: &[u8], timestamp_secs: i64, body: &[u8]) -> String {
    let t = timestamp_secs.to_string();
    let sig = hex::encode(signing_mac(secret, &t, body).finalize().into_bytes());
    format!("t={t},v1={sig}")
}

/// True when `header` carries a valid `v1` signature of `body` made within `tolerance_secs` of `now_secs`.
///
/// Several `v1` entries may be present (a sender rotating secrets signs with both); any match is
/// enough. Unknown keys are ignored so a later scheme can be added alongside `v1`.
pub fn verify_signature(secret: &[u8], header: &str, body: &[u8], now_secs: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else { return false };
        match key {
            // Two timestamps would leave it unclear which one the freshness check applies to.
            "t" if timestamp.replace(value).is_some() => return false,
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let Ok(t_secs) = t.parse::<i64>() else { return false };
    if tolerance_secs < 0 || now_secs.abs_diff(t_secs) > tolerance_secs.unsigned_abs() {
        return false;
    }
    // Signed over the timestamp text as sent, so `t=+17…` cannot stand in for `t=17…`.
    let mac = signing_mac(secret, t, body);
    signatures.iter().any(|sig| hex::decode(sig).is_ok_and(|raw| mac.clone().verify_slice(&raw).is_ok()))
}

/// A webhook target that passed [`check_webhook_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: Url,
    host: String,
    port: u16,
}

impl WebhookUrl {
    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The host, lowercased (IDNA names in punycode; IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, 80 or 443 unless the URL names one.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address when the host is a literal IP rather than a name to resolve.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            Host::Ipv4(a) => Some(IpAddr::V4(a)),
            Host::Ipv6(a) => Some(IpAddr::V6(a)),
            Host::Domain(_) => None,
        }
    }

    /// The normalized URL to send to.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Most attempts at one webhook delivery before it is marked failed.
pub const MAX_DELIVERY_ATTEMPTS: i64 = 8;

/// How long to wait after failed attempt number `attempt` (1-based) before the next: `base_ms`
/// times 3^(attempt-1), capped at six hours; `None` once the attempts are used up.
pub fn retry_delay_ms(attempt: i64, base_ms: i64) -> Option<i64> {
    if attempt >= MAX_DELIVERY_ATTEMPTS {
        return None;
    }
    let factor = 3i64.saturating_pow(u32::try_from(attempt.max(1) - 1).unwrap_or(u32::MAX));
    Some(base_ms.saturating_mul(factor).min(6 * 3600 * 1000))
}

/// Checks a webhook URL's shape: http(s), a host, no credentials, at most 2,048 characters, and no
/// literal address or `localhost` name that `policy` refuses.
///
/// Uses the same WHATWG parser as the HTTP client, so `http://0x7f.1/` is seen as the 127.0.0.1
/// the client would really connect to. The operator's `policy` can allow addresses, never other
/// schemes or credentials.
pub fn check_webhook_url(field: &str, url: &str, policy: &OutboundPolicy) -> Result<WebhookUrl, ValidationError> {
    let n = url.chars().count();
    if n > MAX_WEBHOOK_URL_CHARS {
        return Err(ValidationError::new(field, format!("is {n} characters; at most {MAX_WEBHOOK_URL_CHARS} allowed")));
    }
    let parsed = Url::parse(url.trim()).map_err(|e| ValidationError::new(field, format!("is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ValidationError::new(
            field,
            format!("scheme {:?} is not allowed; use http or https", parsed.scheme()),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ValidationError::new(field, "must not contain credentials (user:password@)"));
    }
    let host = match parsed.host() {
        None => return Err(ValidationError::new(field, "must name a host")),
        Some(Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(Host::Ipv4(a)) => a.to_string(),
        Some(Host::Ipv6(a)) => a.to_string(),
    };
    // The WHATWG parser already turned numeric hosts into addresses; what is left is a name or
    // an address, judged by the one outbound policy.
    policy.check_host(field, &host)?;
    let host = host.trim_end_matches('.').to_string();
    let port = parsed.port_or_known_default().ok_or_else(|| ValidationError::new(field, "must name a port"))?;
    Ok(WebhookUrl { url: parsed, host, port })
}

impl WebhookUrl {
    /// The host as the outbound guard sees it.
    pub fn outbound_host(&self) -> OutboundHost {
        match self.ip() {
            Some(ip) => OutboundHost::Ip(ip),
            None => OutboundHost::Name(self.host.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn none() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    #[test]
    fn signature_matches_an_independent_vector() {
        // python3: hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        let expected = "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686";
        assert_eq!(signature_header(b"secret", 1_700_000_000, br#"{"a":1}"#), expected);
        // python3: hmac.new(b"whsec_k3y", b"1712345678.", hashlib.sha256).hexdigest()
        assert_eq!(
            signature_header(b"whsec_k3y", 1_712_345_678, b""),
            "t=1712345678,v1=91f99580b07244e469135c8581a4a6b97d2192ea91015b3a1f275e4cdec631e3"
        );
    }

    #[test]
    fn verify_accepts_fresh_and_rejects_stale_or_tampered() {
        let body = br#"{"a":1}"#;
        let h = signature_header(b"secret", 1_700_000_000, body);
        assert!(verify_signature(b"secret", &h, body, 1_700_000_000, 300));
        assert!(verify_signature(b"secret", &h, body, 1_700_000_300, 300));
        assert!(verify_signature(b"secret", &h, body, 1_699_999_700, 300));
        assert!(!verify_signature(b"secret", &h, body, 1_700_000_301, 300), "stale");
        assert!(!verify_signature(b"secret", &h, body, 1_699_999_699, 300), "from the future");
        assert!(!verify_signature(b"secret", &h, body, 1_700_000_000, -1));
        assert!(!verify_signature(b"other", &h, body, 1_700_000_000, 300), "wrong secret");
        assert!(!verify_signature(b"secret", &h, br#"{"a":2}"#, 1_700_000_000, 300), "tampered body");
        // Moving the timestamp forward invalidates the signature.
        let moved = h.replace("t=1700000000", "t=1700000100");
        assert!(!verify_signature(b"secret", &moved, body, 1_700_000_100, 300));
        assert!(!verify_signature(b"secret", &h.replace("t=", "t=+"), body, 1_700_000_000, 300));
        assert!(!verify_signature(b"secret", &h.replace("t=", "t=0"), body, 1_700_000_000, 300));
        assert!(!verify_signature(b"secret", "t=-9223372036854775808,v1=00", body, i64::MAX, i64::MAX), "no overflow");
    }

    #[test]
    fn verify_rejects_malformed_headers() {
        let body = b"x";
        let h = signature_header(b"k", 100, body);
        let sig = h.split_once(",v1=").unwrap().1;
        for bad in [
            "".to_string(),
            format!("v1={sig}"),
            "t=100".to_string(),
            format!("t=abc,v1={sig}"),
            format!("t=100,t=100,v1={sig}"),
            format!("t=100,v1={}", &sig[..32]),
            format!("t=100,v1={sig}00"),
            format!("t=100,v1=zz{}", &sig[2..]),
            format!("t=100;v1={sig}"),
        ] {
            assert!(!verify_signature(b"k", &bad, body, 100, 300), "{bad}");
        }
        // Rotation: any v1 may match; spaces and unknown keys are tolerated.
        assert!(verify_signature(b"k", &format!("t=100, v0=abc, v1={}, v1={sig}", "0".repeat(64)), body, 100, 300));
        assert!(verify_signature(b"k", &format!("t=100,v1={}", sig.to_uppercase()), body, 100, 300));
    }

    #[test]
    fn events_round_trip() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse("events", e.as_str()).unwrap(), *e);
        }
        assert_eq!(WebhookEvent::ALL.len(), 7);
        assert_eq!(WebhookEvent::SlaBreach.to_string(), "sla.breach");
        let e = WebhookEvent::parse("events[0]", "ticket.deleted").unwrap_err();
        assert_eq!(e.field, "events[0]");
        assert!(e.message.contains("csat.negative"), "{}", e.message);
        assert!(WebhookEvent::parse("events", "Ticket.Opened").is_err());
    }

    #[test]
    fn ipv4_ranges() {
        for bad in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.10",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_forbidden_address(ip(bad)), "{bad}");
        }
        for good in ["1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.1", "172.15.0.1", "172.32.0.1", "93.184.216.34"]
        {
            assert!(!is_forbidden_address(ip(good)), "{good}");
        }
    }

    #[test]
    fn ipv6_ranges() {
        for bad in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "ff05::2",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "100::1",
            "64:ff9b:1::1",
            "5f00::1",
        ] {
            assert!(is_forbidden_address(ip(bad)), "{bad}");
        }
        for good in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450::1"] {
            assert!(!is_forbidden_address(ip(good)), "{good}");
        }
    }

    #[test]
    fn ipv6_embedding_ipv4_is_judged_by_the_ipv4() {
        for bad in [
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:7f00:1",
            "::127.0.0.1",
            "::10.1.2.3",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.0.1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2002:a9fe:a9fe::",
        ] {
            assert!(is_forbidden_address(ip(bad)), "{bad}");
        }
        for good in ["::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1"] {
            assert!(!is_forbidden_address(ip(good)), "{good}");
        }
    }

    #[test]
    fn url_schemes_hosts_and_ports() {
        let u = check_webhook_url("url", "https://Hooks.Example.COM/in?x=1", &none()).unwrap();
        assert_eq!((u.scheme(), u.host(), u.port(), u.ip()), ("https", "hooks.example.com", 443, None));
        assert_eq!(u.as_str(), "https://hooks.example.com/in?x=1");
        let u = check_webhook_url("url", " http://example.com ", &none()).unwrap();
        assert_eq!((u.scheme(), u.port()), ("http", 80));
        assert_eq!(check_webhook_url("url", "https://example.com:8443/h", &none()).unwrap().port(), 8443);
        assert_eq!(check_webhook_url("url", "http://example.com:443/", &none()).unwrap().port(), 443);
        let u = check_webhook_url("url", "http://[2606:4700:4700::1111]:8080/", &none()).unwrap();
        assert_eq!((u.host(), u.port()), ("2606:4700:4700::1111", 8080));
        assert_eq!(u.ip(), Some(ip("2606:4700:4700::1111")));
        assert_eq!(check_webhook_url("url", "https://8.8.8.8/", &none()).unwrap().ip(), Some(ip("8.8.8.8")));

        for bad in ["ftp://example.com/", "file:///etc/passwd", "gopher://example.com:70/", "javascript:alert(1)"] {
            let e = check_webhook_url("url", bad, &none()).unwrap_err();
            assert_eq!(e.field, "url");
            assert!(e.message.contains("not allowed"), "{bad}: {}", e.message);
        }
        for bad in ["", "example.com/hook", "http://", "https://exa mple.com/", "http://:80/"] {
            assert_eq!(check_webhook_url("url", bad, &none()).unwrap_err().field, "url", "{bad}");
        }
    }

    #[test]
    fn url_credentials_rejected() {
        for bad in ["https://user:pw@example.com/", "https://user@example.com/", "https://:pw@example.com/"] {
            assert!(check_webhook_url("url", bad, &none()).unwrap_err().message.contains("credentials"), "{bad}");
        }
    }

    #[test]
    fn url_literal_forbidden_addresses_rejected() {
        for bad in [
            "http://127.0.0.1/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fe80::1]/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://10.0.0.1:9200/",
            "http://0/",
        ] {
            assert!(check_webhook_url("url", bad, &none()).unwrap_err().message.contains("address"), "{bad}");
        }
    }

    #[test]
    fn url_length_is_bounded() {
        let base = "https://example.com/";
        let ok = format!("{base}{}", "a".repeat(MAX_WEBHOOK_URL_CHARS - base.len()));
        assert!(check_webhook_url("url", &ok, &none()).is_ok());
        assert!(check_webhook_url("url", &format!("{ok}a"), &none()).unwrap_err().message.contains("at most 2048"));
    }

    #[test]
    fn the_operator_can_allow_networks_and_hosts() {
        let loopback = OutboundPolicy::parse("127.0.0.0/8,hooks.internal").unwrap();
        assert!(check_webhook_url("url", "http://127.0.0.1:9000/hook", &none()).is_err());
        assert_eq!(check_webhook_url("url", "http://127.0.0.1:9000/hook", &loopback).unwrap().port(), 9000);
        assert!(check_webhook_url("url", "http://10.0.0.1:9000/hook", &loopback).is_err());
        assert!(check_webhook_url("url", "http://hooks.internal/", &loopback).is_ok());
        assert!(check_webhook_url("url", "ftp://127.0.0.1/", &loopback).is_err());
    }

    #[test]
    fn retries_back_off_and_stop() {
        assert_eq!(retry_delay_ms(1, 10_000), Some(10_000));
        assert_eq!(retry_delay_ms(2, 10_000), Some(30_000));
        assert_eq!(retry_delay_ms(7, 60_000), Some(6 * 3600 * 1000));
        assert_eq!(retry_delay_ms(MAX_DELIVERY_ATTEMPTS, 10_000), None);
    }
}
