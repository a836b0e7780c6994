//! One packet of a published connection as a base chain sees it. A
//! connection works only if three kinds of packet get through: the
//! client's first packet, the namespace's reply, and (TCP) the client's
//! later packets. Each is seen before or after a translation — netd's DNAT
//! for the client's packets, the kernel translating the reply's source
//! back — and before or after conntrack, which nothing sees at ingress or
//! in chains ahead of it at prerouting and output.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::flow::{Flow, HostAddr, Iface};
use super::prio;
use super::ruleset::Hook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The client's first packet (TCP SYN, the UDP request): ct state new.
    First,
    /// The namespace's answer (SYN-ACK, the UDP response): ct state
    /// established, ct direction reply.
    Reply,
    /// The client's later packets (TCP ACK and data): ct state established.
    Later,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::First => "first packet",
            Phase::Reply => "reply",
            Phase::Later => "later packets",
        })
    }
}

impl Phase {
    /// The phases a connection of `flow` needs through.
    pub fn all(flow: &Flow) -> &'static [Phase] {
        match flow.proto {
            crate::model::Proto::Tcp => &[Phase::First, Phase::Reply, Phase::Later],
            crate::model::Proto::Udp => &[Phase::First, Phase::Reply],
        }
    }

    /// The hooks the packet passes, in order. The client's packets from
    /// outside come in by its uplink (ingress, prerouting) and are forwarded
    /// to the bridge; the reply comes in by the bridge and is forwarded back,
    /// or, to a client on the host, delivered locally (input).
    pub fn hooks(self, from_host: bool) -> &'static [Hook] {
        match (self, from_host) {
            (_, false) => &[
                Hook::Ingress,
                Hook::Prerouting,
                Hook::Forward,
                Hook::Postrouting,
            ],
            (Phase::Reply, true) => &[Hook::Ingress, Hook::Prerouting, Hook::Input],
            (_, true) => &[Hook::Output, Hook::Postrouting],
        }
    }

    /// Whether nat chains see the packet: only a connection's first packet.
    pub fn sees_nat(self) -> bool {
        self == Phase::First
    }
}

/// The packet as one base chain sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packet<'a> {
    pub flow: &'a Flow,
    pub hook: Hook,
    pub phase: Phase,
    /// The client's packets: netd's DNAT already gave them the namespace's
    /// address. The reply: the kernel already gave it the host's address
    /// back as source.
    pub translated: bool,
    /// Whether conntrack has seen the packet; None for a chain at exactly
    /// its priority, where the order is not known.
    pub tracked: Option<bool>,
}

/// A source or destination address as a chain sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dst {
    Addr(IpAddr),
    /// Some local address; `loopback` when it may be a loopback address
    /// (connections from the host itself).
    AnyLocal {
        loopback: bool,
    },
}

impl<'a> Packet<'a> {
    /// The packet of `phase` at `hook`, for a base chain at `prio`;
    /// `dnat_at` is the priority of netd's DNAT.
    pub fn at(flow: &'a Flow, phase: Phase, hook: Hook, prio: i32, dnat_at: i32) -> Self {
        let translated = match phase {
            Phase::Reply => matches!(hook, Hook::Postrouting | Hook::Input) && prio > prio::SRCNAT,
            _ if hook == Hook::Ingress => false,
            _ => hook != flow.dnat_hook() || prio > dnat_at,
        };
        let tracked = match hook {
            Hook::Ingress => Some(false),
            Hook::Prerouting | Hook::Output if prio < prio::CONNTRACK => Some(false),
            Hook::Prerouting | Hook::Output if prio == prio::CONNTRACK => None,
            _ => Some(true),
        };
        Packet {
            flow,
            hook,
            phase,
            translated,
            tracked,
        }
    }

    fn reply(&self) -> bool {
        self.phase == Phase::Reply
    }

    /// The host's side of the connection: the address the client connects to.
    fn host_side(&self) -> Dst {
        match self.flow.host {
            HostAddr::Addr(a) => Dst::Addr(a),
            HostAddr::AnyLocal => Dst::AnyLocal {
                loopback: self.flow.from_host,
            },
        }
    }

    pub fn saddr(&self) -> Dst {
        match (self.reply(), self.translated) {
            (false, _) => Dst::Addr(self.flow.source),
            (true, true) => self.host_side(),
            (true, false) => Dst::Addr(self.flow.target),
        }
    }

    pub fn daddr(&self) -> Dst {
        match (self.reply(), self.translated) {
            (false, true) => Dst::Addr(self.flow.target),
            (false, false) => self.host_side(),
            // netd masquerades the host's loopback connections: the answer
            // goes to the bridge's own address.
            (true, _) if self.flow.masqueraded() => Dst::AnyLocal { loopback: false },
            (true, _) => Dst::Addr(self.flow.source),
        }
    }

    /// The destination port; None when it is the client's own port, which
    /// is not known.
    pub fn dport(&self) -> Option<u16> {
        match (self.reply(), self.translated) {
            (true, _) => None,
            (false, true) => Some(self.flow.target_port),
            (false, false) => Some(self.flow.host_port),
        }
    }

    /// The source port; None when it is the client's own port.
    pub fn sport(&self) -> Option<u16> {
        match (self.reply(), self.translated) {
            (false, _) => None,
            (true, true) => Some(self.flow.host_port),
            (true, false) => Some(self.flow.target_port),
        }
    }

    /// Whether the destination is the host's own (what `fib daddr type` says).
    pub fn daddr_local(&self) -> bool {
        if self.reply() {
            self.flow.from_host
        } else {
            !self.translated
        }
    }

    /// Whether the source is the host's own (`fib saddr type`).
    pub fn saddr_local(&self) -> bool {
        if self.reply() {
            self.translated
        } else {
            self.flow.from_host
        }
    }

    /// None where the kernel has no input interface (locally generated
    /// packets): any rule on it fails.
    pub fn iif(&self) -> Option<Iface> {
        match (self.reply(), self.flow.from_host) {
            (true, _) => Some(self.flow.bridge.clone()),
            (false, false) => Some(self.flow.iif.clone()),
            (false, true) => None,
        }
    }

    /// None before routing and for local delivery: any rule on it fails.
    pub fn oif(&self) -> Option<Iface> {
        match self.hook {
            Hook::Prerouting | Hook::Input | Hook::Ingress => None,
            _ if self.reply() => (!self.flow.from_host).then(|| self.flow.iif.clone()),
            // Output chains see the device of the route the packet had when
            // the hook began: a local address's, lo, even after netd's DNAT
            // re-routes it to the bridge.
            Hook::Output => Some(Iface::Named("lo".into())),
            _ if self.translated => Some(self.flow.bridge.clone()),
            // Before DNAT, a connection to a local address is routed to lo.
            _ => Some(Iface::Named("lo".into())),
        }
    }

    /// `ct state` as a bit set: None when not known.
    pub fn ct_state(&self) -> Option<u64> {
        Some(match self.tracked? {
            // Not yet tracked: the kernel's ct expression says invalid.
            false => 1,
            true if self.phase == Phase::First => 8,
            true => 2,
        })
    }

    /// `ct status` as a bit set. The first packet has dnat once netd's DNAT
    /// ran; replies and later packets belong to a confirmed connection that
    /// has seen a reply, and later TCP packets to an assured one.
    pub fn ct_status(&self) -> u64 {
        const DNAT: u64 = 32;
        const SNAT: u64 = 16;
        const SEEN_REPLY: u64 = 2;
        const ASSURED: u64 = 4;
        const CONFIRMED: u64 = 8;
        match self.phase {
            Phase::First if self.translated => DNAT,
            Phase::First => 0,
            _ => {
                let mut s = DNAT | SEEN_REPLY | CONFIRMED;
                if self.flow.masqueraded() {
                    s |= SNAT;
                }
                if self.phase == Phase::Later {
                    s |= ASSURED;
                }
                s
            }
        }
    }

    /// `tcp flags`: SYN, then SYN-ACK, then ACK.
    pub fn tcp_flags(&self) -> u64 {
        match self.phase {
            Phase::First => 2,
            Phase::Reply => 18,
            Phase::Later => 16,
        }
    }

    /// One line for the trace: what this chain sees.
    pub fn describe(&self) -> String {
        let f = self.flow;
        let show = |d: Dst, port: Option<u16>| {
            let port = port.map_or_else(|| "*".to_string(), |p| p.to_string());
            match d {
                Dst::Addr(a) if a.is_ipv6() => format!("[{a}]:{port}"),
                Dst::Addr(a) => format!("{a}:{port}"),
                Dst::AnyLocal { .. } => format!("(local address):{port}"),
            }
        };
        let mut s = format!(
            "{} {} -> {}",
            f.proto,
            show(self.saddr(), self.sport()),
            show(self.daddr(), self.dport())
        );
        if f.proto == crate::model::Proto::Tcp {
            s.push_str(match self.phase {
                Phase::First => " (syn)",
                Phase::Reply => " (syn,ack)",
                Phase::Later => " (ack)",
            });
        }
        if let Some(i) = self.iif() {
            s.push_str(&format!(", iif {i}"));
        }
        if let Some(o) = self.oif() {
            s.push_str(&format!(", oif {o}"));
        }
        match (self.tracked, self.phase) {
            (Some(false), _) => s.push_str(", not tracked yet"),
            (None, _) => s.push_str(", tracked or not (chain at conntrack's priority)"),
            (Some(true), Phase::First) => s.push_str(", ct state new"),
            (Some(true), Phase::Reply) => s.push_str(", ct state established, ct direction reply"),
            (Some(true), Phase::Later) => s.push_str(", ct state established"),
        }
        if self.ct_status() & 32 != 0 && self.tracked == Some(true) {
            s.push_str(", ct status dnat");
        }
        s
    }
}
