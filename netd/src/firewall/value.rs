//! What the flow defines of a packet's fields: each left-hand expression
//! of a match evaluates to a value, to "absent" (the expression cannot be
//! loaded for this packet, so the rule breaks), or to unknown with a reason.

use std::net::IpAddr;

use super::expr::Expr;
use super::flow::Iface;
use super::packet::{Dst, Packet, Phase};
use super::ruleset::Table;
use crate::model::Proto;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown(String),
}

impl Tri {
    pub(super) fn from_bool(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }

    /// Left-to-right AND: false wins, then the first unknown.
    pub(super) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::Unknown(r), _) | (_, Tri::Unknown(r)) => Tri::Unknown(r),
            _ => Tri::True,
        }
    }

    /// OR over set elements: true wins, then the first unknown.
    pub(super) fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut unknown = None;
        for t in items {
            match t {
                Tri::True => return Tri::True,
                Tri::Unknown(r) => unknown = unknown.or(Some(r)),
                Tri::False => {}
            }
        }
        unknown.map_or(Tri::False, Tri::Unknown)
    }

    pub(super) fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            u => u,
        }
    }
}

const CT_STATE: &[(&str, u64)] = &[
    ("invalid", 1),
    ("established", 2),
    ("related", 4),
    ("new", 8),
    ("untracked", 64),
];
const CT_STATUS: &[(&str, u64)] = &[
    ("expected", 1),
    ("seen-reply", 2),
    ("assured", 4),
    ("confirmed", 8),
    ("snat", 16),
    ("dnat", 32),
    ("dying", 512),
];
const TCP_FLAGS: &[(&str, u64)] = &[
    ("fin", 1),
    ("syn", 2),
    ("rst", 4),
    ("psh", 8),
    ("ack", 16),
    ("urg", 32),
    ("ecn", 64),
    ("cwr", 128),
];

/// A value of the packet, as far as the flow defines it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Addr(IpAddr),
    Dst(Dst),
    Port(u16),
    Proto(u8),
    Iface(Iface),
    /// Enumerated words: fib types, nfproto, pkttype, ct direction.
    Word(&'static str),
    Flags(u64, &'static [(&'static str, u64)]),
    Num(u64),
    /// A fib lookup that finds an interface (which one is not known).
    Exists,
    /// The client's own port: not known, but not a privileged one (below
    /// 1024), which clients do not use.
    ClientPort,
}

/// What a left-hand expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Known {
    Val(Val),
    /// The expression cannot be loaded for this packet (a `tcp` field of a
    /// UDP packet, `iifname` of a locally generated one): the rule breaks.
    Absent,
    Unknown(String),
}

pub(crate) struct Ctx<'a> {
    pub table: &'a Table,
    pub pkt: Packet<'a>,
}

fn proto_number(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    }
}

pub(super) fn proto_by_name(s: &str) -> Option<u8> {
    Some(match s {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        "sctp" => 132,
        "udplite" => 136,
        "dccp" => 33,
        _ => return s.parse().ok(),
    })
}

pub(super) fn service_port(s: &str) -> Option<u16> {
    Some(match s {
        "ssh" => 22,
        "domain" => 53,
        "http" => 80,
        "https" => 443,
        _ => return s.parse().ok(),
    })
}

fn unknown(what: impl Into<String>) -> Known {
    Known::Unknown(what.into())
}

impl Ctx<'_> {
    pub(super) fn v6(&self) -> bool {
        self.pkt.flow.is_ipv6()
    }

    /// The value of a left-hand expression.
    pub fn eval(&self, e: &Expr) -> Known {
        let pkt = &self.pkt;
        let flow = pkt.flow;
        match e {
            Expr::Payload { proto, field } => self.payload(proto, field),
            Expr::Meta(key) => match key.as_str() {
                "iifname" | "iif" => match pkt.iif() {
                    Some(i) => Known::Val(Val::Iface(i)),
                    None => Known::Absent,
                },
                "oifname" | "oif" => match pkt.oif() {
                    Some(o) => Known::Val(Val::Iface(o)),
                    None => Known::Absent,
                },
                "l4proto" => Known::Val(Val::Proto(proto_number(flow.proto))),
                "nfproto" => Known::Val(Val::Word(if self.v6() { "ipv6" } else { "ipv4" })),
                "protocol" => Known::Val(Val::Word(if self.v6() { "ip6" } else { "ip" })),
                "pkttype" => Known::Val(Val::Word("host")),
                "mark" => unknown("the flow's meta mark is not known"),
                other => unknown(format!("meta {other} is not known for this flow")),
            },
            Expr::Ct { key, dir } => self.ct(key, dir.as_deref()),
            Expr::Fib { result, flags } => self.fib(result, flags),
            Expr::Binop { op, left, right } => match (op.as_str(), self.eval(left), &**right) {
                ("&", Known::Val(v), mask) => match (num_of(&v), mask_of(&v, mask)) {
                    // Flags stay flags, so the masked value compares with a
                    // flag list (`tcp flags & (syn | ack) == syn | ack`).
                    (Some(n), Some(m)) => Known::Val(match v {
                        Val::Flags(_, names) => Val::Flags(n & m, names),
                        _ => Val::Num(n & m),
                    }),
                    _ => unknown(format!("cannot evaluate {e}")),
                },
                (_, Known::Absent, _) => Known::Absent,
                (_, Known::Unknown(r), _) => Known::Unknown(r),
                _ => unknown(format!("cannot evaluate {e}")),
            },
            _ => unknown(format!("cannot evaluate {e}")),
        }
    }

    /// A conntrack key. Before conntrack (ingress, raw-priority chains) the
    /// kernel's `ct state` is invalid and every other key breaks the rule.
    fn ct(&self, key: &str, dir: Option<&str>) -> Known {
        let pkt = &self.pkt;
        let flow = pkt.flow;
        if key == "state" && dir.is_none() {
            return pkt.ct_state().map_or_else(
                || {
                    unknown(
                        "whether conntrack has seen the packet is not known at its own priority",
                    )
                },
                |s| Known::Val(Val::Flags(s, CT_STATE)),
            );
        }
        match pkt.tracked {
            Some(false) => return Known::Absent,
            None => {
                return unknown(
                    "whether conntrack has seen the packet is not known at its own priority",
                );
            }
            Some(true) => {}
        }
        let first = Packet {
            phase: Phase::First,
            translated: false,
            ..*pkt
        };
        match (key, dir) {
            ("status", None) => Known::Val(Val::Flags(pkt.ct_status(), CT_STATUS)),
            ("direction", None) => Known::Val(Val::Word(if pkt.phase == Phase::Reply {
                "reply"
            } else {
                "original"
            })),
            ("l3proto", _) => Known::Val(Val::Word(if self.v6() { "ipv6" } else { "ipv4" })),
            ("protocol", _) => Known::Val(Val::Proto(proto_number(flow.proto))),
            ("saddr" | "ip saddr" | "ip6 saddr", Some("original")) => {
                Known::Val(Val::Addr(flow.source))
            }
            ("daddr" | "ip daddr" | "ip6 daddr", Some("original")) => {
                Known::Val(dst_val(first.daddr()))
            }
            ("proto-dst", Some("original")) => Known::Val(Val::Port(flow.host_port)),
            ("mark", _) => unknown("the flow's ct mark is not known"),
            (k, _) => unknown(format!("ct {k} is not known for this flow")),
        }
    }

    fn payload(&self, proto: &str, field: &str) -> Known {
        let pkt = &self.pkt;
        let flow = pkt.flow;
        match proto {
            "ip" | "ip6" => {
                if (proto == "ip6") != self.v6() {
                    return Known::Absent;
                }
                match field {
                    "saddr" => Known::Val(dst_val(pkt.saddr())),
                    "daddr" => Known::Val(dst_val(pkt.daddr())),
                    "protocol" | "nexthdr" => Known::Val(Val::Proto(proto_number(flow.proto))),
                    "version" => Known::Val(Val::Num(if self.v6() { 6 } else { 4 })),
                    _ => unknown(format!("{proto} {field} is not known for this flow")),
                }
            }
            "tcp" | "udp" | "th" => {
                if proto != "th" && proto != flow.proto.to_string() {
                    return Known::Absent;
                }
                match field {
                    "dport" => Known::Val(pkt.dport().map_or(Val::ClientPort, Val::Port)),
                    "sport" => Known::Val(pkt.sport().map_or(Val::ClientPort, Val::Port)),
                    "flags" if proto == "tcp" => Known::Val(Val::Flags(pkt.tcp_flags(), TCP_FLAGS)),
                    _ => unknown(format!("{proto} {field} is not known for this flow")),
                }
            }
            "icmp" | "icmpv6" | "sctp" | "dccp" | "udplite" | "ah" | "esp" | "comp" | "igmp"
            | "gre" => Known::Absent,
            _ => unknown(format!("{proto} {field} is not known for this flow")),
        }
    }

    fn fib(&self, result: &str, flags: &[String]) -> Known {
        let has = |f: &str| flags.iter().any(|x| x == f);
        match result {
            "type" if has("daddr") => Known::Val(Val::Word(if self.pkt.daddr_local() {
                "local"
            } else {
                "unicast"
            })),
            "type" if has("saddr") => Known::Val(Val::Word(if self.pkt.saddr_local() {
                "local"
            } else {
                "unicast"
            })),
            // Reverse-path checks: the client is assumed reachable by the
            // interface it came in on, so the lookup finds an interface.
            "oif" | "oifname" if has("saddr") => Known::Val(Val::Exists),
            "oif" | "oifname" if has("daddr") => match self.pkt.oif() {
                Some(o) if self.pkt.translated && self.pkt.phase != Phase::Reply => {
                    Known::Val(Val::Iface(o))
                }
                _ => Known::Val(Val::Exists),
            },
            _ => unknown(format!("fib {} {result} is not known", flags.join(" . "))),
        }
    }
}

fn dst_val(d: Dst) -> Val {
    match d {
        Dst::Addr(a) => Val::Addr(a),
        d => Val::Dst(d),
    }
}

pub(super) fn num_of(v: &Val) -> Option<u64> {
    match v {
        Val::Port(p) => Some(u64::from(*p)),
        Val::Proto(p) => Some(u64::from(*p)),
        Val::Num(n) | Val::Flags(n, _) => Some(*n),
        _ => None,
    }
}

pub(super) fn mask_of(v: &Val, e: &Expr) -> Option<u64> {
    match (v, e) {
        (_, Expr::Num(n)) => Some(*n),
        (Val::Flags(_, names), Expr::List(items) | Expr::Set(items)) => flag_mask(items, names),
        (Val::Flags(_, names), Expr::Str(_)) => flag_mask(std::slice::from_ref(e), names),
        _ => None,
    }
}

pub(super) fn flag_mask(items: &[Expr], names: &[(&str, u64)]) -> Option<u64> {
    items.iter().try_fold(0, |acc, i| {
        let bit = match i {
            Expr::Str(s) => names.iter().find(|(n, _)| n == s)?.1,
            Expr::Num(n) => *n,
            _ => return None,
        };
        Some(acc | bit)
    })
}
