//! Everything a routing daemon's config needs for one service, resolved
//! from the model: the router id, the prefixes by family, and the BGP
//! sessions (with the local address and link of each) or the OSPF links.
//! What could not work is refused here, so that the renderers cannot fail.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{Daemon, Protocol, RenderError};
use crate::model::{Anycast, Desired, Namespace, Speaker};

pub(super) struct Setup<'a> {
    pub service: &'a str,
    pub namespace: &'a str,
    pub daemon: Daemon,
    pub protocol: Protocol,
    pub router_id: Ipv4Addr,
    /// Where the IPv4 announce routes are (and, for BIRD, the IPv6 ones).
    pub table: u32,
    pub v4: Vec<Ipv4Net>,
    pub v6: Vec<Ipv6Net>,
    pub bfd: bool,
    pub routing: Routing,
}

pub(super) enum Routing {
    Bgp {
        local_as: u32,
        neighbor_as: u32,
        sessions: Vec<Session>,
    },
    Ospf {
        area: u32,
        interfaces: Vec<String>,
    },
}

/// One BGP session: one neighbor address, one family.
pub(super) struct Session {
    pub neighbor: IpAddr,
    /// The namespace's address in the neighbor's subnet.
    pub local: IpAddr,
    /// The link that subnet is on (for BFD).
    pub interface: String,
}

impl<'a> Setup<'a> {
    pub fn resolve(
        desired: &'a Desired,
        service: &'a str,
        daemon: Daemon,
        protocol: Protocol,
    ) -> Result<Self, RenderError> {
        let anycast = desired
            .anycast
            .get(service)
            .ok_or_else(|| RenderError::UnknownService {
                name: service.to_string(),
                known: desired.anycast.keys().cloned().collect(),
            })?;
        safe_name(service)?;
        let ns = desired.namespaces.get(&anycast.namespace).ok_or_else(|| {
            RenderError::UnknownNamespace {
                service: service.to_string(),
                namespace: anycast.namespace.clone(),
            }
        })?;
        check_speaker(anycast, daemon)?;
        if anycast.prefixes.is_empty() {
            return Err(RenderError::NoPrefixes {
                service: service.to_string(),
            });
        }
        let (v4, v6) = by_family(&anycast.prefixes);
        let routing = match protocol {
            Protocol::Bgp => bgp(anycast, ns, !v4.is_empty(), !v6.is_empty())?,
            Protocol::Ospf => ospf(anycast, ns, !v4.is_empty(), !v6.is_empty())?,
        };
        Ok(Setup {
            service,
            namespace: &ns.name,
            daemon,
            protocol,
            router_id: router_id(anycast, ns)?,
            table: anycast.announce_table,
            v4,
            v6,
            bfd: anycast.routing.bfd,
            routing,
        })
    }

    /// The links that BFD runs on: those of the sessions, or OSPF's.
    pub fn bfd_interfaces(&self) -> Vec<&str> {
        let mut names: Vec<&str> = match &self.routing {
            Routing::Bgp { sessions, .. } => {
                sessions.iter().map(|s| s.interface.as_str()).collect()
            }
            Routing::Ospf { interfaces, .. } => interfaces.iter().map(String::as_str).collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(*n));
        names
    }
}

/// Names end up in comments, quoted strings and command lines of the
/// generated file: nothing there may end a line or a string.
fn safe_name(name: &str) -> Result<(), RenderError> {
    let safe = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if safe {
        Ok(())
    } else {
        Err(RenderError::UnsafeName(crate::model::shown(name)))
    }
}

/// The speaker decides where netd puts the announce routes and how the
/// prefixes are served (lo addresses for BIRD, AnyIP routes for FRR, which
/// never announces a prefix that is an lo address): a config for the other
/// daemon would announce nothing.
fn check_speaker(anycast: &Anycast, daemon: Daemon) -> Result<(), RenderError> {
    let speaker = match anycast.speaker {
        Speaker::Bird => Daemon::Bird,
        Speaker::Frr => Daemon::Frr,
    };
    if speaker == daemon {
        return Ok(());
    }
    let (reason, change, wanted_name) = match daemon {
        Daemon::Frr => (
            "its prefixes are addresses on lo, which FRR never announces",
            "and take the prefixes out of loopback",
            "FRR",
        ),
        Daemon::Bird => (
            "netd places its announce routes for FRR (the IPv6 ones in the main table)",
            "and put the prefixes in loopback",
            "BIRD",
        ),
    };
    Err(RenderError::WrongSpeaker {
        service: anycast.name.clone(),
        speaker: speaker.speaker(),
        reason,
        wanted: daemon.speaker(),
        change,
        wanted_name,
        flag: speaker.flag(),
    })
}

fn by_family(prefixes: &[IpNet]) -> (Vec<Ipv4Net>, Vec<Ipv6Net>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for p in prefixes {
        match p {
            IpNet::V4(n) => v4.push(n.trunc()),
            IpNet::V6(n) => v6.push(n.trunc()),
        }
    }
    (v4, v6)
}

fn router_id(anycast: &Anycast, ns: &Namespace) -> Result<Ipv4Addr, RenderError> {
    if let Some(id) = anycast.routing.router_id {
        return Ok(id);
    }
    ns.interfaces
        .iter()
        .flat_map(|i| &i.addresses)
        .find_map(|a| match a {
            IpNet::V4(n) => Some(n.addr()),
            IpNet::V6(_) => None,
        })
        .ok_or_else(|| RenderError::NoRouterId {
            service: anycast.name.clone(),
            namespace: ns.name.clone(),
        })
}

fn no_protocol(anycast: &Anycast, protocol: &'static str, other: Protocol) -> RenderError {
    RenderError::NoProtocol {
        service: anycast.name.clone(),
        protocol,
        other: other.flag(),
    }
}

fn bgp(
    anycast: &Anycast,
    ns: &Namespace,
    has_v4: bool,
    has_v6: bool,
) -> Result<Routing, RenderError> {
    let bgp = anycast
        .routing
        .bgp
        .as_ref()
        .ok_or_else(|| no_protocol(anycast, "bgp", Protocol::Ospf))?;
    if bgp.neighbors.is_empty() {
        return Err(RenderError::NoNeighbors {
            service: anycast.name.clone(),
        });
    }
    let sessions = bgp
        .neighbors
        .iter()
        .map(|&neighbor| session(anycast, ns, neighbor, has_v4, has_v6))
        .collect::<Result<_, _>>()?;
    Ok(Routing::Bgp {
        local_as: bgp.local_as,
        neighbor_as: bgp.neighbor_as,
        sessions,
    })
}

fn session(
    anycast: &Anycast,
    ns: &Namespace,
    neighbor: IpAddr,
    has_v4: bool,
    has_v6: bool,
) -> Result<Session, RenderError> {
    let (family, has) = match neighbor {
        IpAddr::V4(_) => ("IPv4", has_v4),
        IpAddr::V6(_) => ("IPv6", has_v6),
    };
    if !has {
        return Err(RenderError::NothingForNeighbor {
            service: anycast.name.clone(),
            neighbor,
            family,
        });
    }
    let mut found = None;
    for iface in &ns.interfaces {
        for addr in &iface.addresses {
            if addr.addr() == neighbor {
                return Err(RenderError::NeighborIsLocal {
                    service: anycast.name.clone(),
                    namespace: ns.name.clone(),
                    neighbor,
                });
            }
            if found.is_none() && addr.contains(&neighbor) {
                found = Some(Session {
                    neighbor,
                    local: addr.addr(),
                    interface: iface.name.clone(),
                });
            }
        }
    }
    let session = found.ok_or_else(|| RenderError::NeighborNotConnected {
        service: anycast.name.clone(),
        namespace: ns.name.clone(),
        neighbor,
    })?;
    safe_name(&session.interface)?;
    Ok(session)
}

fn ospf(
    anycast: &Anycast,
    ns: &Namespace,
    has_v4: bool,
    has_v6: bool,
) -> Result<Routing, RenderError> {
    let ospf = anycast
        .routing
        .ospf
        .as_ref()
        .ok_or_else(|| no_protocol(anycast, "ospf", Protocol::Bgp))?;
    if ospf.interfaces.is_empty() {
        return Err(RenderError::NoOspfInterfaces {
            service: anycast.name.clone(),
        });
    }
    for name in &ospf.interfaces {
        let error = |make: fn(String, String, String) -> RenderError| {
            make(anycast.name.clone(), ns.name.clone(), name.clone())
        };
        let iface = ns
            .interfaces
            .iter()
            .find(|i| &i.name == name)
            .ok_or_else(|| {
                error(
                    |service, namespace, interface| RenderError::UnknownInterface {
                        service,
                        namespace,
                        interface,
                    },
                )
            })?;
        safe_name(name)?;
        if has_v4 && !iface.addresses.iter().any(|a| matches!(a, IpNet::V4(_))) {
            return Err(error(|service, namespace, interface| {
                RenderError::NoOspfV2Address {
                    service,
                    namespace,
                    interface,
                }
            }));
        }
        if has_v6 && !iface.ipv6_link_local {
            return Err(error(|service, namespace, interface| {
                RenderError::NoOspfV3LinkLocal {
                    service,
                    namespace,
                    interface,
                }
            }));
        }
    }
    Ok(Routing::Ospf {
        area: ospf.area,
        interfaces: ospf.interfaces.clone(),
    })
}
