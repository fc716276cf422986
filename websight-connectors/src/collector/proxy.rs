//! The visitor's address behind reverse proxies: `X-Forwarded-For`, believed only as far
//! as the proxies the collector is told to trust.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// The most `X-Forwarded-For` entries read: a chain longer than this is no real one, and a
/// hostile header must not cost more.
const MAX_HOPS: usize = 32;

/// An address block (`10.0.0.0/8`, `2001:db8::/32`; an address alone is its own block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` (IPv4-mapped IPv6 read as IPv4) lies in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether `a` and `b` agree on their first `prefix` bits.
fn same_prefix(a: u128, b: u128, prefix: u8) -> bool {
    prefix == 0 || (a ^ b) >> (128 - u32::from(prefix)) == 0
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Network, String> {
        let bad = || format!("{s:?} is no address or address block (e.g. 10.0.0.0/8, ::1)");
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(bad)?,
        };
        Ok(Network { addr, prefix })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The address a request came from: the peer's, unless the peer is a trusted proxy — then
/// `X-Forwarded-For` read from the right (each proxy appends whom it heard from), skipping
/// trusted proxies, up to the first address that is not one. What a client wrote into the
/// header itself lies left of that and is never believed. An entry that is no address ends
/// the walk at the last trusted hop.
pub(crate) fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[Network]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev().take(MAX_HOPS) {
        match hop_address(hop.trim()) {
            Some(ip) => client = ip,
            None => break,
        }
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, with a port as some proxies add it
/// (`203.0.113.9:52011`, `[2001:db8::1]:443`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let host = match hop.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.0,
        None => hop.rsplit_once(':')?.0,
    };
    host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Network> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn blocks_are_read_and_checked() {
        let n: Network = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains("10.200.3.4".parse().unwrap()));
        assert!(n.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        let one: Network = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: Network = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "/8",
            "",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        assert_eq!(n.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let from = |values: &[&str]| client(peer, &forwarded(values), &trusted);
        assert_eq!(from(&["203.0.113.9"]), ip("203.0.113.9"));
        // Behind two proxies; a client's own forged entry left of its real address.
        assert_eq!(from(&["1.2.3.4, 203.0.113.9, 10.0.0.5"]), ip("203.0.113.9"));
        assert_eq!(
            from(&["1.2.3.4", "203.0.113.9, 10.0.0.5"]),
            ip("203.0.113.9")
        );
        // Ports and brackets as some proxies write them; IPv4-mapped read as IPv4.
        assert_eq!(from(&["203.0.113.9:52011"]), ip("203.0.113.9"));
        assert_eq!(from(&["[2001:db8::7]:443"]), ip("2001:db8::7"));
        assert_eq!(from(&["::ffff:203.0.113.9"]), ip("203.0.113.9"));
        // No header, garbage, or only proxies: the last trusted hop.
        assert_eq!(from(&[]), peer);
        assert_eq!(from(&["203.0.113.9, unknown"]), peer);
        assert_eq!(from(&["10.0.0.7"]), ip("10.0.0.7"));
        // A peer that is no trusted proxy is the client, whatever it claims.
        let direct = client(ip("198.51.100.4"), &forwarded(&["203.0.113.9"]), &trusted);
        assert_eq!(direct, ip("198.51.100.4"));
        assert_eq!(client(peer, &forwarded(&["203.0.113.9"]), &[]), peer);
        // A chain longer than any real one is read only so far.
        let long = vec!["10.0.0.1"; 100].join(",");
        assert_eq!(from(&[&format!("203.0.113.9,{long}")]), ip("10.0.0.1"));
    }
}
