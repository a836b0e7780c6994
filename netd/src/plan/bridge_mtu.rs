//! A bridge's MTU follows its ports: the kernel lowers (or raises) it to
//! its smallest port's whenever a port joins or changes, unless the MTU was
//! set on the bridge itself after it was created. So a bridge whose config
//! sets an MTU gets it set once more after its ports have changed, which
//! also makes the kernel keep it from then on.

use std::collections::BTreeSet;

use super::change::{Change, LinkSettings, Scope};
use crate::model::{Desired, InterfaceKind};

/// Default MTU of a new veth.
const DEFAULT_MTU: u32 = 1500;

/// Bridges whose ports `changes` adds or changes.
fn touched(desired: &Desired, changes: &[Change]) -> BTreeSet<String> {
    let mut bridges = BTreeSet::new();
    for c in changes {
        match c {
            Change::CreateVeth { bridge, .. } => {
                bridges.insert(bridge.clone());
            }
            Change::SetLink {
                scope: Scope::Host,
                name,
                settings,
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

/// Whether some port of `bridge` in the config has another MTU than the
/// bridge: only then does joining move the bridge's MTU.
fn ports_differ(desired: &Desired, bridge: &str, mtu: u32) -> bool {
    desired
        .namespaces
        .values()
        .flat_map(|n| &n.interfaces)
        .filter(|i| matches!(&i.kind, InterfaceKind::Veth { bridge: b, .. } if b == bridge))
        .any(|i| i.mtu.unwrap_or(DEFAULT_MTU) != mtu)
}

/// Moves the MTU of bridges whose ports change to a change of its own,
/// applied after the ports.
pub(super) fn after_ports(desired: &Desired, changes: &mut Vec<Change>) {
    for name in touched(desired, changes) {
        let Some(mtu) = desired.bridges.get(&name).and_then(|b| b.mtu) else {
            continue;
        };
        if !ports_differ(desired, &name, mtu) {
            continue;
        }
        // An MTU change planned for the bridge already moves here.
        for c in changes.iter_mut() {
            if let Change::SetLink {
                scope: Scope::Host,
                name: n,
                settings,
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
            settings: LinkSettings {
                mtu: Some(mtu),
                after_ports: true,
                ..LinkSettings::default()
            },
        });
    }
}
