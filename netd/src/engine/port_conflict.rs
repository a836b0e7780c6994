//! Published ports someone else already has: a host socket bound to the
//! port, or another table's DNAT for it. netd's DNAT would silently take
//! such a port over (or lose it to the other DNAT), so `check`, `explain`
//! and `apply` report it. Pure: the sockets and the ruleset are read by the
//! caller ([`super::sockdiag`], [`super::publish_check::read_ruleset`]).

use std::net::IpAddr;

use serde::Serialize;

use super::foreign_dnat::foreign_dnats;
use super::publish_check::{CheckReport, CheckedPublish};
use crate::firewall::{Family, Ruleset};
use crate::model::{PortRange, Proto, Publish};

/// The process holding a socket, from `/proc/PID/fd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOwner {
    pub pid: u32,
    pub name: String,
}

/// A listening TCP socket or a bound UDP socket of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSocket {
    pub proto: Proto,
    /// The bound address; `0.0.0.0` or `::` for every address.
    pub address: IpAddr,
    pub port: u16,
    /// An IPv6 socket with IPV6_V6ONLY; without it a socket on `::` takes
    /// IPv4 connections too.
    pub v6only: bool,
    pub uid: u32,
    pub inode: u32,
    pub owner: Option<SocketOwner>,
}

/// What of a publish a conflict depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedPort {
    pub proto: Proto,
    pub port: PortRange,
    pub host_address: Option<IpAddr>,
    pub ipv6: bool,
}

impl From<&Publish> for PublishedPort {
    fn from(p: &Publish) -> Self {
        PublishedPort {
            proto: p.proto,
            port: p.port,
            host_address: p.host_address,
            ipv6: p.is_ipv6(),
        }
    }
}

/// Someone else on a published port. Every field has one JSON type: `pid`
/// and `process` are null when `/proc` does not tell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Conflict {
    /// A host socket bound to the port: connections netd DNATs never reach it.
    Socket {
        proto: Proto,
        address: IpAddr,
        port: u16,
        uid: u32,
        pid: Option<u32>,
        process: Option<String>,
    },
    /// Another table's DNAT or redirect for the port, at the nat hooks
    /// netd's DNAT uses: whichever runs first gets the connection.
    Dnat {
        /// False when the rule has no port match (or one netd cannot
        /// evaluate): it may DNAT the port.
        certain: bool,
        owner: String,
        family: Family,
        table: String,
        chain: String,
        handle: u64,
        text: String,
    },
}

impl Conflict {
    /// One line, without the publish it is about.
    pub fn text(&self) -> String {
        match self {
            Conflict::Socket {
                proto,
                address,
                port,
                uid,
                pid,
                process,
            } => {
                let addr = match address {
                    IpAddr::V6(a) => format!("[{a}]"),
                    IpAddr::V4(a) => a.to_string(),
                };
                let by = match (process, pid) {
                    (Some(name), Some(pid)) => format!("{name} (pid {pid}, uid {uid})"),
                    _ => format!("uid {uid}"),
                };
                format!(
                    "a host socket {proto} {addr}:{port} of {by} has the port; netd's DNAT takes its connections"
                )
            }
            Conflict::Dnat {
                certain,
                owner,
                family,
                table,
                chain,
                handle,
                text,
            } => format!(
                "{family} {table} {chain} handle {handle} ({owner}) {} the same port: {text}",
                if *certain {
                    "DNATs"
                } else {
                    "may DNAT (no port match netd can evaluate)"
                }
            ),
        }
    }
}

impl From<&CheckedPublish<'_>> for PublishedPort {
    fn from(cp: &CheckedPublish<'_>) -> Self {
        PublishedPort {
            proto: cp.proto,
            port: cp.port,
            host_address: cp.host_address,
            ipv6: cp.target.is_ipv6(),
        }
    }
}

/// Fills in the conflicts of every publish of `report`, and their count.
pub fn add_conflicts(report: &mut CheckReport<'_>, sockets: &[HostSocket], rs: &Ruleset) {
    for cp in &mut report.publishes {
        cp.conflicts = conflicts(&PublishedPort::from(&*cp), sockets, rs);
        report.conflicts += cp.conflicts.len();
    }
}

/// A publish as conflict lines name it: `publish web 8080/tcp (ipv4)`,
/// with its host address when it has one.
pub fn publish_label(ns: &str, pp: &PublishedPort) -> String {
    let family = if pp.ipv6 { "ipv6" } else { "ipv4" };
    match pp.host_address {
        Some(a) => format!("publish {ns} {}/{} ({family}, {a})", pp.port, pp.proto),
        None => format!("publish {ns} {}/{} ({family})", pp.port, pp.proto),
    }
}

/// One line per conflict of a checked publish: `LABEL: conflict: TEXT`.
pub fn conflict_lines(cp: &CheckedPublish<'_>) -> Vec<String> {
    let label = publish_label(cp.ns, &PublishedPort::from(cp));
    cp.conflicts
        .iter()
        .map(|c| format!("{label}: conflict: {}", c.text()))
        .collect()
}

/// Whether a socket is on a port and protocol one of `ports` publishes:
/// the sockets worth a closer look.
pub fn on_published_port(ports: &[PublishedPort], s: &HostSocket) -> bool {
    ports
        .iter()
        .any(|p| p.proto == s.proto && p.port.contains(s.port))
}

/// The conflicts of one publish.
pub fn conflicts(pp: &PublishedPort, sockets: &[HostSocket], rs: &Ruleset) -> Vec<Conflict> {
    let mut out: Vec<Conflict> = sockets
        .iter()
        .filter(|s| socket_conflicts(pp, s))
        .map(|s| Conflict::Socket {
            proto: s.proto,
            address: s.address,
            port: s.port,
            uid: s.uid,
            pid: s.owner.as_ref().map(|o| o.pid),
            process: s.owner.as_ref().map(|o| o.name.clone()),
        })
        .collect();
    out.extend(foreign_dnats(pp, rs));
    out.sort();
    out.dedup();
    out
}

/// Whether connections to the publish would otherwise reach `s`.
fn socket_conflicts(pp: &PublishedPort, s: &HostSocket) -> bool {
    if s.proto != pp.proto || !pp.port.contains(s.port) {
        return false;
    }
    let family_ok = match s.address {
        IpAddr::V4(_) => !pp.ipv6,
        // A dual-stack socket on `::` takes IPv4 connections as well.
        IpAddr::V6(a) => pp.ipv6 || (a.is_unspecified() && !s.v6only),
    };
    if !family_ok {
        return false;
    }
    s.address.is_unspecified() || pp.host_address.is_none_or(|a| a == s.address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pp(proto: Proto, port: u16, host_address: Option<&str>, ipv6: bool) -> PublishedPort {
        PublishedPort {
            proto,
            port: PortRange::single(port),
            host_address: host_address.map(|a| a.parse().unwrap()),
            ipv6,
        }
    }

    fn sock(proto: Proto, address: &str, port: u16, v6only: bool) -> HostSocket {
        HostSocket {
            proto,
            address: address.parse().unwrap(),
            port,
            v6only,
            uid: 0,
            inode: 1,
            owner: Some(SocketOwner {
                pid: 42,
                name: "socat".into(),
            }),
        }
    }

    #[test]
    fn a_wildcard_socket_conflicts_with_every_publish_of_its_port() {
        let s = sock(Proto::Tcp, "0.0.0.0", 8080, false);
        assert!(socket_conflicts(&pp(Proto::Tcp, 8080, None, false), &s));
        assert!(socket_conflicts(
            &pp(Proto::Tcp, 8080, Some("192.0.2.1"), false),
            &s
        ));
        assert!(!socket_conflicts(&pp(Proto::Tcp, 8081, None, false), &s));
        assert!(!socket_conflicts(&pp(Proto::Udp, 8080, None, false), &s));
        assert!(!socket_conflicts(&pp(Proto::Tcp, 8080, None, true), &s));
    }

    #[test]
    fn a_socket_on_one_address_conflicts_only_with_that_address() {
        let s = sock(Proto::Udp, "192.0.2.1", 53, false);
        assert!(socket_conflicts(&pp(Proto::Udp, 53, None, false), &s));
        assert!(socket_conflicts(
            &pp(Proto::Udp, 53, Some("192.0.2.1"), false),
            &s
        ));
        assert!(!socket_conflicts(
            &pp(Proto::Udp, 53, Some("192.0.2.2"), false),
            &s
        ));
    }

    #[test]
    fn a_dual_stack_socket_takes_ipv4_unless_v6only() {
        let v4 = pp(Proto::Tcp, 80, None, false);
        assert!(socket_conflicts(&v4, &sock(Proto::Tcp, "::", 80, false)));
        assert!(!socket_conflicts(&v4, &sock(Proto::Tcp, "::", 80, true)));
        assert!(!socket_conflicts(
            &v4,
            &sock(Proto::Tcp, "2001:db8::1", 80, false)
        ));
        let v6 = pp(Proto::Tcp, 80, None, true);
        assert!(socket_conflicts(&v6, &sock(Proto::Tcp, "::", 80, true)));
    }

    #[test]
    fn a_port_range_covers_sockets_inside_it() {
        let range = PublishedPort {
            port: PortRange {
                start: 9000,
                end: 9010,
            },
            ..pp(Proto::Tcp, 0, None, false)
        };
        assert!(socket_conflicts(
            &range,
            &sock(Proto::Tcp, "0.0.0.0", 9005, false)
        ));
        assert!(!socket_conflicts(
            &range,
            &sock(Proto::Tcp, "0.0.0.0", 9011, false)
        ));
    }

    #[test]
    fn a_socket_conflict_names_the_process() {
        let c = conflicts(
            &pp(Proto::Tcp, 8080, None, false),
            &[sock(Proto::Tcp, "0.0.0.0", 8080, false)],
            &Ruleset::default(),
        );
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].text(),
            "a host socket tcp 0.0.0.0:8080 of socat (pid 42, uid 0) has the port; netd's DNAT takes its connections"
        );
        let json = serde_json::to_value(&c[0]).unwrap();
        assert_eq!(json["kind"], "socket");
        assert_eq!(json["pid"], 42);
    }
}
