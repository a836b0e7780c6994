//! Shared test helpers: golden files and a converged kernel built from a
//! model, so that plan and apply tests need no kernel.

use std::path::PathBuf;

pub mod fake_kernel;
mod fake_requests;
pub mod xorshift;

use crate::model::{
    ALIAS_PREFIX, Desired, InterfaceKind, NETD_PROTO, bridge_alias, host_link_alias, ns_link_alias,
};
use crate::observe::{NsObserved, Observed, ObservedAddr, ObservedLink, ObservedRoute};

/// Compares `actual` with `netd/testdata/NAME`; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs; rerun with UPDATE_GOLDEN=1 and review the diff\n--- got:\n{actual}",
        path.display()
    );
}

fn link(index: u32, name: &str, kind: &str, alias: Option<String>) -> ObservedLink {
    ObservedLink {
        index,
        name: name.to_string(),
        kind: Some(kind.to_string()).filter(|k| !k.is_empty()),
        alias,
        mac: None,
        mtu: 1500,
        up: true,
        master: None,
        hairpin: None,
        isolated: None,
        addr_gen_mode: None,
    }
}

fn addr(index: u32, net: ipnet::IpNet) -> ObservedAddr {
    ObservedAddr {
        index,
        net,
        proto: NETD_PROTO,
        tentative: false,
    }
}

/// What the kernel looks like after a successful apply of `desired`.
pub fn converged(desired: &Desired) -> Observed {
    let mut o = Observed::default();
    o.host.links.push(link(1, "lo", "", None));
    let mut next = 2;
    for b in desired.bridges.values() {
        o.host
            .links
            .push(link(next, &b.name, "bridge", Some(bridge_alias(&b.name))));
        o.host.links.last_mut().expect("just pushed").mtu = b.mtu.unwrap_or(1500);
        o.host
            .addrs
            .extend(b.addresses.iter().map(|a| addr(next, *a)));
        next += 1;
    }
    for ns in desired.namespaces.values() {
        let mut inside = NsObserved::default();
        inside.links.push(link(1, "lo", "", None));
        inside.addrs.extend(ns.loopback.iter().map(|a| addr(1, *a)));
        for (i, iface) in ns.interfaces.iter().enumerate() {
            let index = 2 + i as u32;
            let kind = match &iface.kind {
                InterfaceKind::Veth {
                    bridge,
                    host_name,
                    host_mac,
                } => {
                    let master = o.host.link(bridge).map(|b| b.index);
                    let mut h = link(
                        next,
                        host_name,
                        "veth",
                        Some(host_link_alias(&ns.name, &iface.name)),
                    );
                    h.master = master;
                    h.hairpin = Some(true);
                    h.isolated = Some(desired.bridges.get(bridge).is_some_and(|b| b.isolate));
                    h.mac = Some(*host_mac);
                    h.mtu = iface.mtu.unwrap_or(1500);
                    o.host.links.push(h);
                    next += 1;
                    "veth"
                }
                InterfaceKind::Dummy => "dummy",
            };
            let mut l = link(
                index,
                &iface.name,
                kind,
                Some(ns_link_alias(&ns.name, &iface.name)),
            );
            l.mac = Some(iface.mac);
            l.mtu = iface.mtu.unwrap_or(1500);
            inside.links.push(l);
            inside
                .addrs
                .extend(iface.addresses.iter().map(|a| addr(index, *a)));
        }
        for r in &ns.routes {
            // The kernel picks the link whose subnet holds the gateway.
            let device = r.device.clone().or_else(|| {
                let gw = r.gateway?;
                ns.interfaces
                    .iter()
                    .find(|i| i.addresses.iter().any(|a| a.contains(&gw)))
                    .map(|i| i.name.clone())
            });
            let oif = device.and_then(|d| inside.link(&d)).map(|l| l.index);
            let mut route = r.clone();
            route.device = None;
            inside.routes.push(ObservedRoute {
                route,
                oif,
                proto: NETD_PROTO,
            });
        }
        inside.sysctls = ns
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        o.namespaces.insert(ns.name.clone(), inside);
        o.pinned.insert(ns.name.clone());
        o.pins.insert(
            ns.name.clone(),
            crate::netns::PinKind::Namespace {
                id: pin_of(&ns.name),
            },
        );
    }
    debug_assert!(o.host.links.iter().all(|l| {
        l.alias
            .as_deref()
            .is_none_or(|a| a.starts_with(ALIAS_PREFIX))
    }));
    o
}

/// A made-up nsfs identity for a test namespace, the same in the observed
/// pins of [`converged`] and in [`recorded`].
pub fn pin_of(name: &str) -> crate::state::PinId {
    crate::state::PinId {
        dev: 4,
        ino: 4_026_531_000 + name.bytes().map(u64::from).sum::<u64>(),
    }
}

/// The state of a run that created every namespace of `d`.
pub fn recorded(d: &Desired) -> crate::state::State {
    let mut state = crate::state::State::default();
    for name in d.namespaces.keys() {
        state.namespaces.insert(
            name.clone(),
            crate::state::NsRecord::new(crate::state::Origin::Created, Some(pin_of(name))),
        );
    }
    state
}
