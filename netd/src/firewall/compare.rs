//! Comparing a packet's values with the right-hand side of a match: single
//! values, prefixes, ranges, anonymous and named sets, flag lists, and map
//! lookups, each true, false or unknown.

use std::net::IpAddr;

use ipnet::IpNet;

use super::expr::{Expr, Op};
use super::flow::Iface;
use super::packet::Dst;
use super::value::{Ctx, Known, Tri, Val, flag_mask, num_of, proto_by_name, service_port};

impl Ctx<'_> {
    /// Whether `left op right` holds.
    pub fn compare(&self, op: Op, left: &Expr, right: &Expr) -> Tri {
        if let Expr::Concat(parts) = left {
            let vals: Vec<Known> = parts.iter().map(|p| self.eval(p)).collect();
            if vals.contains(&Known::Absent) {
                return Tri::False;
            }
            let t = self.contains_concat(&vals, right);
            return if op == Op::Ne { t.not() } else { t };
        }
        let v = match self.eval(left) {
            Known::Absent => return Tri::False,
            Known::Unknown(r) => return Tri::Unknown(r),
            Known::Val(v) => v,
        };
        match op {
            Op::Eq | Op::In => self.contains(&v, right, op == Op::Eq),
            Op::Ne => self.contains(&v, right, false).not(),
            Op::Lt | Op::Gt | Op::Le | Op::Ge => match (num_of(&v), right) {
                (Some(n), Expr::Num(m)) => Tri::from_bool(match op {
                    Op::Lt => n < *m,
                    Op::Gt => n > *m,
                    Op::Le => n <= *m,
                    _ => n >= *m,
                }),
                _ => Tri::Unknown(format!("cannot compare {left} with {right}")),
            },
        }
    }

    /// Whether `v` is `e`, or in it (sets, prefixes, ranges, flag lists).
    /// `exact`: flags must equal rather than intersect.
    fn contains(&self, v: &Val, e: &Expr, exact: bool) -> Tri {
        match e {
            Expr::Set(items) => Tri::any(items.iter().map(|i| self.contains(v, i, true))),
            Expr::SetRef(name) => match self.table.set(name) {
                Some(set) => Tri::any(set.elems.iter().map(|i| self.contains(v, i, true))),
                None => Tri::Unknown(format!("set @{name} is not in the listing")),
            },
            Expr::List(items) => match v {
                Val::Flags(bits, names) => match flag_mask(items, names) {
                    Some(mask) => Tri::from_bool(bits & mask != 0),
                    None => Tri::Unknown(format!("unknown flag in {e}")),
                },
                _ => Tri::any(items.iter().map(|i| self.contains(v, i, true))),
            },
            _ => value_eq(v, e, exact),
        }
    }

    fn contains_concat(&self, vals: &[Known], e: &Expr) -> Tri {
        match e {
            Expr::Concat(items) if items.len() == vals.len() => {
                vals.iter()
                    .zip(items)
                    .fold(Tri::True, |acc, (k, item)| match k {
                        Known::Val(v) => acc.and(self.contains(v, item, true)),
                        Known::Absent => Tri::False,
                        Known::Unknown(r) => acc.and(Tri::Unknown(r.clone())),
                    })
            }
            Expr::Set(items) => Tri::any(items.iter().map(|i| self.contains_concat(vals, i))),
            Expr::SetRef(name) => match self.table.set(name) {
                Some(set) => Tri::any(set.elems.iter().map(|i| self.contains_concat(vals, i))),
                None => Tri::Unknown(format!("set @{name} is not in the listing")),
            },
            _ => Tri::Unknown(format!("cannot compare a concatenation with {e}")),
        }
    }

    /// Map lookup: the data of the element whose key matches. Elements
    /// whose match is unknown are returned as candidates.
    pub fn lookup(&self, key: &Expr, map: &Expr) -> Lookup {
        let elems: Vec<Expr> = match map {
            Expr::Set(items) => items.clone(),
            Expr::SetRef(name) => match self.table.set(name) {
                Some(set) => set.elems.clone(),
                None => return Lookup::Unknown(format!("map @{name} is not in the listing")),
            },
            other => return Lookup::Unknown(format!("cannot look up in {other}")),
        };
        let keys: Vec<Known> = match key {
            Expr::Concat(parts) => parts.iter().map(|p| self.eval(p)).collect(),
            k => vec![self.eval(k)],
        };
        if keys.contains(&Known::Absent) {
            return Lookup::Absent;
        }
        let mut candidates = Vec::new();
        for elem in &elems {
            let Expr::Pair(k, data) = elem else { continue };
            let t = match &keys[..] {
                [one] => match one {
                    Known::Val(v) => self.contains(v, k, true),
                    Known::Unknown(r) => Tri::Unknown(r.clone()),
                    Known::Absent => Tri::False,
                },
                many => self.contains_concat(many, k),
            };
            match t {
                Tri::True => return Lookup::Found((**data).clone()),
                Tri::Unknown(r) => candidates.push((r, (**k).clone(), (**data).clone())),
                Tri::False => {}
            }
        }
        if candidates.is_empty() {
            Lookup::Absent
        } else {
            Lookup::Candidates(candidates)
        }
    }
}

pub(crate) enum Lookup {
    Found(Expr),
    /// No element matches (or the key cannot be loaded).
    Absent,
    /// (why unknown, key, data) of elements that may match; none may match too.
    Candidates(Vec<(String, Expr, Expr)>),
    Unknown(String),
}

/// An interface name against an nft pattern: `eth*` is a prefix match.
fn iface_matches(name: &str, pattern: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) if !prefix.ends_with('\\') => name.starts_with(prefix),
        _ => name == pattern.replace("\\*", "*"),
    }
}

fn addr_in(a: IpAddr, e: &Expr) -> Option<bool> {
    match e {
        Expr::Str(s) => s.parse::<IpAddr>().ok().map(|b| a == b),
        Expr::Prefix { addr, len } => {
            let net = IpNet::new(addr.parse().ok()?, *len).ok()?;
            Some(net.contains(&a))
        }
        Expr::Range(lo, hi) => match (&**lo, &**hi) {
            (Expr::Str(lo), Expr::Str(hi)) => {
                let (lo, hi): (IpAddr, IpAddr) = (lo.parse().ok()?, hi.parse().ok()?);
                Some(lo <= a && a <= hi && lo.is_ipv6() == a.is_ipv6())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether a local address can be in `e` at all: never a multicast or
/// broadcast address, and a loopback one only for the host's own
/// connections.
fn any_local_in(loopback: bool, e: &Expr) -> Tri {
    let (addr, len) = match e {
        Expr::Str(s) => match s.parse::<IpAddr>() {
            Ok(a) => (a, if a.is_ipv4() { 32 } else { 128 }),
            Err(_) => return Tri::Unknown(format!("cannot read address {s}")),
        },
        Expr::Prefix { addr, len } => match addr.parse::<IpAddr>() {
            Ok(a) => (a, *len),
            Err(_) => return Tri::Unknown(format!("cannot read address {addr}")),
        },
        _ => {
            return Tri::Unknown(
                "the destination is any local address (the publish has no host_address)".into(),
            );
        }
    };
    let Ok(net) = IpNet::new(addr, len) else {
        return Tri::Unknown(format!("cannot read prefix {e}"));
    };
    let never: &[&str] = if loopback {
        &["224.0.0.0/4", "ff00::/8", "255.255.255.255/32"]
    } else {
        &[
            "224.0.0.0/4",
            "ff00::/8",
            "255.255.255.255/32",
            "127.0.0.0/8",
            "::1/128",
        ]
    };
    let impossible = never.iter().any(|n| {
        n.parse::<IpNet>()
            .is_ok_and(|n| n.contains(&net.network()) && n.prefix_len() <= net.prefix_len())
    });
    if impossible {
        Tri::False
    } else {
        Tri::Unknown(
            "the destination is any local address (the publish has no host_address)".into(),
        )
    }
}

/// The ports a client may connect from.
const CLIENT_PORTS: (u64, u64) = (1024, 65535);

fn value_eq(v: &Val, e: &Expr, exact: bool) -> Tri {
    let cannot = || Tri::Unknown(format!("cannot compare with {e}"));
    match v {
        Val::Addr(a) => addr_in(*a, e).map_or_else(cannot, Tri::from_bool),
        Val::Dst(Dst::Addr(a)) => addr_in(*a, e).map_or_else(cannot, Tri::from_bool),
        Val::Dst(Dst::AnyLocal { loopback }) => any_local_in(*loopback, e),
        Val::Port(p) => match e {
            Expr::Num(n) => Tri::from_bool(u64::from(*p) == *n),
            Expr::Str(s) => service_port(s).map_or_else(cannot, |n| Tri::from_bool(*p == n)),
            Expr::Range(lo, hi) => match (&**lo, &**hi) {
                (Expr::Num(lo), Expr::Num(hi)) => {
                    Tri::from_bool(*lo <= u64::from(*p) && u64::from(*p) <= *hi)
                }
                _ => cannot(),
            },
            _ => cannot(),
        },
        Val::ClientPort => {
            let unknown = || Tri::Unknown("the client's port is not known".into());
            let port = |x: &Expr| match x {
                Expr::Num(n) => Some(*n),
                Expr::Str(s) => service_port(s).map(u64::from),
                _ => None,
            };
            match e {
                Expr::Range(lo, hi) => match (port(lo), port(hi)) {
                    (Some(_), Some(hi)) if hi < CLIENT_PORTS.0 => Tri::False,
                    (Some(lo), Some(hi)) if lo <= CLIENT_PORTS.0 && hi >= CLIENT_PORTS.1 => {
                        Tri::True
                    }
                    (Some(_), Some(_)) => unknown(),
                    _ => cannot(),
                },
                _ => match port(e) {
                    Some(n) if n < CLIENT_PORTS.0 => Tri::False,
                    Some(_) => unknown(),
                    None => cannot(),
                },
            }
        }
        Val::Proto(p) => match e {
            Expr::Num(n) => Tri::from_bool(u64::from(*p) == *n),
            Expr::Str(s) => proto_by_name(s).map_or_else(cannot, |n| Tri::from_bool(*p == n)),
            _ => cannot(),
        },
        Val::Iface(Iface::Named(name)) => match e {
            Expr::Str(pattern) => Tri::from_bool(iface_matches(name, pattern)),
            _ => cannot(),
        },
        Val::Iface(Iface::Unknown { not }) => match e {
            Expr::Str(pattern) if !pattern.ends_with('*') && not.contains(pattern) => Tri::False,
            Expr::Str(pattern) => Tri::Unknown(format!(
                "the input interface is not known, so whether it is \"{pattern}\" is not either"
            )),
            _ => cannot(),
        },
        Val::Word(w) => match e {
            Expr::Str(s) => Tri::from_bool(s.eq_ignore_ascii_case(w)),
            Expr::Num(n) => match (*w, n) {
                ("ipv4", 2) | ("ipv6", 10) => Tri::True,
                ("ipv4" | "ipv6", _) => Tri::False,
                _ => cannot(),
            },
            _ => cannot(),
        },
        Val::Flags(bits, names) => match flag_mask(std::slice::from_ref(e), names) {
            Some(mask) if exact => Tri::from_bool(*bits == mask),
            Some(mask) => Tri::from_bool(bits & mask != 0),
            None => cannot(),
        },
        Val::Num(n) => match e {
            Expr::Num(m) => Tri::from_bool(n == m),
            _ => cannot(),
        },
        Val::Exists => match e {
            Expr::Bool(b) => Tri::from_bool(*b),
            _ => Tri::Unknown(format!(
                "which interface the fib lookup finds is not known ({e})"
            )),
        },
    }
}
