//! Which addresses a file URL may reach, and a DNS resolver for reqwest that enforces it, so
//! the address checked is the address connected to (no DNS rebinding between check and use).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A URL host resolved (or written) to an address that is not publicly routable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{host} resolves to {addr}, a loopback, private, link-local or otherwise non-public address; \
     such URLs are refused unless ALLOW_PRIVATE_URLS=true"
)]
pub struct Refused {
    /// The host name as written in the URL.
    pub host: String,
    pub(crate) addr: IpAddr,
}

/// Whether `ip` is publicly routable: not loopback, private (RFC 1918, IPv6 ULA), link-local,
/// unspecified / "this network", CGNAT (100.64/10), multicast, broadcast, documentation,
/// benchmarking or reserved; IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network", incl. 0.0.0.0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if s[0] == 0x64 && s[1] == 0xff9b {
        return is_public_v4(embedded_v4(s[6], s[7])); // NAT64 64:ff9b::/96
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 6to4
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0 && s[1..6].iter().all(|&x| x == 0))) // IPv4-compatible ::a.b.c.d
}

/// Refuses `addr` for `host` unless it is public or `allow_private` is set.
pub fn check(host: &str, addr: IpAddr, allow_private: bool) -> Result<(), Refused> {
    if allow_private || is_public(addr) {
        Ok(())
    } else {
        Err(Refused {
            host: host.to_owned(),
            addr,
        })
    }
}

/// reqwest resolver: the system resolver, then [`check`] on every address. A name with any
/// refused address is refused as a whole, so a mix of public and private answers cannot be
/// used to reach the private one.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Skip the check (`ALLOW_PRIVATE_URLS=true`).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                check(&host, addr.ip(), allow_private)?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_recognised() {
        let refused = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
        ];
        for ip in refused {
            assert!(!is_public(ip.parse().expect("ip")), "{ip} must be refused");
        }
        for ip in [
            "1.1.1.1",
            "149.154.167.50",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip} must be allowed");
        }
    }

    #[test]
    fn allow_private_lets_everything_through() {
        let loopback = IpAddr::from([127, 0, 0, 1]);
        assert!(check("localhost", loopback, false).is_err());
        assert!(check("localhost", loopback, true).is_ok());
    }

    #[tokio::test]
    async fn resolver_refuses_localhost() {
        let name: Name = "localhost".parse().expect("name");
        let error = GuardedResolver {
            allow_private: false,
        }
        .resolve(name)
        .await
        .err()
        .expect("refused");
        assert!(error.is::<Refused>(), "{error}");
    }
}
