//! Who is calling: the peer's IP address, or behind reverse proxies the operator trusts
//! (`SWITCHBOARD_TRUSTED_PROXIES`), the address they forwarded in `X-Forwarded-For`. The
//! sign-in limits count callers by it, so a header from anyone else is never believed.

use std::net::{IpAddr, SocketAddr};

use anyhow::bail;
use axum::http::HeaderMap;
use switchboard_desk::domain::IpNetwork;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNetwork>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR networks (`10.0.0.0/8, ::1`).
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| IpNetwork::parse(item).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if nets.iter().any(|n| n.prefix() == 0) {
            bail!("trusting every address would let any caller choose the address it is counted by");
        }
        Ok(Self(nets))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// Whether the request names a forwarded caller that is not believed, because its sender is
    /// not a trusted proxy: behind a proxy left out of the setting, every caller would be
    /// counted as the proxy.
    pub fn ignores_forwarding(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        headers.contains_key("x-forwarded-for") && !self.contains(peer)
    }

    /// Whether the caller reached the server over TLS, as a trusted proxy that terminated it says
    /// in `X-Forwarded-Proto` (its last entry: the one that proxy wrote); anyone else's claim is
    /// not believed.
    pub fn forwarded_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        if !self.contains(canonical(peer)) {
            return false;
        }
        let protos = headers.get_all("x-forwarded-proto").iter().filter_map(|v| v.to_str().ok());
        protos.flat_map(|v| v.split(',')).last().is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }

    /// The caller's address: the peer, unless the peer is a trusted proxy; then, right to left
    /// through `X-Forwarded-For`, the first address that is not a trusted proxy (or the
    /// leftmost, when every hop is trusted). An entry that does not parse ends the walk.
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let hops: Vec<&str> = hops.flat_map(|v| v.split(',')).collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop.trim()) else { break };
            client = canonical(ip);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`[::1]:8080`, `1.2.3.4:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An IPv4 address mapped into IPv6 (a dual-stack listener's view) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1, fd00::/8").unwrap();
        let spoofed = headers(&["203.0.113.9"]);
        // Anyone else's header is ignored: the peer is the caller.
        assert_eq!(trusted.client_addr(ip("198.51.100.4"), &spoofed), ip("198.51.100.4"));
        assert_eq!(TrustedProxies::default().client_addr(ip("10.1.2.3"), &spoofed), ip("10.1.2.3"));
        // From a trusted proxy, the rightmost untrusted hop; what the caller wrote further left
        // (a forged first entry) is not believed.
        assert_eq!(trusted.client_addr(ip("10.1.2.3"), &headers(&["1.1.1.1, 203.0.113.9"])), ip("203.0.113.9"));
        assert_eq!(
            trusted.client_addr(ip("10.1.2.3"), &headers(&["1.1.1.1", "203.0.113.9, 192.168.1.1"])),
            ip("203.0.113.9"),
            "several headers and a chain of trusted proxies"
        );
        // No header, or an unreadable one: the proxy itself (or the last good hop).
        assert_eq!(trusted.client_addr(ip("10.1.2.3"), &HeaderMap::new()), ip("10.1.2.3"));
        assert_eq!(trusted.client_addr(ip("10.1.2.3"), &headers(&["203.0.113.9, garbage"])), ip("10.1.2.3"));
        // Ports, IPv6, and IPv4 mapped into IPv6.
        assert_eq!(trusted.client_addr(ip("::ffff:10.1.2.3"), &headers(&["[2001:db8::1]:443"])), ip("2001:db8::1"));
        assert_eq!(trusted.client_addr(ip("fd12::1"), &headers(&["203.0.113.9:5000"])), ip("203.0.113.9"));
    }

    #[test]
    fn forwarding_from_an_untrusted_peer_is_noticed() {
        let trusted = TrustedProxies::parse("10.0.0.1").unwrap();
        let forwarded = headers(&["203.0.113.9"]);
        assert!(TrustedProxies::default().ignores_forwarding(ip("127.0.0.1"), &forwarded));
        assert!(trusted.ignores_forwarding(ip("10.0.0.2"), &forwarded));
        assert!(!trusted.ignores_forwarding(ip("10.0.0.1"), &forwarded));
        assert!(!TrustedProxies::default().ignores_forwarding(ip("127.0.0.1"), &HeaderMap::new()));
    }

    #[test]
    fn tls_is_believed_only_from_a_trusted_proxy() {
        let trusted = TrustedProxies::parse("10.0.0.1").unwrap();
        let mut https = HeaderMap::new();
        https.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(trusted.forwarded_https(ip("10.0.0.1"), &https));
        assert!(!trusted.forwarded_https(ip("10.0.0.2"), &https), "a claim from anyone else");
        assert!(!trusted.forwarded_https(ip("10.0.0.1"), &HeaderMap::new()));
        let mut chain = HeaderMap::new();
        chain.insert("x-forwarded-proto", "https, http".parse().unwrap());
        assert!(!trusted.forwarded_https(ip("10.0.0.1"), &chain), "the nearest proxy's word counts");
    }

    #[test]
    fn the_list_is_checked() {
        assert_eq!(TrustedProxies::parse(" ").unwrap(), TrustedProxies::default());
        assert!(TrustedProxies::parse("10.0.0.0/33").unwrap_err().to_string().contains("0 to 32"));
        assert!(TrustedProxies::parse("proxy.local").unwrap_err().to_string().contains("not an IP address"));
        assert!(TrustedProxies::parse("0.0.0.0/0").is_err(), "trusting everyone is refused");
        let p = TrustedProxies::parse("172.16.0.0/12").unwrap();
        assert!(p.contains(ip("172.31.255.1")) && !p.contains(ip("172.32.0.1")));
        // An IPv4-mapped network is that IPv4 network (and must not overrun its 32 bits).
        let mapped = TrustedProxies::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(mapped.contains(ip("10.9.9.9")) && mapped.contains(ip("::ffff:10.1.1.1")));
        assert!(!mapped.contains(ip("11.0.0.1")));
        assert!(TrustedProxies::parse("::ffff:10.0.0.0/8").is_err());
    }
}
