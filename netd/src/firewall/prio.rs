//! nft's standard chain priority names (`filter`, `dstnat + 10`, ...).
//!
//! Names follow nft's table: which names exist depends on the family, and
//! `dstnat`/`srcnat` only mean something at the hooks where NAT happens.
//! nft 1.0.6 itself still prints `-100` for an output chain; netd says
//! `dstnat` there, as newer nft does, because that is what it is.

use super::ruleset::{Family, Hook};

const INET: &[(&str, i32)] = &[
    ("raw", -300),
    ("mangle", -150),
    ("dstnat", -100),
    ("filter", 0),
    ("security", 50),
    ("srcnat", 100),
];

const BRIDGE: &[(&str, i32)] = &[
    ("dstnat", -300),
    ("filter", -200),
    ("out", 100),
    ("srcnat", 300),
];

fn table(family: Family) -> &'static [(&'static str, i32)] {
    match family {
        Family::Bridge => BRIDGE,
        Family::Ip | Family::Ip6 | Family::Inet => INET,
        Family::Arp | Family::Netdev => &INET[3..4],
    }
}

fn fits(family: Family, hook: Hook, name: &str) -> bool {
    if family == Family::Bridge {
        return true;
    }
    match name {
        "dstnat" => matches!(hook, Hook::Prerouting | Hook::Output),
        "srcnat" => matches!(hook, Hook::Postrouting | Hook::Input),
        _ => true,
    }
}

/// `filter`, `mangle + 10`, `dstnat - 5`; None when no standard priority is
/// within 10 of `prio`, as nft then prints the number alone.
pub fn name(family: Family, hook: Hook, prio: i32) -> Option<String> {
    table(family)
        .iter()
        .filter(|(n, _)| fits(family, hook, n))
        .map(|&(n, v)| (n, prio - v))
        .filter(|(_, off)| off.abs() <= 10)
        .min_by_key(|(_, off)| off.abs())
        .map(|(n, off)| match off {
            0 => n.to_string(),
            o if o > 0 => format!("{n} + {o}"),
            o => format!("{n} - {}", -o),
        })
}

/// The number of a named priority (`filter`, `dstnat + 10`) as a newer nft
/// may write it in JSON; the ip-family table is used.
pub fn parse_name(s: &str) -> Option<i32> {
    let mut words = s.split_whitespace();
    let first = words.next()?;
    let base = INET.iter().find(|(n, _)| *n == first)?.1;
    match (
        words.next(),
        words.next().and_then(|w| w.parse::<i32>().ok()),
    ) {
        (None, _) => Some(base),
        (Some("+"), Some(off)) => Some(base + off),
        (Some("-"), Some(off)) => Some(base - off),
        _ => None,
    }
}

/// The priority at which netd's own DNAT happens when its table is not
/// loaded (its chains use `dstnat`).
pub const DSTNAT: i32 = -100;
/// Where the kernel's source NAT (and the reply's translation back) runs,
/// at postrouting and input.
pub const SRCNAT: i32 = 100;
/// Where conntrack runs at prerouting and output: chains before it see
/// packets with no connection yet.
pub const CONNTRACK: i32 = -200;
