//! The connection explain follows, and what each hook sees of its first
//! packet: before netd's DNAT the destination is the host's address and
//! port, after it the namespace's.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use super::ruleset::Hook;
use crate::model::{Desired, InterfaceKind, Proto, Publish};

/// Where explain's clients come from by default: documentation addresses
/// (RFC 5737, RFC 3849) that no local subnet contains.
pub const DEFAULT_SOURCE_V4: &str = "203.0.113.7";
pub const DEFAULT_SOURCE_V6: &str = "2001:db8:ffff::7";

/// The destination a client connects to on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAddr {
    Addr(IpAddr),
    /// Any address of the host (a publish without `host_address`): `fib
    /// daddr type local` holds, rules on a specific address are unknown.
    AnyLocal,
}

impl fmt::Display for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostAddr::Addr(a) => write!(f, "{a}"),
            HostAddr::AnyLocal => f.write_str("any local address"),
        }
    }
}

impl Serialize for HostAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HostAddr::Addr(a) => a.serialize(s),
            HostAddr::AnyLocal => s.serialize_str("any"),
        }
    }
}

/// An interface the flow crosses. In JSON a string: the name, or `*` when
/// not known by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iface {
    Named(String),
    /// Not known by name; known not to be any of `not` (loopback, netd's
    /// bridges). A rule on one of those is false, on any other name unknown.
    Unknown {
        not: Vec<String>,
    },
}

impl Serialize for Iface {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Iface::Named(n) => s.serialize_str(n),
            Iface::Unknown { .. } => s.serialize_str("*"),
        }
    }
}

impl fmt::Display for Iface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iface::Named(n) => f.write_str(n),
            Iface::Unknown { not } if not.is_empty() => f.write_str("?"),
            Iface::Unknown { not } => write!(f, "? (not {})", not.join(", ")),
        }
    }
}

/// The first packet of a connection to a published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub proto: Proto,
    pub source: IpAddr,
    /// The host address the client connects to (before DNAT).
    pub host: HostAddr,
    pub host_port: u16,
    /// The namespace address and port netd's DNAT sends it to.
    pub target: IpAddr,
    pub target_port: u16,
    /// Where the client's packets enter the host (unused when `from_host`).
    pub iif: Iface,
    /// The netd bridge the target is on: the output interface after DNAT.
    pub bridge: Iface,
    /// A connection from the host itself: output and postrouting instead of
    /// prerouting, forward and postrouting.
    pub from_host: bool,
}

impl Flow {
    /// A client outside connecting to host port `host_port` of publish `p`:
    /// from a documentation address, in by an interface known only not to
    /// be loopback or a netd bridge, to `p.host_address` or any local
    /// address, DNAT'd to the target on the bridge its interface is on.
    /// Callers that can read the host refine `iif`, `host` and `source`.
    pub fn to_publish(desired: &Desired, p: &Publish, host_port: u16) -> Flow {
        let source = if p.is_ipv6() {
            DEFAULT_SOURCE_V6
        } else {
            DEFAULT_SOURCE_V4
        };
        Flow {
            proto: p.proto,
            source: source.parse().expect("a literal address"),
            host: p.host_address.map_or(HostAddr::AnyLocal, HostAddr::Addr),
            host_port,
            target: p.target,
            target_port: p.target_port(host_port),
            iif: Iface::Unknown {
                not: std::iter::once("lo".to_string())
                    .chain(desired.bridges.keys().cloned())
                    .collect(),
            },
            bridge: target_bridge(desired, p),
            from_host: false,
        }
    }

    pub fn is_ipv6(&self) -> bool {
        self.target.is_ipv6()
    }

    /// The hook where netd's DNAT happens: prerouting, or output for a
    /// connection from the host.
    pub fn dnat_hook(&self) -> Hook {
        if self.from_host {
            Hook::Output
        } else {
            Hook::Prerouting
        }
    }

    /// Whether the host masquerades the connection towards the namespace
    /// (netd's rule for IPv4 loopback sources), so the reply goes to the
    /// bridge's address rather than to the source.
    pub fn masqueraded(&self) -> bool {
        self.from_host && self.source.is_loopback() && !self.is_ipv6()
    }
}

/// The bridge the publish's target address is on: the namespace's veth
/// with that address, else its first veth.
fn target_bridge(desired: &Desired, p: &Publish) -> Iface {
    let veth_bridge = |i: &crate::model::Interface| match &i.kind {
        InterfaceKind::Veth { bridge, .. } => Some(bridge.clone()),
        InterfaceKind::Dummy => None,
    };
    desired
        .namespaces
        .get(&p.ns)
        .and_then(|ns| {
            ns.interfaces
                .iter()
                .find(|i| i.addresses.iter().any(|a| a.addr() == p.target))
                .and_then(veth_bridge)
                .or_else(|| ns.interfaces.iter().find_map(veth_bridge))
        })
        .map_or(Iface::Unknown { not: Vec::new() }, Iface::Named)
}
