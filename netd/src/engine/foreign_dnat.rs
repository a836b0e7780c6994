//! Other tables' DNAT and redirect rules for a published port: podman's,
//! Docker's, the admin's. Only the nat chains at prerouting and output
//! (and the chains they jump to) count, where netd's own DNAT runs.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::port_conflict::{Conflict, PublishedPort};
use crate::firewall::{
    Expr, Family, Hook, NatKind, Op, Owner, Rule, Ruleset, Stmt, Table, Verdict,
};
use crate::model::Proto;

/// Whether a rule's matches cover the publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    Yes,
    No,
    Unknown,
}

impl Cover {
    fn and(self, other: Cover) -> Cover {
        match (self, other) {
            (Cover::No, _) | (_, Cover::No) => Cover::No,
            (Cover::Unknown, _) | (_, Cover::Unknown) => Cover::Unknown,
            _ => Cover::Yes,
        }
    }
}

pub fn foreign_dnats(pp: &PublishedPort, rs: &Ruleset) -> Vec<Conflict> {
    let mut out = Vec::new();
    for t in &rs.tables {
        let family_ok = match t.family {
            Family::Ip => !pp.ipv6,
            Family::Ip6 => pp.ipv6,
            Family::Inet => true,
            _ => false,
        };
        if t.owner == Owner::Netd || !family_ok {
            continue;
        }
        for chain in nat_chains(t) {
            for rule in t.chain(chain).map(|c| c.rules.as_slice()).unwrap_or(&[]) {
                if let Some(certain) = dnats_port(pp, t, rule) {
                    out.push(Conflict::Dnat {
                        certain,
                        owner: t.owner.to_string(),
                        family: t.family,
                        table: t.name.clone(),
                        chain: chain.to_string(),
                        handle: rule.handle,
                        text: rule.text(),
                    });
                }
            }
        }
    }
    out
}

/// The nat base chains at prerouting and output, and every chain they
/// jump or go to.
fn nat_chains(t: &Table) -> BTreeSet<&str> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = t
        .base_chains()
        .filter(|(_, b)| b.kind == "nat" && matches!(b.hook, Hook::Prerouting | Hook::Output))
        .map(|(c, _)| c.name.as_str())
        .collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        for rule in t.chain(name).map(|c| c.rules.as_slice()).unwrap_or(&[]) {
            for stmt in &rule.stmts {
                let mut targets = Vec::new();
                match stmt {
                    Stmt::Verdict(v) => targets.push(v),
                    Stmt::Vmap {
                        map: Expr::Set(items),
                        ..
                    } => targets.extend(items.iter().filter_map(|i| match i {
                        Expr::Pair(_, v) => match v.as_ref() {
                            Expr::Verdict(v) => Some(v),
                            _ => None,
                        },
                        _ => None,
                    })),
                    _ => {}
                }
                for v in targets {
                    if let Verdict::Jump(c) | Verdict::Goto(c) = v
                        && let Some(chain) = t.chain(c)
                    {
                        todo.push(chain.name.as_str());
                    }
                }
            }
        }
    }
    seen
}

/// Some(certain) when the rule DNATs or redirects the publish's port:
/// certain when a port match covers it, not when there is no port match
/// or one netd cannot evaluate. None when it does not.
fn dnats_port(pp: &PublishedPort, t: &Table, rule: &Rule) -> Option<bool> {
    let nat_family_ok = |f: &Option<String>| match f.as_deref() {
        Some("ip") => !pp.ipv6,
        Some("ip6") => pp.ipv6,
        _ => true,
    };
    let mut port_map = None;
    let nat = rule.stmts.iter().any(|s| match s {
        Stmt::Nat(n) if matches!(n.kind, NatKind::Dnat | NatKind::Redirect) => {
            if !nat_family_ok(&n.family) {
                return false;
            }
            // `dnat to tcp dport map { 8080 : ... }`: the map's keys are a
            // port match.
            for e in [&n.addr, &n.port].into_iter().flatten() {
                if let Expr::Lookup { key, map } = e
                    && is_dport(key)
                {
                    port_map = Some(map.as_ref());
                }
            }
            true
        }
        Stmt::Xt {
            target: true, name, ..
        } => name == "DNAT" || name == "REDIRECT",
        _ => false,
    });
    if !nat {
        return None;
    }
    let mut cover = Cover::Unknown;
    let mut port_matched = false;
    for stmt in &rule.stmts {
        let Stmt::Match { op, left, right } = stmt else {
            continue;
        };
        let c = match_cover(pp, t, *op, left, right);
        if is_dport(left) {
            cover = if port_matched { cover.and(c) } else { c };
            port_matched = true;
        } else if c == Cover::No {
            return None;
        }
    }
    if let Some(map) = port_map {
        let c = port_cover(pp, t, map);
        cover = if port_matched { cover.and(c) } else { c };
        port_matched = true;
    }
    match (port_matched, cover) {
        (_, Cover::No) => None,
        (true, Cover::Yes) => Some(true),
        _ => Some(false),
    }
}

fn is_dport(e: &Expr) -> bool {
    matches!(e, Expr::Payload { field, .. } if field == "dport")
}

/// What one match says about the publish: its port, protocol or address.
/// Matches on anything else are not about the port (Unknown, which keeps
/// the rule in).
fn match_cover(pp: &PublishedPort, t: &Table, op: Op, left: &Expr, right: &Expr) -> Cover {
    let proto = |want: &str| match want {
        "tcp" => Some(Proto::Tcp),
        "udp" => Some(Proto::Udp),
        _ => None,
    };
    let positive = matches!(op, Op::Eq | Op::In);
    match left {
        Expr::Payload { proto: p, field } if field == "dport" => {
            match p.as_str() {
                "tcp" | "udp" if proto(p) != Some(pp.proto) => return Cover::No,
                "tcp" | "udp" | "th" => {}
                // sctp, dccp: never a tcp or udp publish.
                _ => return Cover::No,
            }
            match (op, port_cover(pp, t, right)) {
                (Op::Eq | Op::In, c) => c,
                // `!= 8080` misses exactly a publish of that one port.
                (Op::Ne, Cover::Yes) if pp.port.start == pp.port.end => Cover::No,
                _ => Cover::Unknown,
            }
        }
        Expr::Payload { proto: p, .. } if matches!(p.as_str(), "tcp" | "udp") => {
            if proto(p) == Some(pp.proto) {
                Cover::Unknown
            } else {
                Cover::No
            }
        }
        Expr::Meta(k) if k == "l4proto" && positive => match right {
            Expr::Str(s) => proto_is(pp, proto(s)),
            Expr::Num(6) => proto_is(pp, Some(Proto::Tcp)),
            Expr::Num(17) => proto_is(pp, Some(Proto::Udp)),
            _ => Cover::Unknown,
        },
        Expr::Payload { proto: p, field } if p == "ip" || p == "ip6" => {
            if (p == "ip6") != pp.ipv6 {
                return Cover::No;
            }
            match (field.as_str(), op, pp.host_address) {
                ("daddr", Op::Eq, Some(a)) => match addr_cover(a, right) {
                    Some(false) => Cover::No,
                    _ => Cover::Unknown,
                },
                _ => Cover::Unknown,
            }
        }
        _ => Cover::Unknown,
    }
}

fn proto_is(pp: &PublishedPort, p: Option<Proto>) -> Cover {
    if p == Some(pp.proto) {
        Cover::Unknown
    } else {
        Cover::No
    }
}

/// Whether address `a` is the one (or in the prefix) `right` names; None
/// when `right` is something else.
fn addr_cover(a: IpAddr, right: &Expr) -> Option<bool> {
    match right {
        Expr::Str(s) => s.parse::<IpAddr>().ok().map(|r| r == a),
        Expr::Prefix { addr, len } => format!("{addr}/{len}")
            .parse::<ipnet::IpNet>()
            .ok()
            .map(|n| n.contains(&a)),
        _ => None,
    }
}

/// Whether the ports `right` names (a port, a range, a set, a named set or
/// a map's keys) include one of the publish's.
fn port_cover(pp: &PublishedPort, t: &Table, right: &Expr) -> Cover {
    let overlaps =
        |lo: u64, hi: u64| u64::from(pp.port.start) <= hi && lo <= u64::from(pp.port.end);
    match right {
        Expr::Num(n) => yes_if(overlaps(*n, *n)),
        Expr::Range(lo, hi) => match (lo.as_ref(), hi.as_ref()) {
            (Expr::Num(lo), Expr::Num(hi)) => yes_if(overlaps(*lo, *hi)),
            _ => Cover::Unknown,
        },
        Expr::Pair(key, _) => port_cover(pp, t, key),
        Expr::Set(items) => any_cover(items.iter().map(|i| port_cover(pp, t, i))),
        Expr::SetRef(name) => match t.set(name) {
            Some(set) => any_cover(set.elems.iter().map(|i| port_cover(pp, t, i))),
            None => Cover::Unknown,
        },
        _ => Cover::Unknown,
    }
}

fn yes_if(b: bool) -> Cover {
    if b { Cover::Yes } else { Cover::No }
}

fn any_cover(items: impl Iterator<Item = Cover>) -> Cover {
    let mut out = Cover::No;
    for c in items {
        match c {
            Cover::Yes => return Cover::Yes,
            Cover::Unknown => out = Cover::Unknown,
            Cover::No => {}
        }
    }
    out
}
