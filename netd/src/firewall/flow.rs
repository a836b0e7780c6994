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

/// An interface the flow crosses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Iface {
    Named(String),
    /// Not known by name; known not to be any of `not` (loopback, netd's
    /// bridges). A rule on one of those is false, on any other name unknown.
    Unknown {
        not: Vec<String>,
    },
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

    /// The hooks the first packet passes, in order.
    pub fn hooks(&self) -> &'static [Hook] {
        if self.from_host {
            &[Hook::Output, Hook::Postrouting]
        } else {
            &[Hook::Prerouting, Hook::Forward, Hook::Postrouting]
        }
    }

    /// What the chains at `hook` see; `translated` is whether netd's DNAT
    /// already happened for them.
    pub(crate) fn packet(&self, hook: Hook, translated: bool) -> Packet<'_> {
        Packet {
            flow: self,
            hook,
            translated,
        }
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

/// The flow as one base chain sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packet<'a> {
    pub flow: &'a Flow,
    pub hook: Hook,
    pub translated: bool,
}

/// A destination address as a chain sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dst {
    Addr(IpAddr),
    /// Some local address; `loopback` when it may be a loopback address
    /// (connections from the host itself).
    AnyLocal {
        loopback: bool,
    },
}

impl Packet<'_> {
    pub fn daddr(&self) -> Dst {
        match (self.translated, self.flow.host) {
            (true, _) => Dst::Addr(self.flow.target),
            (false, HostAddr::Addr(a)) => Dst::Addr(a),
            (false, HostAddr::AnyLocal) => Dst::AnyLocal {
                loopback: self.flow.from_host,
            },
        }
    }

    pub fn dport(&self) -> u16 {
        if self.translated {
            self.flow.target_port
        } else {
            self.flow.host_port
        }
    }

    /// Whether the destination is the host's own (what `fib daddr type` says).
    pub fn daddr_local(&self) -> bool {
        !self.translated
    }

    /// None where the kernel has no input interface (locally generated
    /// packets): any rule on it fails.
    pub fn iif(&self) -> Option<&Iface> {
        (!self.flow.from_host).then_some(&self.flow.iif)
    }

    /// None before routing (prerouting): any rule on it fails.
    pub fn oif(&self) -> Option<Iface> {
        match self.hook {
            Hook::Prerouting | Hook::Input | Hook::Ingress => None,
            _ if self.translated => Some(self.flow.bridge.clone()),
            // Before DNAT, a connection to a local address is routed to lo.
            _ => Some(Iface::Named("lo".into())),
        }
    }

    /// One line for the trace: what this chain sees.
    pub fn describe(&self) -> String {
        let f = self.flow;
        let dst = match self.daddr() {
            Dst::Addr(a) if a.is_ipv6() => format!("[{a}]:{}", self.dport()),
            Dst::Addr(a) => format!("{a}:{}", self.dport()),
            Dst::AnyLocal { .. } => format!("(any local address):{}", self.dport()),
        };
        let mut s = format!("{} {} -> {dst}", f.proto, f.source);
        if let Some(i) = self.iif() {
            s.push_str(&format!(", iif {i}"));
        }
        if let Some(o) = self.oif() {
            s.push_str(&format!(", oif {o}"));
        }
        s.push_str(", ct state new");
        if self.translated {
            s.push_str(", ct status dnat");
        }
        s
    }
}
