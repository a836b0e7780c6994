//! `schema::File` to the located model: every value interpreted, defaults
//! filled in, each value's location kept. Bad values are reported and left
//! out, so that one run finds every problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use toml::Spanned;

use super::anycast::lower_anycast;
use super::daemon::lower_settings;
use super::located::{Bridge, Interface, Kind, Lowered, Namespace};
use super::policy::lower_policy;
use super::process::lower_process;
use super::publish::lower_publish;
use super::report::{At, Loc, Report, join_key};
use super::routes::{lower_route, shorthand_routes};
use super::schema::{self, SysctlTable, SysctlValue};
use super::values;
use crate::model::{self, Policy, default_host_link_name, stable_mac};

/// `dir` is the config file's directory, against which a relative policy
/// path is read.
pub(super) fn lower(file: schema::File, dir: &Path, report: &mut Report<'_>) -> Lowered {
    let mut netns_dir = PathBuf::from(model::DEFAULT_NETNS_DIR);
    let mut state_dir = PathBuf::from(model::DEFAULT_STATE_DIR);
    let mut policy = Policy::default();
    let mut settings = model::DaemonSettings::default();
    if let Some(daemon) = file.daemon.map(Spanned::into_inner) {
        settings = lower_settings(
            report,
            daemon.resync_interval,
            daemon.metrics,
            daemon.socket_group,
        );
        if let Some(p) = daemon.policy {
            let loc = Loc::new(join_key("daemon", "policy"), p.span());
            if let Some(loaded) = lower_policy(report, &loc, p.get_ref(), dir) {
                policy = loaded;
            }
        }
        let dirs = [
            (daemon.netns_dir, "netns_dir", &mut netns_dir),
            (daemon.state_dir, "state_dir", &mut state_dir),
        ];
        for (value, key, slot) in dirs {
            if let Some(v) = value {
                let loc = Loc::new(join_key("daemon", key), v.span());
                if let Some(path) = values::absolute_path(report, &loc, v.get_ref()) {
                    *slot = path;
                }
            }
        }
    }
    let bridges = file
        .bridge
        .into_iter()
        .map(|(name, bridge)| lower_bridge(report, name, bridge.into_inner()))
        .collect();
    let namespaces = file
        .namespace
        .into_iter()
        .map(|(name, ns)| lower_namespace(report, name, ns.into_inner()))
        .collect();
    let anycast = file
        .anycast
        .into_iter()
        .map(|(name, a)| lower_anycast(report, name, a.into_inner()))
        .collect();
    Lowered {
        netns_dir,
        state_dir,
        bridges,
        namespaces,
        policy,
        settings,
        anycast,
    }
}

fn lower_bridge(report: &mut Report<'_>, name: Spanned<String>, b: schema::Bridge) -> Bridge {
    let loc = Loc::new(join_key("bridge", name.get_ref()), name.span());
    values::link_name(report, &loc, name.get_ref());
    let (addresses, addresses_complete) = addresses(report, &loc, "addresses", &b.addresses);
    let mtu = b
        .mtu
        .and_then(|m| values::mtu(report, &loc.field("mtu", m.span()), *m.get_ref()));
    Bridge {
        name: loc.at(name.into_inner()),
        addresses,
        addresses_complete,
        mtu,
        masquerade: b.masquerade,
        isolate: b.isolate,
    }
}

fn lower_namespace(
    report: &mut Report<'_>,
    name: Spanned<String>,
    ns: schema::Namespace,
) -> Namespace {
    let loc = Loc::new(join_key("namespace", name.get_ref()), name.span());
    values::namespace_name(report, &loc, name.get_ref());
    let ns_name = name.into_inner();

    let (loopback, mut addresses_complete) = addresses(report, &loc, "loopback", &ns.loopback);
    let sysctls = sysctls(report, &join_key(&loc.key, "sysctl"), ns.sysctl);

    let mut interfaces = Vec::new();
    for (i, iface) in ns.interface.into_iter().enumerate() {
        let iloc = loc.item("interface", i, iface.span());
        let (iface, complete) = lower_interface(report, &ns_name, iloc, iface.into_inner());
        addresses_complete &= complete;
        interfaces.push(iface);
    }

    let mut routes = Vec::new();
    for (i, route) in ns.route.into_iter().enumerate() {
        let rloc = loc.item("route", i, route.span());
        routes.extend(lower_route(report, rloc, route.into_inner()));
    }
    if let Some(gw) = ns.gateway {
        routes.extend(shorthand_routes(
            report,
            &loc.field("gateway", gw.span()),
            gw.into_inner(),
        ));
    }

    let mut publish = Vec::new();
    for (i, p) in ns.publish.into_iter().enumerate() {
        let ploc = loc.item("publish", i, p.span());
        let lowered = lower_publish(
            report,
            &ns_name,
            ploc,
            p.into_inner(),
            &interfaces,
            addresses_complete,
        );
        publish.extend(lowered);
    }

    let processes = ns
        .process
        .into_iter()
        .enumerate()
        .map(|(i, p)| lower_process(report, loc.item("process", i, p.span()), p.into_inner()))
        .collect();

    Namespace {
        name: loc.at(ns_name),
        processes,
        adopt: ns.adopt,
        loopback,
        sysctls,
        interfaces,
        routes,
        publish,
        addresses_complete,
    }
}

fn lower_interface(
    report: &mut Report<'_>,
    ns: &str,
    loc: Loc,
    i: schema::Interface,
) -> (Interface, bool) {
    let name_loc = loc.field("name", i.name.span());
    let name = i.name.into_inner();
    if values::link_name(report, &name_loc, &name) && name == "lo" {
        report.error(
            &name_loc,
            "`lo` is the namespace's loopback; put its addresses in the namespace's \
             `loopback` list",
        );
    }
    let (addresses, complete) = addresses(report, &loc, "addresses", &i.addresses);
    let mac = i
        .mac
        .and_then(|m| values::mac(report, &loc.field("mac", m.span()), m.get_ref()))
        .unwrap_or_else(|| stable_mac(&[ns, &name]));
    let mtu = i
        .mtu
        .and_then(|m| values::mtu(report, &loc.field("mtu", m.span()), *m.get_ref()));

    let kind_name = i.kind.as_ref().map_or("veth", |k| k.get_ref().as_str());
    let kind = match kind_name {
        "dummy" => {
            for (value, key) in [(&i.bridge, "bridge"), (&i.host_name, "host_name")] {
                if let Some(v) = value {
                    report.error(
                        &loc.field(key, v.span()),
                        format!(
                            "a dummy interface has no `{key}`; remove it, or set kind = \"veth\""
                        ),
                    );
                }
            }
            Kind::Dummy
        }
        kind => {
            if kind != "veth" {
                let k = i.kind.as_ref().expect("only a given kind can be unknown");
                report.error(
                    &loc.field("kind", k.span()),
                    format!(
                        "unknown interface kind `{kind}`; use \"veth\" (the default) or \"dummy\""
                    ),
                );
            }
            let bridge = match i.bridge {
                Some(b) => {
                    let bloc = loc.field("bridge", b.span());
                    values::link_name(report, &bloc, b.get_ref());
                    Some(bloc.at(b.into_inner()))
                }
                None => {
                    report.error(
                        &loc,
                        "a veth interface needs `bridge`, the host bridge its other end \
                         joins; add bridge = \"<name of a [bridge.*] table>\"",
                    );
                    None
                }
            };
            let (host_name, host_name_given) = match i.host_name {
                Some(h) => {
                    let hloc = loc.field("host_name", h.span());
                    values::link_name(report, &hloc, h.get_ref());
                    (hloc.at(h.into_inner()), true)
                }
                None => (
                    loc.field("host_name", name_loc.span.clone())
                        .at(default_host_link_name(ns, &name)),
                    false,
                ),
            };
            Kind::Veth {
                bridge,
                host_name,
                host_name_given,
                host_mac: stable_mac(&[ns, &name, "host"]),
            }
        }
    };
    let ipv6_link_local = i
        .ipv6_link_local
        .unwrap_or_else(|| addresses.iter().any(|a| a.value.addr().is_ipv6()));
    let iface = Interface {
        name: name_loc.at(name),
        kind,
        addresses,
        mac,
        mtu,
        ipv6_link_local,
    };
    (iface, complete)
}

/// Parses a list of interface addresses; the flag is false when one was
/// left out as invalid.
fn addresses(
    report: &mut Report<'_>,
    parent: &Loc,
    key: &str,
    items: &[Spanned<String>],
) -> (Vec<At<IpNet>>, bool) {
    let mut complete = true;
    let mut out = Vec::new();
    for (i, text) in items.iter().enumerate() {
        let loc = parent.item(key, i, text.span());
        match values::cidr(report, &loc, text.get_ref()) {
            Some(net) => out.push(loc.at(net)),
            None => complete = false,
        }
    }
    (out, complete)
}

/// `{ "net.ipv4.ip_forward" = 1 }` and the dotted-key form
/// `net.ipv4.ip_forward = 1` (nested tables) both end up as one entry; when
/// both are given, the later one in the file is the error.
fn sysctls(report: &mut Report<'_>, key: &str, table: SysctlTable) -> BTreeMap<String, At<String>> {
    let mut flat = Vec::new();
    flatten(key, "", table, &mut flat);
    flat.sort_by_key(|(_, v)| v.loc.span.start);
    let mut out: BTreeMap<String, At<String>> = BTreeMap::new();
    for (name, value) in flat {
        if !values::sysctl_key(report, &value.loc, &name) {
            continue;
        }
        if let Some(first) = out.get(&name) {
            let line = report.line_of(&first.loc);
            report.error(
                &value.loc,
                format!(
                    "sysctl `{name}` is already set at {} (line {line}); keep one",
                    first.loc.key
                ),
            );
            continue;
        }
        out.insert(name, value);
    }
    out
}

fn flatten(parent: &str, prefix: &str, table: SysctlTable, out: &mut Vec<(String, At<String>)>) {
    for (key, value) in table {
        let loc = Loc::new(join_key(parent, key.get_ref()), key.span());
        let name = if prefix.is_empty() {
            key.into_inner()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        let text = match value.into_inner() {
            SysctlValue::Table(inner) => {
                flatten(&loc.key, &name, inner, out);
                continue;
            }
            SysctlValue::Text(s) => s,
            SysctlValue::Int(n) => n.to_string(),
            SysctlValue::Bool(b) => if b { "1" } else { "0" }.to_owned(),
        };
        out.push((name, loc.at(text)));
    }
}
