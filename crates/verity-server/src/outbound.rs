//! Where Verity may send requests on a tenant's behalf (webhooks): only to public addresses,
//! unless the operator allows an internal range (`webhooks.allow_addresses`). Checked twice: on
//! the URL when it is registered (IP literals in every form `inet_aton` accepts, `localhost`
//! names, and what the name resolves to then), and at every delivery on the addresses the name
//! resolves to at that moment — the connection is made only to an address that passed, so a
//! name that later resolves inward (DNS rebinding) gets nothing. No proxies, no redirects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use axum::http::Uri;

/// An IP network: `10.0.0.0/8`, `::1/128`, or a bare address (a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { net: addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V4(_), IpAddr::V6(a)) => {
                a.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4)))
            }
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

fn v4_in(ip: Ipv4Addr, net: [u8; 4], bits: u8) -> bool {
    prefix_eq(&ip.octets(), &net, bits)
}

/// Whether `ip` is a globally routable unicast address: not loopback, private, shared (CGNAT),
/// link-local (cloud metadata at 169.254.169.254), unspecified, documentation, benchmarking,
/// multicast, reserved or broadcast; IPv6 forms that embed an IPv4 address are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            const BLOCKED: &[([u8; 4], u8)] = &[
                ([0, 0, 0, 0], 8),
                ([10, 0, 0, 0], 8),
                ([100, 64, 0, 0], 10),
                ([127, 0, 0, 0], 8),
                ([169, 254, 0, 0], 16),
                ([172, 16, 0, 0], 12),
                ([192, 0, 0, 0], 24),
                ([192, 0, 2, 0], 24),
                ([192, 88, 99, 0], 24),
                ([192, 168, 0, 0], 16),
                ([198, 18, 0, 0], 15),
                ([198, 51, 100, 0], 24),
                ([203, 0, 113, 0], 24),
                ([224, 0, 0, 0], 4),
                ([240, 0, 0, 0], 4),
            ];
            !BLOCKED.iter().any(|(net, bits)| v4_in(v4, *net, *bits))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let embedded =
                |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address inside.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(IpAddr::V4(embedded(seg[6], seg[7])));
            }
            if seg[0] == 0x2002 {
                return is_public(IpAddr::V4(embedded(seg[1], seg[2])));
            }
            let blocked = v6.is_unspecified()
                || v6.is_loopback()
                || seg[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated)
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (seg[0] & 0xff00) == 0xff00 // multicast
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x2001 && seg[1] == 0) // Teredo
                || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]); // discard
            !blocked
        }
    }
}

/// A list of networks, parsed once (invalid entries were refused by the config check).
pub fn networks(list: &[String]) -> Vec<Cidr> {
    list.iter().filter_map(|a| Cidr::parse(a)).collect()
}

/// The operator's exceptions, parsed once.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: Vec<Cidr>,
}

impl Policy {
    pub fn new(allow: &[String]) -> Self {
        Self { allow: networks(allow) }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|c| c.contains(ip))
    }
}

/// Why a URL is refused (the message is safe to show to the tenant).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`url` must be an http(s) URL with a host name, no user name or password")]
    Malformed,
    #[error("`url` points to a loopback, private, link-local or otherwise internal address, which this server does not call")]
    Internal,
}

/// An IPv4 address in any form `inet_aton` accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`,
/// `127.1`): what a resolver would turn such a host name into.
fn inet_aton(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let n = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        nums.push(n);
    }
    let last = *nums.last()?;
    let head = &nums[..nums.len() - 1];
    if head.iter().any(|n| *n > 255) || last >= 1u64 << (8 * (5 - nums.len())) {
        return None;
    }
    let mut v = last;
    for (i, n) in head.iter().enumerate() {
        v |= n << (8 * (3 - i));
    }
    Some(Ipv4Addr::from(u32::try_from(v).ok()?))
}

/// The host of a URL as an IP address, if it is written as one.
fn literal_ip(host: &str) -> Option<IpAddr> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(v6) = h.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    inet_aton(h).map(IpAddr::V4)
}

/// Checks a webhook URL as written and, for a name, what it resolves to now.
pub fn check_url(url: &str, policy: &Policy) -> Result<(), Refusal> {
    let uri: Uri = url.parse().map_err(|_| Refusal::Malformed)?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(Refusal::Malformed);
    }
    let authority = uri.authority().ok_or(Refusal::Malformed)?;
    if authority.as_str().contains('@') {
        return Err(Refusal::Malformed);
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err(Refusal::Malformed);
    }
    if let Some(ip) = literal_ip(&host) {
        return if policy.permits(ip) { Ok(()) } else { Err(Refusal::Internal) };
    }
    if host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".internal")
        || !host.contains('.')
    {
        // Single-label names resolve through local search domains: internal by nature.
        return if policy.allow.is_empty() { Err(Refusal::Internal) } else { resolved_ok(&host, policy) };
    }
    resolved_ok(&host, policy)
}

/// A name that resolves now must resolve only to permitted addresses; one that does not
/// resolve is accepted (it is checked again at every delivery).
fn resolved_ok(host: &str, policy: &Policy) -> Result<(), Refusal> {
    match (host, 80).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.iter().any(|a| !policy.permits(a.ip())) {
                Err(Refusal::Internal)
            } else {
                Ok(())
            }
        }
        Err(_) => Ok(()),
    }
}

/// A ureq resolver that keeps only the addresses the policy permits; when none is left the
/// request fails with [`Refusal::Internal`] before any connection is made.
#[derive(Debug)]
pub struct GuardedResolver {
    pub policy: Policy,
}

impl ureq::unversioned::resolver::Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let all = ureq::unversioned::resolver::DefaultResolver::default().resolve(uri, config, timeout)?;
        let mut kept = self.empty();
        for a in all.iter().filter(|a| self.policy.permits(a.ip())) {
            kept.push(*a);
        }
        if kept.is_empty() {
            return Err(ureq::Error::Other(Box::new(Refusal::Internal)));
        }
        Ok(kept)
    }
}

/// The `User-Agent` of Verity's own webhooks (the hosted flow's say `IdentityVerification/1.0`, as
/// its seed does).
pub const USER_AGENT: &str = "Verity-Webhooks/1";

/// POSTs a JSON body to a webhook endpoint, off the async threads: no proxy, no redirect
/// followed, only addresses the policy permits (checked after resolution, at connect time).
/// Answers the HTTP status, or the kind of failure ([`failure_kind`]).
pub async fn post_json(
    url: String,
    user_agent: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    timeout: std::time::Duration,
    policy: Policy,
) -> Result<u16, String> {
    tokio::task::spawn_blocking(move || {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            GuardedResolver { policy },
        );
        let mut req =
            agent.post(&url).header("Content-Type", "application/json").header("User-Agent", user_agent);
        for (name, value) in &headers {
            req = req.header(*name, value);
        }
        req.send(&body[..]).map(|r| r.status().as_u16()).map_err(|e| {
            tracing::debug!(error = %e, "webhook delivery failed");
            failure_kind(&e).to_string()
        })
    })
    .await
    .unwrap_or_else(|_| Err("internal error".into()))
}

/// A delivery failure as recorded and shown to the tenant: what kind of failure, never the
/// network stack's own text (which would make the delivery log a port scanner).
pub fn failure_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Other(inner) if inner.downcast_ref::<Refusal>().is_some() => "address not allowed",
        ureq::Error::Timeout(_) => "timed out",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed",
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => "redirect not followed",
        _ => "could not connect",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "fd00::1",
            "fe80::1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(s)), "{s}");
        }
        for s in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2a00:1450:4007:80e::200e", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(s)), "{s}");
        }
    }

    #[test]
    fn every_spelling_of_an_ipv4_address_is_read() {
        for s in ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "127.0.1", "017700000001"] {
            assert_eq!(inet_aton(s), Some(Ipv4Addr::new(127, 0, 0, 1)), "{s}");
        }
        assert_eq!(inet_aton("example.com"), None);
        assert_eq!(inet_aton("256.1.1.1"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
    }

    #[test]
    fn urls_to_internal_hosts_are_refused_unless_allowed() {
        let none = Policy::default();
        for u in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://api.localhost/hook",
            "http://[::1]/hook",
            "http://0.0.0.0/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.5/",
            "http://[::ffff:7f00:1]/",
            "http://intranet/",
        ] {
            assert_eq!(check_url(u, &none), Err(Refusal::Internal), "{u}");
        }
        for u in ["ftp://example.com/", "http://user:pw@8.8.8.8/", "not a url", "http:///x"] {
            assert_eq!(check_url(u, &none), Err(Refusal::Malformed), "{u}");
        }
        assert_eq!(check_url("https://8.8.8.8/hook", &none), Ok(()));
        let lo = Policy::new(&["127.0.0.0/8".into(), "::1".into()]);
        assert_eq!(check_url("http://127.0.0.1:9/hook", &lo), Ok(()));
        assert_eq!(check_url("http://[::1]:9/hook", &lo), Ok(()));
        assert_eq!(check_url("http://10.0.0.5/", &lo), Err(Refusal::Internal));
    }

    /// At delivery the name is resolved again and the connection goes only to a permitted
    /// address: `localhost` (what a rebinding name turns into) is refused before any connect.
    #[test]
    fn deliveries_connect_only_to_permitted_addresses() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let agent = |policy: Policy| {
            ureq::Agent::with_parts(
                ureq::Agent::config_builder().http_status_as_error(false).proxy(None).build(),
                ureq::unversioned::transport::DefaultConnector::default(),
                GuardedResolver { policy },
            )
        };
        for url in [format!("http://localhost:{port}/"), format!("http://127.0.0.1:{port}/")] {
            let e = agent(Policy::default()).post(&url).send("x").expect_err("refused");
            assert_eq!(failure_kind(&e), "address not allowed", "{url}: {e}");
        }
        listener.set_nonblocking(true).expect("nonblocking");
        assert!(listener.accept().is_err(), "no connection was made");
        // Allowed by the operator: the request goes out.
        let served = std::thread::spawn(move || {
            listener.set_nonblocking(false).expect("blocking");
            let (mut c, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut c, &mut buf);
            let _ =
                std::io::Write::write_all(&mut c, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        });
        let ok =
            agent(Policy::new(&["127.0.0.1/32".into()])).post(&format!("http://127.0.0.1:{port}/")).send("x");
        assert_eq!(ok.expect("delivered").status().as_u16(), 204);
        served.join().expect("server");
    }

    #[test]
    fn networks_contain_what_they_should() {
        let c = Cidr::parse("10.20.0.0/16").expect("cidr");
        assert!(c.contains(ip("10.20.3.4")) && !c.contains(ip("10.21.0.1")));
        assert!(c.contains(ip("::ffff:10.20.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("x").is_none());
        assert!(Cidr::parse("fd00::/8").expect("v6").contains(ip("fd12::1")));
    }
}
