//! Outbound connections to hosts a tenant typed (webhook URLs, mailbox IMAP and SMTP servers,
//! later knowledge sources and the LLM provider): which addresses they may reach.
//!
//! Only the decisions that need no network live here: what kind of network an address is in,
//! the operator's allow-list, the shape of a host name, and when cleartext is acceptable. The
//! guard that resolves names, checks every resolved address and connects to the address it
//! checked is `switchboard_desk::egress`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ValidationError;

/// The setting operators use to allow hosts or networks; named in refusals so an admin knows
/// who can change them.
pub const OUTBOUND_ALLOW_SETTING: &str = "SWITCHBOARD_OUTBOUND_ALLOW";

/// The kind of network an address belongs to; everything but [`AddressClass::Public`] is refused
/// unless the operator allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Globally routable unicast.
    Public,
    /// `0.0.0.0/8`, `::`: "this host" on most systems.
    Unspecified,
    /// `127.0.0.0/8`, `::1`: this machine.
    Loopback,
    /// RFC 1918 networks and IPv6 site-local.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT shared space.
    SharedAddressSpace,
    /// `169.254.0.0/16` (cloud metadata at 169.254.169.254) and `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// TEST-NET-1/2/3, benchmarking, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Protocol assignments, relays, broadcast, future use and everything outside IPv6's global
    /// unicast.
    Reserved,
}

impl AddressClass {
    /// How a refusal describes the class, e.g. "a link-local address (cloud metadata lives there)".
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Loopback => "a loopback address (this server itself)",
            AddressClass::Private => "a private network address",
            AddressClass::SharedAddressSpace => "a carrier-grade NAT address",
            AddressClass::LinkLocal => "a link-local address (cloud metadata lives there)",
            AddressClass::UniqueLocal => "a unique-local IPv6 address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Documentation => "a documentation or benchmarking address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// The kind of network `ip` is in. IPv6 forms that embed an IPv4 address (mapped, compatible,
/// NAT64, 6to4) are judged by that IPv4 address, since that is where the packet ends up.
pub fn classify_address(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => classify_v6(a),
    }
}

/// True for addresses a tenant's target must never reach on the defaults: anything but public.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    classify_address(ip) != AddressClass::Public
}

/// True when `ip` is this machine (IPv4-mapped forms included).
pub fn is_loopback_address(ip: IpAddr) -> bool {
    classify_address(ip) == AddressClass::Loopback
}

fn classify_v4(a: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [b0, b1, b2, _] = a.octets();
    match (b0, b1, b2) {
        (0, _, _) => Unspecified,
        (127, _, _) => Loopback,
        (10, _, _) | (192, 168, _) => Private,
        (172, 16..=31, _) => Private,
        (100, 64..=127, _) => SharedAddressSpace,
        (169, 254, _) => LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => Documentation,
        // IETF protocol assignments and the 6to4 relay anycast.
        (192, 0, 0) | (192, 88, 99) => Reserved,
        (224..=239, _, _) => Multicast,
        // 240/4 (future use) and the broadcast address.
        (240.., _, _) => Reserved,
        _ => Public,
    }
}

fn classify_v6(a: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let s = a.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if a.is_unspecified() {
        return Unspecified;
    }
    if a.is_loopback() {
        return Loopback;
    }
    // ::ffff:a.b.c.d (mapped), ::a.b.c.d (deprecated compatible), 64:ff9b::a.b.c.d (NAT64).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    // 6to4 carries the relay's IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        return classify_v4(embedded(s[1], s[2]));
    }
    match s[0] {
        0xfe80..=0xfebf => LinkLocal,
        0xfec0..=0xfeff => Private, // deprecated site-local
        0xfc00..=0xfdff => UniqueLocal,
        0xff00..=0xffff => Multicast,
        0x2001 if s[1] == 0xdb8 => Documentation,
        0x3ff0..=0x3fff => Documentation,
        // IETF protocol assignments, Teredo 2001::/32 included.
        0x2001 if s[1] < 0x200 => Reserved,
        // Only 2000::/3 is global unicast (discard 100::/64, local NAT64 64:ff9b:1::/48 ...).
        x if (x & 0xe000) != 0x2000 => Reserved,
        _ => Public,
    }
}

/// An IP network in CIDR notation, e.g. `10.20.0.0/16`; a bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address.
    pub fn parse(s: &str) -> Result<IpNetwork, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be a number from 0 to {max}"))?,
        };
        // Kept in canonical form, so an IPv4-mapped network (::ffff:10.0.0.0/104) is an IPv4 one
        // and matches callers whichever way a dual-stack listener reports them.
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(_) if prefix < 96 => Err(format!("{s:?}: an IPv4-mapped network needs a prefix of at least 96")),
                Some(v4) => Ok(IpNetwork { addr: IpAddr::V4(v4), prefix: prefix - 96 }),
                None => Ok(IpNetwork { addr, prefix }),
            },
            IpAddr::V4(_) => Ok(IpNetwork { addr, prefix }),
        }
    }

    /// The prefix length: 0 for a network holding every address.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` lies in this network; an IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let bits = |n: u128, width: u32| {
            let keep = u32::from(self.prefix);
            if keep == 0 { 0 } else { n >> (width - keep) }
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                bits(u128::from(u32::from(net)), 32) == bits(u128::from(u32::from(a)), 32)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => bits(u128::from(net), 128) == bits(u128::from(a), 128),
            _ => false,
        }
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A host a tenant typed, checked for shape: a literal address or a lowercase DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundHost {
    /// A literal IPv4 or IPv6 address (brackets removed).
    Ip(IpAddr),
    /// A DNS name, lowercased, without a trailing dot.
    Name(String),
}

impl OutboundHost {
    /// Parses a host field: an IP address (IPv6 with or without brackets) or a DNS name of
    /// letters, digits, hyphens and dots; no port, no scheme, at most 253 characters.
    pub fn parse(field: &str, host: &str) -> Result<OutboundHost, ValidationError> {
        let h = host.trim();
        let unbracketed = h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(OutboundHost::Ip(ip));
        }
        let name = h.trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(ValidationError::new(
                field,
                "must be a host name (such as mail.example.com) or an IP address, without a scheme or port",
            ));
        }
        // All-numeric names are how `0x7f.1` or `2130706433` sneak past a reader: resolvers
        // treat them as addresses, so they must be written as proper addresses.
        if name
            .split('.')
            .next_back()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()) || tld.starts_with("0x"))
        {
            return Err(ValidationError::new(field, "is neither a valid IP address nor a host name"));
        }
        Ok(OutboundHost::Name(name))
    }

    /// True for `localhost` and `*.localhost`, which mean this machine whatever a resolver says
    /// (RFC 6761).
    pub fn is_localhost_name(&self) -> bool {
        matches!(self, OutboundHost::Name(n) if n == "localhost" || n.ends_with(".localhost"))
    }
}

impl std::fmt::Display for OutboundHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundHost::Ip(ip) => write!(f, "{ip}"),
            OutboundHost::Name(n) => f.write_str(n),
        }
    }
}

/// The operator's allow-list (`SWITCHBOARD_OUTBOUND_ALLOW`): host names (exact, or `*.suffix`)
/// and networks that tenants' targets may reach although they are not public. Tenants cannot
/// change it; the empty default allows public addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    hosts: Vec<String>,
    networks: Vec<IpNetwork>,
}

impl OutboundPolicy {
    /// Parses a comma- or space-separated list such as `mail.internal,*.corp.example,10.20.0.0/16,::1`.
    pub fn parse(list: &str) -> Result<OutboundPolicy, String> {
        let mut policy = OutboundPolicy::default();
        for item in list.split([',', ' ', '\t', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
            let looks_numeric = item.contains('/') || item.contains(':') || item.parse::<IpAddr>().is_ok();
            if looks_numeric {
                policy.networks.push(IpNetwork::parse(item)?);
                continue;
            }
            let (wildcard, name) = match item.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            match OutboundHost::parse("host", name) {
                Ok(OutboundHost::Name(n)) => policy.hosts.push(if wildcard { format!("*.{n}") } else { n }),
                _ => return Err(format!("{item:?} is neither a host name, an IP address nor a network")),
            }
        }
        Ok(policy)
    }

    /// True when nothing beyond public addresses is allowed.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.networks.is_empty()
    }

    /// True when the operator allowed this host name itself (whatever it resolves to).
    pub fn allows_name(&self, host: &OutboundHost) -> bool {
        let OutboundHost::Name(name) = host else { return false };
        self.hosts.iter().any(|allowed| match allowed.strip_prefix("*.") {
            Some(suffix) => name.strip_suffix(suffix).is_some_and(|head| head.ends_with('.')),
            None => allowed == name,
        })
    }

    /// True when `ip` is public or in an allowed network.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        !is_forbidden_address(ip) || self.networks.iter().any(|n| n.contains(ip))
    }

    /// Refuses `ip` (an address `host` resolved to) unless it is public, in an allowed network,
    /// or `host` is an allowed name; `field` names the setting in the error.
    pub fn check_address(&self, field: &str, host: &OutboundHost, ip: IpAddr) -> Result<(), ValidationError> {
        if self.allows_name(host) || self.allows_address(ip) {
            return Ok(());
        }
        let class = classify_address(ip).describe();
        let what = match host {
            OutboundHost::Ip(_) => format!("{ip} is {class}"),
            OutboundHost::Name(n) => format!("{n} resolves to {ip}, {class}"),
        };
        Err(ValidationError::new(
            field,
            format!(
                "{what}; the server does not connect there unless its operator allows it ({OUTBOUND_ALLOW_SETTING})"
            ),
        ))
    }

    /// The checks that need no resolver: the host's shape, a literal address, and `localhost`
    /// names (judged as 127.0.0.1 and ::1, whatever a resolver would say).
    pub fn check_host(&self, field: &str, host: &str) -> Result<OutboundHost, ValidationError> {
        let host = OutboundHost::parse(field, host)?;
        match &host {
            OutboundHost::Ip(ip) => self.check_address(field, &host, *ip)?,
            h if h.is_localhost_name() => {
                for ip in [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)] {
                    self.check_address(field, h, ip)?;
                }
            }
            OutboundHost::Name(_) => {}
        }
        Ok(host)
    }
}

/// Cleartext (`plain` security) sends the password and every message unencrypted, so it is only
/// accepted to this machine: every address the host resolves to must be loopback.
pub fn check_cleartext(field: &str, addresses: &[IpAddr]) -> Result<(), ValidationError> {
    if !addresses.is_empty() && addresses.iter().all(|ip| is_loopback_address(*ip)) {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        "plain (unencrypted) is only allowed to a server on this machine (loopback); use tls or starttls",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_class_is_named() {
        for (addr, class) in [
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("127.0.0.1", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("10.1.2.3", Private),
            ("172.20.0.1", Private),
            ("192.168.0.10", Private),
            ("::ffff:10.0.0.1", Private),
            ("100.100.0.1", SharedAddressSpace),
            ("169.254.169.254", LinkLocal),
            ("fe80::1", LinkLocal),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("fd00:ec2::254", UniqueLocal),
            ("224.0.0.251", Multicast),
            ("ff02::1", Multicast),
            ("192.0.2.1", Documentation),
            ("2001:db8::1", Documentation),
            ("255.255.255.255", Reserved),
            ("2001::1", Reserved),
            ("8.8.8.8", Public),
            ("2606:4700:4700::1111", Public),
        ] {
            assert_eq!(classify_address(ip(addr)), class, "{addr}");
        }
        assert!(LinkLocal.describe().contains("metadata"));
    }

    #[test]
    fn networks_contain_their_addresses() {
        let n = IpNetwork::parse("10.20.0.0/16").unwrap();
        assert!(n.contains(ip("10.20.255.1")));
        assert!(n.contains(ip("::ffff:10.20.0.9")), "IPv4-mapped counts as IPv4");
        assert!(!n.contains(ip("10.21.0.1")));
        assert!(IpNetwork::parse("0.0.0.0/0").unwrap().contains(ip("10.0.0.1")));
        assert!(IpNetwork::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpNetwork::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!IpNetwork::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        assert!(IpNetwork::parse("10.0.0.0/33").unwrap_err().contains("0 to 32"));
        assert!(IpNetwork::parse("10.0.0/8").unwrap_err().contains("not an IP address"));
    }

    #[test]
    fn the_allow_list_names_hosts_and_networks() {
        let p = OutboundPolicy::parse("mail.internal, *.corp.example 10.20.0.0/16,::1").unwrap();
        let name = |n: &str| OutboundHost::Name(n.into());
        assert!(p.allows_name(&name("mail.internal")));
        assert!(p.allows_name(&name("imap.corp.example")));
        assert!(!p.allows_name(&name("corp.example")), "the wildcard covers subdomains only");
        assert!(!p.allows_name(&name("evilcorp.example")));
        assert!(p.allows_address(ip("10.20.3.4")));
        assert!(p.allows_address(ip("::1")));
        assert!(!p.allows_address(ip("127.0.0.1")));
        assert!(!p.allows_address(ip("169.254.169.254")));
        assert!(p.allows_address(ip("8.8.8.8")), "public addresses need no allowing");
        assert!(OutboundPolicy::parse("").unwrap().is_empty());
        assert!(OutboundPolicy::parse("mail internal!").unwrap_err().contains("internal!"));
        assert!(OutboundPolicy::parse("10.0.0.0/99").is_err());
    }

    #[test]
    fn refusals_name_the_field_the_address_and_who_can_allow_it() {
        let p = OutboundPolicy::default();
        let e = p.check_host("imapHost", "169.254.169.254").unwrap_err();
        assert_eq!(e.field, "imapHost");
        assert!(e.message.contains("169.254.169.254 is a link-local address"), "{}", e.message);
        assert!(e.message.contains(OUTBOUND_ALLOW_SETTING));
        let host = OutboundHost::Name("mail.acme.test".into());
        let e = p.check_address("smtpHost", &host, ip("10.0.0.5")).unwrap_err();
        assert!(e.message.starts_with("mail.acme.test resolves to 10.0.0.5, a private"), "{}", e.message);
        for bad in ["10.9.9.9", "[::1]", "::ffff:127.0.0.1", "localhost", "IMAP.localhost.", "0.0.0.0", "fd00::1"] {
            assert_eq!(p.check_host("imapHost", bad).unwrap_err().field, "imapHost", "{bad}");
        }
        assert_eq!(
            p.check_host("imapHost", "Mail.Example.COM.").unwrap(),
            OutboundHost::Name("mail.example.com".into())
        );
        assert_eq!(p.check_host("imapHost", "[2606:4700::1]").unwrap(), OutboundHost::Ip(ip("2606:4700::1")));
    }

    #[test]
    fn host_fields_take_names_and_addresses_only() {
        for bad in [
            "",
            " ",
            "mail.example.com:993",
            "imap://mail.example.com",
            "a b",
            "mail..example",
            "0x7f.1",
            "2130706433",
            "-x.example",
        ] {
            assert!(OutboundHost::parse("smtpHost", bad).is_err(), "{bad:?}");
        }
        assert!(OutboundHost::parse("smtpHost", "smtp-1.mail_relay.example").is_ok());
    }

    #[test]
    fn the_operator_allows_networks_and_names_but_not_more() {
        let p = OutboundPolicy::parse("10.20.0.0/16,127.0.0.0/8,::1,localhost").unwrap();
        assert!(p.check_host("imapHost", "10.20.0.5").is_ok());
        assert!(p.check_host("imapHost", "10.21.0.5").is_err());
        assert!(p.check_host("imapHost", "localhost").is_ok());
        assert!(p.check_host("imapHost", "169.254.169.254").is_err());
    }

    #[test]
    fn cleartext_only_to_this_machine() {
        assert!(check_cleartext("smtpSecurity", &[ip("127.0.0.1"), ip("::1")]).is_ok());
        assert!(check_cleartext("smtpSecurity", &[ip("::ffff:127.0.0.1")]).is_ok());
        for bad in [vec![ip("10.0.0.1")], vec![ip("127.0.0.1"), ip("8.8.8.8")], vec![]] {
            let e = check_cleartext("smtpSecurity", &bad).unwrap_err();
            assert_eq!(e.field, "smtpSecurity");
            assert!(e.message.contains("loopback"), "{}", e.message);
        }
    }
}
