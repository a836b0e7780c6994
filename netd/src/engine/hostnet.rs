//! The host's addresses and main routes, read-only, for the firewall checks
//! to tell a local client from a remote one and which link a remote one comes
//! in by.

use std::net::IpAddr;

/// The host's addresses and IPv4/IPv6 main routes, read once: enough to
/// tell a local client from a remote one and which link a remote one comes
/// in by. Read-only, from getifaddrs and /proc.
pub struct HostNet {
    pub(crate) addrs: Vec<(String, IpAddr)>,
    /// Sysctls and iptables-legacy tables explain takes into account.
    pub facts: crate::firewall::HostFacts,
    /// (destination, prefix length, metric, device)
    routes: Vec<(IpAddr, u8, u32, String)>,
}

impl HostNet {
    pub fn read() -> HostNet {
        let addrs = nix::ifaddrs::getifaddrs()
            .map(|ifs| {
                ifs.filter_map(|i| {
                    let a = i.address?;
                    let ip = a
                        .as_sockaddr_in()
                        .map(|s| IpAddr::V4(s.ip()))
                        .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))?;
                    Some((i.interface_name, ip))
                })
                .collect()
            })
            .unwrap_or_default();
        let mut routes = Vec::new();
        if let Ok(text) = std::fs::read_to_string("/proc/net/route") {
            routes.extend(text.lines().skip(1).filter_map(route4));
        }
        if let Ok(text) = std::fs::read_to_string("/proc/net/ipv6_route") {
            routes.extend(text.lines().filter_map(route6));
        }
        HostNet {
            addrs,
            routes,
            facts: super::hostfacts::read_host_facts(),
        }
    }

    /// The device of the longest-prefix route to `addr` (main table).
    pub fn route_dev(&self, addr: IpAddr) -> Option<String> {
        self.routes
            .iter()
            .filter(|(dst, len, _, _)| {
                ipnet::IpNet::new(*dst, *len).is_ok_and(|n| n.contains(&addr))
            })
            .max_by_key(|(_, len, metric, _)| (*len, std::cmp::Reverse(*metric)))
            .map(|(_, _, _, dev)| dev.clone())
    }

    /// A global address of `dev` of the family asked.
    pub fn addr_on(&self, dev: &str, v6: bool) -> Option<IpAddr> {
        self.addrs
            .iter()
            .filter(|(d, a)| d == dev && a.is_ipv6() == v6)
            .map(|(_, a)| *a)
            .find(|a| match a {
                IpAddr::V6(a) => (a.segments()[0] & 0xffc0) != 0xfe80,
                IpAddr::V4(a) => !a.is_link_local(),
            })
    }
}

/// A line of /proc/net/route: Iface Destination Gateway Flags RefCnt Use
/// Metric Mask ..., addresses in host-order hex.
fn route4(line: &str) -> Option<(IpAddr, u8, u32, String)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
    // RTF_UP, and not RTF_REJECT.
    if flags & 0x1 == 0 || flags & 0x200 != 0 {
        return None;
    }
    let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
    let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
    let metric = f.get(6)?.parse().ok()?;
    // The kernel prints the network-order words as host integers.
    let dst = std::net::Ipv4Addr::from(dst.to_ne_bytes());
    let len = u8::try_from(u32::from_be_bytes(mask.to_ne_bytes()).leading_ones()).ok()?;
    Some((IpAddr::V4(dst), len, metric, f.first()?.to_string()))
}

/// A line of /proc/net/ipv6_route: dst dst_len src src_len next_hop metric
/// refcnt use flags device, in hex.
fn route6(line: &str) -> Option<(IpAddr, u8, u32, String)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let flags = u32::from_str_radix(f.get(8)?, 16).ok()?;
    if flags & 0x1 == 0 || flags & 0x200 != 0 {
        return None;
    }
    let dst = u128::from_str_radix(f.first()?, 16).ok()?;
    let len = u8::from_str_radix(f.get(1)?, 16).ok()?;
    let metric = u32::from_str_radix(f.get(5)?, 16).ok()?;
    let dev = f.get(9)?.to_string();
    if dev == "lo" {
        return None;
    }
    Some((IpAddr::V6(dst.into()), len, metric, dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_routes() {
        let r = route4("eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0")
            .expect("default route");
        assert_eq!(r, ("0.0.0.0".parse().unwrap(), 0, 100, "eth0".into()));
        let r = route4("br-demo\t0000580A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0")
            .expect("subnet route");
        assert_eq!(r, ("10.88.0.0".parse().unwrap(), 24, 0, "br-demo".into()));
        let r = route6(
            "fd880000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 br-demo",
        )
        .expect("v6 route");
        assert_eq!(r, ("fd88::".parse().unwrap(), 64, 256, "br-demo".into()));
        let host = HostNet {
            addrs: vec![("eth0".into(), "192.0.2.10".parse().unwrap())],
            routes: vec![
                ("0.0.0.0".parse().unwrap(), 0, 100, "eth0".into()),
                ("10.88.0.0".parse().unwrap(), 24, 0, "br-demo".into()),
            ],
            facts: crate::firewall::HostFacts::default(),
        };
        assert_eq!(
            host.route_dev("203.0.113.7".parse().unwrap()).as_deref(),
            Some("eth0")
        );
        assert_eq!(
            host.route_dev("10.88.0.9".parse().unwrap()).as_deref(),
            Some("br-demo")
        );
        assert_eq!(
            host.addr_on("eth0", false),
            Some("192.0.2.10".parse().unwrap())
        );
    }
}
