//! A bridge's MTU follows its ports: the kernel lowers (or raises) it to
//! its smallest port's whenever a port joins or changes, unless the MTU was
//! set on the bridge itself after it was created. So a bridge whose config
//! sets an MTU gets it set once more after its ports have changed, which
//! also makes the kernel keep it from then on.

use std::collections::BTreeSet;

use super::change::{Change, LinkKind, LinkSettings, Scope};
use crate::model::{Desired, InterfaceKind};
use crate::observe::NsObserved;

/// Bridges whose ports `changes` adds or changes.
fn touched(desired: &Desired, host: &NsObserved, changes: &[Change]) -> BTreeSet<String> {
    let mut bridges = BTreeSet::new();
    for c in changes {
        match c {
            // A port that leaves moves the MTU too.
            Change::DeleteLink {
                scope: Scope::Host,
                name,
                ..
            } => {
                let master = host.link(name).and_then(|l| l.master);
                let bridge = master.and_then(|m| host.link_by_index(m));
                bridges.extend(bridge.map(|b| b.name.clone()));
            }
            Change::CreateVeth { bridge, .. } => {
                bridges.insert(bridge.clone());
            }
            Change::SetLink {
                scope: Scope::Host,
                name,
                settings,
                ..
            } => {
                if let Some(b) = &settings.master {
                    bridges.insert(b.clone());
                }
                if settings.mtu.is_some() {
                    let bridge = desired
                        .namespaces
                        .values()
                        .flat_map(|n| &n.interfaces)
                        .find_map(|i| match &i.kind {
                            InterfaceKind::Veth {
                                bridge, host_name, ..
                            } if host_name == name => Some(bridge.clone()),
                            _ => None,
                        });
                    bridges.extend(bridge);
                }
            }
            _ => {}
        }
    }
    bridges
}

/// Moves the MTU of bridges whose ports change to a change of its own,
/// applied after the ports. It is set even when it seems right: a port
/// whose MTU the config leaves alone, or someone else's port, may have
/// another; once set to a new value, the kernel keeps it.
pub(super) fn after_ports(desired: &Desired, host: &NsObserved, changes: &mut Vec<Change>) {
    for name in touched(desired, host, changes) {
        let Some(mtu) = desired.bridges.get(&name).and_then(|b| b.mtu) else {
            continue;
        };
        // An MTU change planned for the bridge already moves here.
        for c in changes.iter_mut() {
            if let Change::SetLink {
                scope: Scope::Host,
                name: n,
                settings,
                ..
            } = c
                && *n == name
                && !settings.after_ports
            {
                settings.mtu = None;
            }
        }
        changes.retain(|c| {
            !matches!(c, Change::SetLink { scope: Scope::Host, settings, .. } if settings.is_empty())
        });
        changes.push(Change::SetLink {
            scope: Scope::Host,
            name,
            kind: LinkKind::Bridge,
            settings: LinkSettings {
                mtu: Some(mtu),
                after_ports: true,
                ..LinkSettings::default()
            },
        });
    }
}
