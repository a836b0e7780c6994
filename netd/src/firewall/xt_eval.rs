//! An iptables (xt) match against the packet. `nft -j` gives only its
//! name; with the options `iptables-nft-save` gave, the matches ufw and
//! Docker rely on (conntrack states, address types, ports) are evaluated
//! as the kernel's xt modules do. Anything else stays unknown.

use super::packet::Phase;
use super::value::{Ctx, Tri, service_port};
use super::xt_save::{XtMatch, XtOpt};

/// Matches false for the flow whatever their options: they need an IPv6
/// extension header or an IPsec header, and a plain TCP/UDP connection's
/// packets have none; or ICMP, which a TCP/UDP packet is not.
const XT_FALSE: &[&str] = &[
    "rt", "frag", "hbh", "dst", "mh", "ah", "esp", "icmp", "icmp6",
];

/// Matches that explain evaluates once their options are known.
pub(super) fn modelled(name: &str) -> bool {
    XT_FALSE.contains(&name)
        || matches!(
            name,
            "conntrack" | "state" | "addrtype" | "multiport" | "comment" | "limit" | "tcp" | "udp"
        )
}

fn unknown(why: impl Into<String>) -> Tri {
    Tri::Unknown(why.into())
}

const NOT_SEEN: &str = "whether conntrack has seen the packet is not known at its own priority";

pub(super) fn eval_xt_match(ctx: &Ctx<'_>, name: &str, options: Option<&XtMatch>) -> Tri {
    if XT_FALSE.contains(&name) {
        return Tri::False;
    }
    // Within the rate, explain's assumption for every rate limit.
    if matches!(name, "comment" | "limit") {
        return Tri::True;
    }
    // The rule's `-p` restricts these to their protocol.
    if matches!(name, "tcp" | "udp") && name != ctx.pkt.flow.proto.to_string() {
        return Tri::False;
    }
    let Some(m) = options else {
        return unknown(format!(
            "nft -j does not show the options of iptables match {name}, and iptables-nft-save did not give them"
        ));
    };
    match name {
        "conntrack" | "state" => conntrack(ctx, m),
        "addrtype" => addrtype(ctx, m),
        "multiport" => each(m, |o| multiport(ctx, o)),
        "tcp" | "udp" => each(m, |o| l4(ctx, o)),
        "mark" => unknown(format!(
            "the flow's packet mark is not known (iptables match mark {m})"
        )),
        "connmark" => unknown(format!(
            "the flow's ct mark is not known (iptables match connmark {m})"
        )),
        "set" => unknown(format!("the contents of ipsets are not known ({m})")),
        _ => unknown(format!("iptables match {name} {m} is not modelled")),
    }
}

/// All options must hold; `!` inverts one.
fn each(m: &XtMatch, f: impl Fn(&XtOpt) -> Tri) -> Tri {
    m.opts.iter().fold(Tri::True, |acc, o| {
        let t = f(o);
        acc.and(if o.neg { t.not() } else { t })
    })
}

fn not_modelled(m: &str, o: &XtOpt) -> Tri {
    unknown(format!("option {o} of iptables match {m} is not modelled"))
}

fn words(o: &XtOpt) -> impl Iterator<Item = &str> {
    o.args
        .iter()
        .flat_map(|a| a.split(','))
        .filter(|w| !w.is_empty())
}

/// `conntrack` and `state`. Without a conntrack entry (ahead of conntrack)
/// xt_conntrack sees state INVALID, and any other option fails the match,
/// `!` or not.
fn conntrack(ctx: &Ctx<'_>, m: &XtMatch) -> Tri {
    let is_state = |o: &XtOpt| o.name == "ctstate" || o.name == "state";
    if m.opts.iter().any(|o| !is_state(o)) {
        match ctx.pkt.tracked {
            Some(false) => return Tri::False,
            None => return unknown(NOT_SEEN),
            Some(true) => {}
        }
    }
    each(m, |o| match o.name.as_str() {
        "ctstate" | "state" => ct_state(ctx, o),
        "ctstatus" => ct_status(ctx, o),
        "ctdir" => match o.args.first().map(String::as_str) {
            Some("ORIGINAL") => Tri::from_bool(ctx.pkt.phase != Phase::Reply),
            Some("REPLY") => Tri::from_bool(ctx.pkt.phase == Phase::Reply),
            _ => not_modelled(&m.name, o),
        },
        _ => not_modelled(&m.name, o),
    })
}

fn ct_state(ctx: &Ctx<'_>, o: &XtOpt) -> Tri {
    let Some(state) = ctx.pkt.ct_state() else {
        return unknown(NOT_SEEN);
    };
    let tracked = ctx.pkt.tracked == Some(true);
    let status = ctx.pkt.ct_status();
    let mut hit = false;
    for w in words(o) {
        hit |= match w {
            "INVALID" => state & 1 != 0,
            "ESTABLISHED" => state & 2 != 0,
            "RELATED" => state & 4 != 0,
            "NEW" => state & 8 != 0,
            "UNTRACKED" => state & 64 != 0,
            // conntrack's virtual states: the connection was translated.
            "SNAT" => tracked && status & 16 != 0,
            "DNAT" => tracked && status & 32 != 0,
            _ => return unknown(format!("conntrack state {w} is not modelled")),
        };
    }
    Tri::from_bool(hit)
}

fn ct_status(ctx: &Ctx<'_>, o: &XtOpt) -> Tri {
    let mut mask = 0;
    for w in words(o) {
        mask |= match w {
            "NONE" => 0,
            "EXPECTED" => 1,
            "SEEN_REPLY" => 2,
            "ASSURED" => 4,
            "CONFIRMED" => 8,
            "SNAT" => 16,
            "DNAT" => 32,
            _ => return unknown(format!("conntrack status {w} is not modelled")),
        };
    }
    Tri::from_bool(ctx.pkt.ct_status() & mask != 0)
}

/// `addrtype`: explain's addresses are the host's own (LOCAL) or another
/// host's (UNICAST); whether one is broadcast, multicast, ... is not known.
fn addrtype(ctx: &Ctx<'_>, m: &XtMatch) -> Tri {
    if m.opt("limit-iface-in").is_some() || m.opt("limit-iface-out").is_some() {
        return unknown(format!(
            "iptables match addrtype {m}: types on one interface are not modelled"
        ));
    }
    each(m, |o| {
        let (local, side) = match o.name.as_str() {
            "dst-type" => (ctx.pkt.daddr_local(), "destination"),
            "src-type" => (ctx.pkt.saddr_local(), "source"),
            _ => return not_modelled(&m.name, o),
        };
        Tri::any(words(o).map(|w| match w {
            "LOCAL" => Tri::from_bool(local),
            "UNICAST" => Tri::from_bool(!local),
            other => unknown(format!(
                "whether the {side} address is of type {other} is not known"
            )),
        }))
    })
}

fn multiport(ctx: &Ctx<'_>, o: &XtOpt) -> Tri {
    let list = o.args.first().map_or("", String::as_str);
    match o.name.as_str() {
        "dports" | "destination-ports" => port_in(ctx.pkt.dport(), list),
        "sports" | "source-ports" => port_in(ctx.pkt.sport(), list),
        "ports" => Tri::any([
            port_in(ctx.pkt.dport(), list),
            port_in(ctx.pkt.sport(), list),
        ]),
        _ => not_modelled("multiport", o),
    }
}

/// A port against `80`, `1024:65535` or a comma list of them.
fn port_in(port: Option<u16>, list: &str) -> Tri {
    let Some(port) = port else {
        return unknown("the client's port is not known");
    };
    let mut hit = false;
    for item in list.split(',') {
        let range = match item.split_once(':') {
            Some((a, b)) => {
                let lo = if a.is_empty() {
                    Some(0)
                } else {
                    service_port(a)
                };
                let hi = if b.is_empty() {
                    Some(u16::MAX)
                } else {
                    service_port(b)
                };
                lo.zip(hi)
            }
            None => service_port(item).map(|p| (p, p)),
        };
        let Some((lo, hi)) = range else {
            return unknown(format!("port {item} is not known"));
        };
        hit |= (lo..=hi).contains(&port);
    }
    Tri::from_bool(hit)
}

fn l4(ctx: &Ctx<'_>, o: &XtOpt) -> Tri {
    let arg = |i: usize| o.args.get(i).map_or("", String::as_str);
    match o.name.as_str() {
        "dport" | "destination-port" => port_in(ctx.pkt.dport(), arg(0)),
        "sport" | "source-port" => port_in(ctx.pkt.sport(), arg(0)),
        "syn" => Tri::from_bool(ctx.pkt.tcp_flags() & 0x17 == 0x02),
        "tcp-flags" => match (tcp_flags(arg(0)), tcp_flags(arg(1))) {
            (Some(mask), Some(comp)) => Tri::from_bool(ctx.pkt.tcp_flags() & mask == comp),
            _ => not_modelled("tcp", o),
        },
        _ => not_modelled(&ctx.pkt.flow.proto.to_string(), o),
    }
}

fn tcp_flags(list: &str) -> Option<u64> {
    list.split(',').try_fold(0, |acc, w| {
        Some(
            acc | match w {
                "NONE" => 0,
                "FIN" => 1,
                "SYN" => 2,
                "RST" => 4,
                "PSH" => 8,
                "ACK" => 16,
                "URG" => 32,
                "ALL" => 63,
                _ => return None,
            },
        )
    })
}
