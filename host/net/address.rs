//! Which destination addresses the host connects to. Outbound traffic may
//! reach the public internet only: loopback (unless the owner allows it),
//! private, shared, link-local, cloud-metadata, multicast, documentation
//! and reserved ranges are refused, including when wrapped in an IPv6 form
//! that embeds an IPv4 address (mapped, NAT64, 6to4).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
}

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub addr: IpAddr,
    pub range: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is a {} address", self.addr, self.range)?;
        if self.range == "loopback" {
            f.write_str(
                " (allow it with [network] allow_loopback = true or IRONCLAW_ALLOW_LOOPBACK=1)",
            )?;
        }
        Ok(())
    }
}

impl AddressPolicy {
    pub fn check(&self, addr: IpAddr) -> Result<(), Refusal> {
        match range_of(addr) {
            None => Ok(()),
            Some("loopback") if self.allow_loopback => Ok(()),
            Some(range) => Err(Refusal { addr, range }),
        }
    }

    /// Every address `host` resolves to, each checked; one refused address
    /// refuses the host (a name that mixes public and private answers is
    /// the shape of a DNS-rebinding attack).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match literal.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| ResolveError::Lookup {
                    host: host.to_string(),
                    reason: e.to_string(),
                })?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(ResolveError::Lookup {
                host: host.to_string(),
                reason: "no addresses".into(),
            });
        }
        for a in &addrs {
            self.check(a.ip())
                .map_err(|refusal| ResolveError::Refused {
                    host: host.to_string(),
                    refusal,
                })?;
        }
        Ok(addrs)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve {host}: {reason}")]
    Lookup { host: String, reason: String },
    #[error("{host} refused: {refusal}")]
    Refused { host: String, refusal: Refusal },
}

/// The special-purpose range `addr` falls in, if any.
pub fn range_of(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(v4) => range_of_v4(v4),
        IpAddr::V6(v6) => range_of_v6(v6),
    }
}

fn range_of_v4(a: Ipv4Addr) -> Option<&'static str> {
    let [o0, o1, o2, o3] = a.octets();
    Some(match (o0, o1, o2, o3) {
        (127, ..) => "loopback",
        (0, ..) => "unspecified",
        (10, ..) => "private",
        (172, 16..=31, ..) => "private",
        (192, 168, ..) => "private",
        (169, 254, 169, 254) => "cloud metadata",
        (169, 254, ..) => "link-local",
        (100, 64..=127, ..) => "shared (carrier-grade NAT)",
        (192, 0, 0, _) => "IETF protocol assignment",
        (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => "documentation",
        (198, 18..=19, ..) => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

/// The IPv4 address carried in two IPv6 segments.
fn v4_from(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn range_of_v6(a: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = a.to_ipv4_mapped() {
        return range_of_v4(v4);
    }
    let s = a.segments();
    if a.is_loopback() {
        return Some("loopback");
    }
    if a.is_unspecified() {
        return Some("unspecified");
    }
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address
    // that a gateway would reach: judge that one.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return range_of_v4(v4_from(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return range_of_v4(v4_from(s[1], s[2]));
    }
    Some(match s[0] {
        0xfd00 if a == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "cloud metadata",
        0xfc00..=0xfdff => "private (unique local)",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local (deprecated)",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x2001 if s[1] == 0 => "Teredo tunnel",
        0 if s[1..6] == [0, 0, 0, 0, 0] => "IPv4-compatible (deprecated)",
        0x100 if s[1..4] == [0, 0, 0] => "discard-only",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> Option<&'static str> {
        range_of(s.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert_eq!(range(a), None, "{a}");
        }
    }

    #[test]
    fn special_ranges_are_named() {
        for (a, want) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("::1", "loopback"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("fd00:ec2::254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("fe80::1", "link-local"),
            ("fc00::1", "private (unique local)"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("192.0.2.1", "documentation"),
            ("2001:db8::1", "documentation"),
            ("198.18.0.1", "benchmarking"),
        ] {
            assert_eq!(range(a), Some(want), "{a}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        assert_eq!(range("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(range("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(range("::ffff:169.254.169.254"), Some("cloud metadata"));
        assert_eq!(
            range("64:ff9b::a00:1"),
            Some("private"),
            "NAT64 of 10.0.0.1"
        );
        assert_eq!(
            range("2002:a9fe:a9fe::1"),
            Some("cloud metadata"),
            "6to4 of 169.254.169.254"
        );
        assert_eq!(range("::ffff:8.8.8.8"), None);
        assert_eq!(range("64:ff9b::808:808"), None);
    }

    #[test]
    fn loopback_only_when_allowed_and_never_private() {
        let strict = AddressPolicy::default();
        let relaxed = AddressPolicy {
            allow_loopback: true,
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let private: IpAddr = "192.168.0.1".parse().unwrap();
        let err = strict.check(lo).unwrap_err();
        assert!(err.to_string().contains("allow_loopback"), "{err}");
        assert!(relaxed.check(lo).is_ok());
        assert!(relaxed.check("::1".parse().unwrap()).is_ok());
        assert!(relaxed.check(private).is_err());
        assert!(relaxed.check("169.254.169.254".parse().unwrap()).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_refused_address_is_refused() {
        let err = AddressPolicy::default()
            .resolve("localhost", 80)
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::Refused { .. }), "{err}");
        assert!(err.to_string().contains("localhost refused"), "{err}");
        let ok = AddressPolicy {
            allow_loopback: true,
        }
        .resolve("localhost", 80)
        .await
        .unwrap();
        assert!(ok.iter().all(|a| a.ip().is_loopback()));
        let err = AddressPolicy {
            allow_loopback: true,
        }
        .resolve("[fe80::1]", 80)
        .await
        .unwrap_err();
        assert!(err.to_string().contains("link-local"), "{err}");
    }
}
