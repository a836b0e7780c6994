//! Checks across the file: names and addresses that must be unique, bridges
//! that must exist, gateways that must be reachable, host ports published
//! once. Each finds every
//! instance, so that one run of `netd check` shows all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::anycast;
use super::located::{Bridge, Kind, LocatedRoute, Lowered, Namespace};
use super::process;
use super::publish;
use super::report::{At, Loc, Report};
use super::routes::family;

pub(super) fn check(l: &Lowered, report: &mut Report<'_>) {
    let bridges: BTreeMap<&str, &Bridge> = l
        .bridges
        .iter()
        .map(|b| (b.name.value.as_str(), b))
        .collect();
    host_links(l, &bridges, report);
    addresses_unique(l, report);
    for ns in &l.namespaces {
        interface_names_unique(ns, report);
        once_each(
            report,
            ns.loopback.iter().map(|a| (a.value.addr(), &a.loc)),
            |ip, first| format!("`{ip}` is already in this loopback list at {first}; list it once"),
        );
        for r in &ns.routes {
            route_device(ns, r, report);
            route_gateway(ns, r, report);
        }
        routes_unique(ns, report);
        bridge_subnets(ns, &bridges, report);
        process::names_unique(&ns.processes, report);
    }
    publish::clashes(l, report);
    anycast::check_services(&l.anycast, &l.namespaces, report);
}

/// Everything that lands in the host namespace: bridges and the host ends
/// of veths. The kernel has one name space for them all.
fn host_links(l: &Lowered, bridges: &BTreeMap<&str, &Bridge>, report: &mut Report<'_>) {
    let mut host_names = Vec::new();
    for ns in &l.namespaces {
        for iface in &ns.interfaces {
            let Kind::Veth {
                bridge,
                host_name,
                host_name_given,
                ..
            } = &iface.kind
            else {
                continue;
            };
            if let Some(b) = bridge
                && !bridges.contains_key(b.value.as_str())
            {
                let known: Vec<&str> = bridges.keys().copied().collect();
                let hint = if known.is_empty() {
                    String::new()
                } else {
                    format!(", or use one of: {}", known.join(", "))
                };
                report.error(
                    &b.loc,
                    format!(
                        "bridge `{}` is not defined; add a [bridge.{}] table{hint}",
                        b.value, b.value
                    ),
                );
            }
            let what = if *host_name_given {
                "host_name"
            } else {
                "the default host-side name"
            };
            if bridges.contains_key(host_name.value.as_str()) {
                report.error(
                    &host_name.loc,
                    format!(
                        "{what} `{}` is also the name of a bridge; set a different host_name",
                        host_name.value
                    ),
                );
                continue;
            }
            host_names.push((host_name.value.as_str(), &host_name.loc));
        }
    }
    once_each(report, host_names, |name, first| {
        format!(
            "host-side name `{name}` is already used at {first}; host ends of veths share \
             the host's link names: set a different host_name"
        )
    });
}

/// The same IP on two links would answer ARP/ND twice; the prefix length
/// does not matter for that.
fn addresses_unique(l: &Lowered, report: &mut Report<'_>) {
    let on_bridges = l.bridges.iter().flat_map(|b| &b.addresses);
    let on_interfaces = l
        .namespaces
        .iter()
        .flat_map(|ns| &ns.interfaces)
        .flat_map(|i| &i.addresses);
    let all = on_bridges
        .chain(on_interfaces)
        .map(|a| (a.value.addr(), &a.loc));
    once_each(report, all, |ip, first| {
        format!("`{ip}` is already assigned at {first}; each address may be used once")
    });
}

fn interface_names_unique(ns: &Namespace, report: &mut Report<'_>) {
    let names = ns
        .interfaces
        .iter()
        .map(|i| (i.name.value.as_str(), &i.name.loc));
    once_each(report, names, |name, first| {
        format!(
            "interface `{name}` is already defined at {first}; names are unique within a namespace"
        )
    });
}

/// Reports every occurrence of a value after its first one in the file.
pub(super) fn once_each<'a, T: Ord + Copy>(
    report: &mut Report<'_>,
    items: impl IntoIterator<Item = (T, &'a Loc)>,
    message: impl Fn(T, &str) -> String,
) {
    let mut items: Vec<(T, &Loc)> = items.into_iter().collect();
    items.sort_by_key(|(_, loc)| loc.span.start);
    let mut first: BTreeMap<T, &Loc> = BTreeMap::new();
    for (value, loc) in items {
        match first.get(&value) {
            Some(earlier) => {
                let at = format!("{} (line {})", earlier.key, report.line_of(earlier));
                report.error(loc, message(value, &at));
            }
            None => {
                first.insert(value, loc);
            }
        }
    }
}

fn route_device(ns: &Namespace, r: &LocatedRoute, report: &mut Report<'_>) {
    let (Some(device), Some(loc)) = (&r.route.device, &r.device) else {
        return;
    };
    if device == "lo" || ns.interfaces.iter().any(|i| &i.name.value == device) {
        return;
    }
    let known: BTreeSet<&str> = ns
        .interfaces
        .iter()
        .map(|i| i.name.value.as_str())
        .chain(["lo"])
        .collect();
    let known: Vec<&str> = known.into_iter().collect();
    report.error(
        loc,
        format!(
            "device `{device}` is not an interface of namespace `{}`; use one of: {}",
            ns.name.value,
            known.join(", ")
        ),
    );
}

/// A gateway must be on a subnet the namespace is attached to, or the
/// kernel rejects the route ("Nexthop has invalid gateway").
fn route_gateway(ns: &Namespace, r: &LocatedRoute, report: &mut Report<'_>) {
    let (Some(gw), Some(loc)) = (r.route.gateway, &r.gateway) else {
        return;
    };
    if !ns.addresses_complete {
        return;
    }
    let is_link_local = matches!(gw, IpAddr::V6(v6) if v6.is_unicast_link_local());
    let ns_name = &ns.name.value;
    let (scope, nets): (String, Vec<&At<IpNet>>) = match r.route.device.as_deref() {
        Some(_) if is_link_local => return,
        Some("lo") => ("`lo`".to_owned(), ns.loopback.iter().collect()),
        Some(dev) => match ns.interfaces.iter().find(|i| i.name.value == dev) {
            Some(i) => (format!("interface `{dev}`"), i.addresses.iter().collect()),
            None => return, // reported by route_device
        },
        None if is_link_local => {
            let message = format!(
                "gateway `{gw}` is link-local, so the kernel needs to know the interface: add \
                 a [[{}.route]] with `device`",
                ns.name.loc.key
            );
            report.error(loc, message);
            return;
        }
        None => (
            format!("namespace `{ns_name}`"),
            ns.interfaces.iter().flat_map(|i| &i.addresses).collect(),
        ),
    };
    let same_family: Vec<&IpNet> = nets
        .iter()
        .map(|a| &a.value)
        .filter(|n| n.addr().is_ipv4() == gw.is_ipv4())
        .collect();
    let message = if same_family.iter().any(|n| n.addr() == gw) {
        format!(
            "gateway `{gw}` is an address of {scope} itself; a gateway is another host on the \
             subnet, such as the bridge's address"
        )
    } else if same_family.is_empty() {
        format!(
            "gateway `{gw}` is unreachable: {scope} has no {} address; add one in the \
             gateway's subnet",
            family(gw)
        )
    } else if !same_family.iter().any(|n| n.contains(&gw)) {
        let list: Vec<String> = same_family.iter().map(|n| n.to_string()).collect();
        format!(
            "gateway `{gw}` is unreachable: it is outside the subnets of {scope} ({}); fix the \
             gateway or add an address in its subnet",
            list.join(", ")
        )
    } else {
        return;
    };
    report.error(loc, message);
}

/// The kernel keeps one route per destination, table and metric; a second
/// one would fail at apply time with "File exists".
fn routes_unique(ns: &Namespace, report: &mut Report<'_>) {
    let keys = ns
        .routes
        .iter()
        .map(|r| ((r.route.table, r.route.destination, r.route.metric), &r.loc));
    once_each(report, keys, |(table, dst, _), first| {
        format!(
            "a route to `{dst}` in table {table} with the same metric is already defined at \
             {first}; remove one or give them different metrics"
        )
    });
}

/// A namespace's gateway is normally the bridge's address, reached through
/// the veth on that bridge: an address outside the bridge's subnet of that
/// family cannot reach it.
fn bridge_subnets(ns: &Namespace, bridges: &BTreeMap<&str, &Bridge>, report: &mut Report<'_>) {
    let families: BTreeSet<bool> = ns
        .routes
        .iter()
        .filter_map(|r| r.route.gateway)
        .map(|g| g.is_ipv4())
        .collect();
    for iface in &ns.interfaces {
        let Kind::Veth {
            bridge: Some(b), ..
        } = &iface.kind
        else {
            continue;
        };
        let Some(bridge) = bridges.get(b.value.as_str()) else {
            continue;
        };
        if !bridge.addresses_complete {
            continue;
        }
        for a in &iface.addresses {
            let v4 = a.value.addr().is_ipv4();
            if !families.contains(&v4) {
                continue;
            }
            let subnets: Vec<IpNet> = bridge
                .addresses
                .iter()
                .map(|n| n.value.trunc())
                .filter(|n| n.addr().is_ipv4() == v4)
                .collect();
            if subnets.is_empty() || subnets.iter().any(|n| n.contains(&a.value.addr())) {
                continue;
            }
            let list: Vec<String> = subnets.iter().map(|n| n.to_string()).collect();
            let fam = family(a.value.addr());
            let message = format!(
                "`{}` is outside bridge `{}`'s {fam} subnets ({}), so the namespace's {fam} \
                 gateway cannot be reached through it; use an address inside {}",
                a.value,
                b.value,
                list.join(", "),
                list.join(" or ")
            );
            report.error(&a.loc, message);
        }
    }
}
