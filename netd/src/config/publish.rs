//! Published ports: each `[[namespace.x.publish]]` table becomes one
//! `model::Publish` per protocol and family, forwarded to the namespace's
//! first veth address of that family; across the file, no two may claim the
//! same host port.

use std::fmt;
use std::net::IpAddr;

use super::located::{Interface, Kind, Lowered, Publish};
use super::report::{At, Loc, Report};
use super::schema;
use super::values;
use crate::model::{self, PortRange, Proto};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// `None` when something was reported; every value is still checked, so
/// that one run shows all of a table's mistakes.
pub(super) fn lower_publish(
    report: &mut Report<'_>,
    ns: &str,
    loc: Loc,
    p: schema::Publish,
    interfaces: &[Interface],
    addresses_complete: bool,
) -> Option<Publish> {
    let port_loc = loc.field("port", p.port.span());
    let port = values::port_range(report, &port_loc, p.port.get_ref());
    let to_port = match &p.to_port {
        None => port,
        Some(t) => {
            let tloc = loc.field("to_port", t.span());
            match (port, values::port_range(report, &tloc, t.get_ref())) {
                (Some(port), Some(to)) if port.len() != to.len() => {
                    report.error(&tloc, length_mismatch(port, to));
                    None
                }
                (_, to) => to,
            }
        }
    };
    let protos = match &p.proto {
        None => Some(vec![Proto::Tcp]),
        Some(pr) => protos(report, &loc.field("proto", pr.span()), pr.get_ref()),
    };
    let host_address = match &p.host_address {
        None => Some(None),
        Some(h) => {
            let hloc = loc.field("host_address", h.span());
            values::ip(report, &hloc, h.get_ref(), "a host address").map(|ip| Some(hloc.at(ip)))
        }
    };
    let family = match &p.family {
        None => Some(None),
        Some(f) => {
            let floc = loc.field("family", f.span());
            families(report, &floc, f.get_ref()).map(|fams| Some(floc.at(fams)))
        }
    };
    let targets = match (&host_address, &family) {
        (Some(h), Some(f)) => targets(
            report,
            ns,
            &loc,
            h.as_ref(),
            f.as_ref(),
            interfaces,
            addresses_complete,
        ),
        _ => None,
    };

    let (Some(port), Some(to_port), Some(protos), Some(host_address), Some(targets)) =
        (port, to_port, protos, host_address, targets)
    else {
        return None;
    };
    let host_address = host_address.map(|h| h.value);
    let entries = protos
        .iter()
        .flat_map(|&proto| {
            targets.iter().map(move |&target| model::Publish {
                ns: ns.to_owned(),
                proto,
                port,
                to_port,
                host_address,
                target,
            })
        })
        .collect();
    Some(Publish {
        loc,
        port: port_loc.at(port),
        entries,
    })
}

fn protos(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<Vec<Proto>> {
    match text {
        "tcp" => Some(vec![Proto::Tcp]),
        "udp" => Some(vec![Proto::Udp]),
        "both" => Some(vec![Proto::Tcp, Proto::Udp]),
        other => {
            report.error(
                loc,
                format!("unknown proto `{other}`; use \"tcp\" (the default), \"udp\" or \"both\""),
            );
            None
        }
    }
}

fn families(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<Vec<Family>> {
    match text {
        "ipv4" => Some(vec![Family::V4]),
        "ipv6" => Some(vec![Family::V6]),
        "both" => Some(vec![Family::V4, Family::V6]),
        other => {
            report.error(
                loc,
                format!(
                    "unknown family `{other}`; use \"ipv4\", \"ipv6\" or \"both\", or leave it \
                     out to follow host_address (or, without one, the namespace's addresses)"
                ),
            );
            None
        }
    }
}

/// The address each family's traffic goes to, v4 before v6. The family is
/// the explicit one, else host_address's, else every family the namespace
/// can receive. Published traffic arrives over a bridge, so only veth
/// addresses count.
fn targets(
    report: &mut Report<'_>,
    ns: &str,
    loc: &Loc,
    host_address: Option<&At<IpAddr>>,
    family: Option<&At<Vec<Family>>>,
    interfaces: &[Interface],
    addresses_complete: bool,
) -> Option<Vec<IpAddr>> {
    let first_of = |fam: Family| {
        interfaces
            .iter()
            .filter(|i| matches!(i.kind, Kind::Veth { .. }))
            .find_map(|i| {
                i.addresses
                    .iter()
                    .map(|a| a.value.addr())
                    .find(|a| Family::of(*a) == fam)
            })
    };
    let (wanted, at, why) = match (family, host_address) {
        (Some(f), Some(h)) => {
            let theirs = Family::of(h.value);
            if f.value != [theirs] {
                let written = match f.value.as_slice() {
                    [Family::V4] => "ipv4",
                    [Family::V6] => "ipv6",
                    _ => "both",
                };
                report.error(
                    &f.loc,
                    format!(
                        "family \"{written}\" does not match host_address `{}`, which is \
                         {theirs}; remove `family`: it follows host_address",
                        h.value
                    ),
                );
                return None;
            }
            (f.value.clone(), &f.loc, String::new())
        }
        (Some(f), None) => (f.value.clone(), &f.loc, String::new()),
        (None, Some(h)) => {
            let theirs = Family::of(h.value);
            let why = format!("host_address `{}` is {theirs}, but ", h.value);
            (vec![theirs], &h.loc, why)
        }
        (None, None) => {
            let found: Vec<IpAddr> = [Family::V4, Family::V6]
                .into_iter()
                .filter_map(first_of)
                .collect();
            if found.is_empty() && addresses_complete {
                report.error(
                    loc,
                    format!(
                        "namespace has no address on a veth interface to publish to; add one to \
                         a veth interface of `{ns}` (published traffic arrives over a bridge, so \
                         dummy and loopback addresses cannot receive it)"
                    ),
                );
            }
            return (!found.is_empty()).then_some(found);
        }
    };
    let mut out = Vec::new();
    for fam in wanted {
        match first_of(fam) {
            Some(target) => out.push(target),
            // An address left out as invalid may have been the one.
            None if !addresses_complete => return None,
            None => {
                report.error(
                    at,
                    format!(
                        "{why}namespace `{ns}` has no {fam} address on a veth interface to \
                         publish to; add an {fam} address to one of its veth interfaces"
                    ),
                );
                return None;
            }
        }
    }
    Some(out)
}

fn length_mismatch(port: PortRange, to: PortRange) -> String {
    let end = u32::from(to.start) + port.len() - 1;
    let fix = match u16::try_from(end) {
        Ok(end) => format!(
            "give a range of the same length, such as `{}`",
            PortRange {
                start: to.start,
                end
            }
        ),
        Err(_) => "give a range of the same length".to_owned(),
    };
    if to.len() == 1 {
        format!(
            "to_port `{to}` is one port but port `{port}` is a range of {}; {fix}, or leave \
             to_port out to keep the same ports",
            port.len()
        )
    } else {
        format!(
            "to_port `{to}` has {} ports but port `{port}` has {}; {fix}",
            to.len(),
            port.len()
        )
    }
}

/// A host port, protocol and address takes one publish: the kernel's DNAT
/// would send every connection to whichever rule comes first. An entry
/// without host_address claims every address. Reported on the later of two
/// in the file.
pub(super) fn clashes(l: &Lowered, report: &mut Report<'_>) {
    let mut all: Vec<&Publish> = l.namespaces.iter().flat_map(|ns| &ns.publish).collect();
    all.sort_by_key(|p| p.loc.span.start);
    for (i, later) in all.iter().enumerate() {
        let found = all[..i].iter().find_map(|earlier| {
            later.entries.iter().find_map(|mine| {
                earlier
                    .entries
                    .iter()
                    .find(|theirs| clash(mine, theirs))
                    .map(|theirs| (earlier, mine, theirs))
            })
        });
        let Some((earlier, mine, theirs)) = found else {
            continue;
        };
        let one = mine.port.len() == 1;
        let what = format!(
            "{} `{}` ({}, {})",
            if one { "port" } else { "ports" },
            mine.port,
            mine.proto,
            Family::of(mine.target)
        );
        let what = match (mine.port == theirs.port, one) {
            (true, true) => format!("{what} is already published"),
            (true, false) => format!("{what} are already published"),
            (false, true) => format!("{what} overlaps `{}`, published", theirs.port),
            (false, false) => format!("{what} overlap `{}`, published", theirs.port),
        };
        let on = match theirs.host_address {
            Some(a) => format!("on `{a}`"),
            None => "on every host address".to_owned(),
        };
        let message = format!(
            "{what} by {} (line {}) {on}; a host port takes one publish per protocol and \
             address: pick other ports, or set a different host_address on each",
            earlier.loc.key,
            report.line_of(&earlier.loc)
        );
        report.error(&later.port.loc, message);
    }
}

fn clash(a: &model::Publish, b: &model::Publish) -> bool {
    let same_address = match (a.host_address, b.host_address) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    a.proto == b.proto && a.is_ipv6() == b.is_ipv6() && a.port.overlaps(&b.port) && same_address
}
