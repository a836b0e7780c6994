//! `[anycast.NAME]` sections: which namespace serves which prefixes, the
//! routing settings `netd anycast config` renders, and the health checks
//! (lowered in `anycast_check`). Checks against the namespaces themselves
//! are in `check_services`, once every section is lowered.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use toml::Spanned;

use super::anycast_check::lower_check;
use super::located::{Anycast, Namespace};
use super::report::{At, Loc, Report, join_key};
use super::schema;
use super::values;
use crate::model::{self, Bgp, DEFAULT_ANNOUNCE_TABLE, Ospf, Routing, Speaker};

pub(super) fn lower_anycast(
    report: &mut Report<'_>,
    name: Spanned<String>,
    a: schema::Anycast,
) -> Anycast {
    let loc = Loc::new(join_key("anycast", name.get_ref()), name.span());
    if let Err(e) = model::check_process_name(name.get_ref()) {
        report.error(&loc, e.replace("process", "anycast service"));
    }
    let namespace = loc
        .field("namespace", a.namespace.span())
        .at(a.namespace.into_inner());
    let prefixes = prefixes(report, &loc, a.prefixes);
    let announce_table = a.announce_table.map_or(DEFAULT_ANNOUNCE_TABLE, |t| {
        announce_table(report, &loc.field("announce_table", t.span()), *t.get_ref())
    });
    let speaker = a.speaker.map_or(Speaker::Bird, |s| {
        speaker(report, &loc.field("speaker", s.span()), s.get_ref())
    });
    let router_id = a.router_id.and_then(|r| {
        let rloc = loc.field("router_id", r.span());
        match values::ip(report, &rloc, r.get_ref(), "a router id")? {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => {
                report.error(
                    &rloc,
                    "a router id is an IPv4 address, even for IPv6 sessions",
                );
                None
            }
        }
    });
    let process = a
        .process
        .map(|p| loc.field("process", p.span()).at(p.into_inner()));
    let mut neighbors = Vec::new();
    let bgp = a.bgp.and_then(|b| {
        let bloc = loc.field("bgp", b.span());
        lower_bgp(report, &bloc, b.into_inner(), &mut neighbors)
    });
    let mut ospf_interfaces = Vec::new();
    let ospf = a.ospf.map(|o| {
        let oloc = loc.field("ospf", o.span());
        let o = o.into_inner();
        let area = o.area.map_or(0, |area| {
            let aloc = oloc.field("area", area.span());
            u32::try_from(*area.get_ref()).unwrap_or_else(|_| {
                report.error(
                    &aloc,
                    format!(
                        "area {} is out of range; use 0..={}",
                        area.get_ref(),
                        u32::MAX
                    ),
                );
                0
            })
        });
        let list_loc = oloc.field("interfaces", o.interfaces.span());
        if o.interfaces.get_ref().is_empty() {
            report.error(
                &list_loc,
                "name at least one interface of the namespace to run OSPF on",
            );
        }
        for (i, ifname) in o.interfaces.into_inner().into_iter().enumerate() {
            let iloc = oloc.item("interfaces", i, ifname.span());
            ospf_interfaces.push(iloc.at(ifname.into_inner()));
        }
        Ospf {
            area,
            interfaces: ospf_interfaces.iter().map(|i| i.value.clone()).collect(),
        }
    });
    let default_address = default_address(&prefixes);
    let mut checks = Vec::new();
    for (i, c) in a.check.into_iter().enumerate() {
        let cloc = loc.item("check", i, c.span());
        if let Some(check) = lower_check(report, &cloc, c.into_inner(), default_address) {
            checks.push(check);
        }
    }
    let model = model::Anycast {
        name: name.get_ref().clone(),
        namespace: namespace.value.clone(),
        prefixes: prefixes.iter().map(|p| p.value).collect(),
        announce_table,
        withdraw_on_exit: a.withdraw_on_exit.unwrap_or(true),
        process: process.as_ref().map(|p| p.value.clone()),
        speaker,
        checks,
        routing: Routing {
            router_id,
            bgp,
            ospf,
            bfd: a.bfd.unwrap_or(true),
        },
    };
    Anycast {
        name: loc.at(name.into_inner()),
        namespace,
        prefixes,
        process,
        ospf_interfaces,
        model,
    }
}

fn prefixes(
    report: &mut Report<'_>,
    loc: &Loc,
    list: Spanned<Vec<Spanned<String>>>,
) -> Vec<At<IpNet>> {
    if list.get_ref().is_empty() {
        report.error(
            &loc.field("prefixes", list.span()),
            "list at least one prefix, e.g. [\"203.0.113.53/32\"]",
        );
    }
    let mut out: Vec<At<IpNet>> = Vec::new();
    for (i, p) in list.into_inner().into_iter().enumerate() {
        let ploc = loc.item("prefixes", i, p.span());
        let Some(net) = values::cidr(report, &ploc, p.get_ref()) else {
            continue;
        };
        if let Some(first) = out.iter().find(|q| q.value.trunc() == net.trunc()) {
            report.error(
                &ploc,
                format!(
                    "`{net}` is already listed at {}; list it once",
                    first.loc.key
                ),
            );
            continue;
        }
        out.push(ploc.at(net));
    }
    out
}

/// Checks go to the first IPv4 prefix's address, or the first prefix's.
fn default_address(prefixes: &[At<IpNet>]) -> Option<IpAddr> {
    prefixes
        .iter()
        .find(|p| p.value.addr().is_ipv4())
        .or(prefixes.first())
        .map(|p| p.value.addr())
}

fn announce_table(report: &mut Report<'_>, loc: &Loc, n: i64) -> u32 {
    match u32::try_from(n) {
        Ok(t) if t != 0 && !(253..=255).contains(&t) => t,
        _ => {
            report.error(
                loc,
                format!(
                    "announce_table = {n} is out of range; use 1..=252 or 256..={} (0 is \
                     unspecified; 253, 254 and 255 are the default, main and local tables)",
                    u32::MAX
                ),
            );
            DEFAULT_ANNOUNCE_TABLE
        }
    }
}

fn speaker(report: &mut Report<'_>, loc: &Loc, text: &str) -> Speaker {
    match text {
        "bird" => Speaker::Bird,
        "frr" => Speaker::Frr,
        _ => {
            report.error(
                loc,
                format!("unknown speaker `{text}`; use \"bird\" or \"frr\""),
            );
            Speaker::Bird
        }
    }
}

fn lower_bgp(
    report: &mut Report<'_>,
    loc: &Loc,
    b: schema::AnycastBgp,
    neighbors: &mut Vec<At<IpAddr>>,
) -> Option<Bgp> {
    let local_as = as_number(
        report,
        &loc.field("local_as", b.local_as.span()),
        *b.local_as.get_ref(),
    );
    let neighbor_as = as_number(
        report,
        &loc.field("neighbor_as", b.neighbor_as.span()),
        *b.neighbor_as.get_ref(),
    );
    if b.neighbors.get_ref().is_empty() {
        report.error(
            &loc.field("neighbors", b.neighbors.span()),
            "list at least one neighbor address",
        );
    }
    for (i, n) in b.neighbors.into_inner().into_iter().enumerate() {
        let nloc = loc.item("neighbors", i, n.span());
        if let Some(ip) = values::ip(report, &nloc, n.get_ref(), "a neighbor") {
            neighbors.push(nloc.at(ip));
        }
    }
    Some(Bgp {
        local_as: local_as?,
        neighbor_as: neighbor_as?,
        neighbors: neighbors.iter().map(|n| n.value).collect(),
    })
}

fn as_number(report: &mut Report<'_>, loc: &Loc, n: i64) -> Option<u32> {
    match u32::try_from(n) {
        Ok(asn) if asn != 0 => Some(asn),
        _ => {
            report.error(loc, format!("AS {n} is out of range; use 1..={}", u32::MAX));
            None
        }
    }
}

/// Across sections: each service names a configured namespace and one of
/// its processes, serves its prefixes the way its speaker needs, and no
/// prefix is announced twice in one namespace.
pub(super) fn check_services(
    services: &[Anycast],
    namespaces: &[Namespace],
    report: &mut Report<'_>,
) {
    let by_name: BTreeMap<&str, &Namespace> = namespaces
        .iter()
        .map(|n| (n.name.value.as_str(), n))
        .collect();
    let mut announced: BTreeMap<(&str, IpNet), &Loc> = BTreeMap::new();
    for s in services {
        let Some(ns) = by_name.get(s.namespace.value.as_str()) else {
            let known: Vec<&str> = by_name.keys().copied().collect();
            report.error(
                &s.namespace.loc,
                format!(
                    "no [namespace.{}] in this file{}",
                    s.namespace.value,
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!("; configured: {}", known.join(", "))
                    }
                ),
            );
            continue;
        };
        if let Some(p) = &s.process
            && !ns.processes.iter().any(|q| q.name.value == p.value)
        {
            report.error(
                &p.loc,
                format!(
                    "namespace {} has no process `{}`; name one of its [[namespace.{}.process]] \
                     entries",
                    ns.name.value, p.value, ns.name.value
                ),
            );
        }
        for ifname in &s.ospf_interfaces {
            if !ns.interfaces.iter().any(|i| i.name.value == ifname.value) {
                report.error(
                    &ifname.loc,
                    format!(
                        "namespace {} has no interface `{}`",
                        ns.name.value, ifname.value
                    ),
                );
            }
        }
        for p in &s.prefixes {
            served(s.model.speaker, ns, p, report);
            if let Some(first) = announced.insert((ns.name.value.as_str(), p.value.trunc()), &p.loc)
            {
                report.error(
                    &p.loc,
                    format!(
                        "`{}` is already announced from namespace {} at {}; one service per \
                         prefix",
                        p.value, ns.name.value, first.key
                    ),
                );
            }
        }
    }
}

/// BIRD announces a prefix that is an address on `lo`; FRR never does (the
/// connected route wins over the imported one), so netd serves it itself.
fn served(speaker: Speaker, ns: &Namespace, prefix: &At<IpNet>, report: &mut Report<'_>) {
    let on_lo = ns
        .loopback
        .iter()
        .find(|a| prefix.value.trunc().contains(&a.value.addr()));
    match (speaker, on_lo) {
        (Speaker::Bird, None) => report.error(
            &prefix.loc,
            format!(
                "`{}` is not served in namespace {}: add an address in it to [namespace.{}] \
                 loopback, so the service accepts connections whether announced or not",
                prefix.value, ns.name.value, ns.name.value
            ),
        ),
        (Speaker::Frr, Some(addr)) => report.error(
            &prefix.loc,
            format!(
                "`{}` is also an address on lo ({}); FRR never announces such a prefix (the \
                 connected route wins). Remove it from loopback: with speaker = \"frr\" netd \
                 serves the prefix as a local route",
                prefix.value, addr.loc.key
            ),
        ),
        _ => {}
    }
}
