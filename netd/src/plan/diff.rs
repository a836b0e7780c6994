//! Top level of the diff: bridges, namespaces, and what is no longer in the
//! config.

use std::collections::BTreeSet;

use serde::Serialize;

use super::addresses::diff_addresses;
use super::change::{Change, LinkKind, LinkSettings, Scope};
use super::host::HostLinks;
use super::links::diff_namespace;
use super::pins::{self, Leaving, Wanted};
use crate::model::Namespace;
use crate::model::{ALIAS_PREFIX, Bridge, Desired, MacAddr, bridge_alias, bridge_mac};
use crate::netns::PinKind;
use crate::observe::{NsObserved, Observed};
use crate::state::State;

/// An object netd would have to take over to converge: never done silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{object}: {problem}")]
pub struct Conflict {
    pub object: String,
    pub problem: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Things netd owns that the config no longer names and that it leaves
    /// alone without `--prune`.
    pub orphans: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A link netd created but did not get to mark: the kernel ignores the
/// ifalias when a link is created, so netd sets it in the next request, and
/// a crash in between leaves an unmarked link. netd gives every link it
/// creates a MAC derived from its config name, which is what recognises it.
pub(super) fn claimable(
    link: &crate::observe::ObservedLink,
    mac: MacAddr,
    scope: &Scope,
    state: &State,
) -> bool {
    link.alias.is_none() && link.mac == Some(mac) && state.has_link_intent(scope.ns(), &link.name)
}

pub(super) fn foreign(object: String, link: &crate::observe::ObservedLink) -> Conflict {
    let owner = match &link.alias {
        Some(a) if a.starts_with(ALIAS_PREFIX) => format!("it belongs to netd object `{a}`"),
        _ => "it was not created by netd".to_string(),
    };
    Conflict {
        object,
        problem: format!(
            "a link named `{}` already exists (ifindex {}) and {owner}; netd will not take it over. Rename or remove it, or choose another name in the config",
            link.name, link.index
        ),
    }
}

fn diff_bridge(
    b: &Bridge,
    host: &NsObserved,
    state: &State,
    out: &mut Vec<Change>,
    conflicts: &mut Vec<Conflict>,
) {
    let Some(link) = host.link(&b.name) else {
        out.push(Change::CreateBridge {
            name: b.name.clone(),
            mtu: b.mtu,
        });
        for addr in &b.addresses {
            out.push(Change::AddAddress {
                scope: Scope::Host,
                link: b.name.clone(),
                addr: *addr,
            });
        }
        return;
    };
    let unmarked = claimable(link, bridge_mac(&b.name), &Scope::Host, state);
    if (!unmarked && link.alias.as_deref() != Some(bridge_alias(&b.name).as_str()))
        || link.kind.as_deref() != Some("bridge")
    {
        conflicts.push(foreign(format!("bridge {}", b.name), link));
        return;
    }
    let settings = LinkSettings {
        up: (!link.up).then_some(true),
        mtu: b.mtu.filter(|m| *m != link.mtu),
        alias: unmarked.then(|| bridge_alias(&b.name)),
        ..LinkSettings::default()
    };
    if !settings.is_empty() {
        out.push(Change::SetLink {
            scope: Scope::Host,
            name: b.name.clone(),
            kind: LinkKind::Bridge,
            settings,
        });
    }
    diff_addresses(
        &Scope::Host,
        &b.name,
        &b.addresses,
        host.addrs_of(link.index),
        true,
        out,
    );
}

/// `route_localnet` on bridges, and `table inet netd`: replaced whenever its
/// marker or rule count differ from what the config renders (also after
/// `nft flush ruleset` or a reload that dropped it), deleted when the config
/// needs none.
fn diff_firewall(
    desired: &Desired,
    observed: &Observed,
    state: &State,
    out: &mut Vec<Change>,
    conflicts: &mut Vec<Conflict>,
) {
    // A table of netd's name with neither netd's marker rule nor netd's
    // record is an admin's: never replaced, never deleted.
    let foreign_table = matches!(&observed.nft.table, Some((None, _))) && !state.nft_table;
    for key in crate::nft::localnet_keys(desired) {
        let was = observed.host_sysctls.get(&key).cloned().flatten();
        if was.as_deref() != Some("1") {
            out.push(Change::SetHostSysctl {
                key,
                value: "1".into(),
                was,
            });
        }
    }
    match (crate::nft::render(desired), &observed.nft.table) {
        (Some(_), Some(_)) if foreign_table => conflicts.push(Conflict {
            object: format!("table inet {}", crate::nft::TABLE),
            problem: format!(
                "a table inet {} that netd did not create exists; rename or remove it",
                crate::nft::TABLE
            ),
        }),
        (None, Some(_)) if foreign_table => {}
        (Some(r), Some((Some(fp), rules))) if *fp == r.fingerprint && *rules == r.rules => {}
        (Some(r), _) => out.push(Change::ReplaceTable {
            rules: r.rules,
            elements: r.elements,
            commands: r.commands.to_string(),
        }),
        (None, Some(_)) => out.push(Change::DeleteTable),
        (None, None) => {}
    }
    match crate::nft::integrate_wanted(desired, &observed.nft) {
        Ok(wanted) => {
            if let Some((add, remove, commands)) =
                crate::nft::integrate_commands(&wanted, &observed.nft)
            {
                out.push(Change::HostRules {
                    add,
                    remove,
                    commands: commands.to_string(),
                });
            }
        }
        Err(problem) => conflicts.push(Conflict {
            object: "policy integrate".into(),
            problem,
        }),
    }
}

/// Computes the changes that make the kernel match `desired`. `prune` also
/// removes netd's namespaces and bridges that the config no longer names.
pub fn plan(
    desired: &Desired,
    observed: &Observed,
    state: &State,
    prune: bool,
) -> Result<Plan, Vec<Conflict>> {
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let mut orphans = Vec::new();

    for b in desired.bridges.values() {
        diff_bridge(b, &observed.host, state, &mut changes, &mut conflicts);
    }

    let empty = NsObserved::default();
    let host_links = HostLinks::new(&observed.host);
    for ns in desired.namespaces.values() {
        let pin = observed
            .pins
            .get(&ns.name)
            .copied()
            .unwrap_or(PinKind::Missing);
        let record = state.namespaces.get(&ns.name);
        let inside = match pins::wanted(
            ns,
            pin,
            record,
            &desired.netns_dir,
            &mut changes,
            &mut conflicts,
        ) {
            Wanted::Foreign => continue,
            Wanted::Create => {
                changes.push(Change::CreateNamespace {
                    ns: ns.name.clone(),
                });
                &empty
            }
            Wanted::Present => observed.namespaces.get(&ns.name).unwrap_or(&empty),
        };
        diff_namespace(
            ns,
            &desired.bridges,
            inside,
            &host_links,
            state,
            &mut changes,
            &mut conflicts,
        );
    }

    // Host ends of veths whose namespace left the config, and bridges that
    // left it: netd's, but kept until the user asks for --prune.
    let mut stale_ns: BTreeSet<&str> = BTreeSet::new();
    for link in &observed.host.links {
        let Some(alias) = link.alias.as_deref() else {
            continue;
        };
        if let Some((ns, _)) = crate::model::parse_host_link_alias(alias) {
            if !desired.namespaces.contains_key(ns) {
                stale_ns.insert(ns);
                if prune {
                    changes.push(Change::DeleteLink {
                        scope: Scope::Host,
                        name: link.name.clone(),
                        kind: LinkKind::observed(link.kind.as_deref(), &link.name),
                    });
                }
            }
        } else if let Some(bridge) = alias.strip_prefix(crate::model::BRIDGE_ALIAS_PREFIX)
            && !desired.bridges.contains_key(bridge)
        {
            if prune {
                changes.push(Change::DeleteLink {
                    scope: Scope::Host,
                    name: link.name.clone(),
                    kind: LinkKind::observed(link.kind.as_deref(), &link.name),
                });
            } else {
                orphans.push(format!("bridge {bridge}"));
            }
        }
    }
    for (ns, record) in &state.namespaces {
        if desired.namespaces.contains_key(ns) {
            continue;
        }
        stale_ns.remove(ns.as_str());
        if !prune {
            orphans.push(format!("namespace {ns}"));
            continue;
        }
        let pin = observed.pins.get(ns).copied().unwrap_or(PinKind::Missing);
        let path = crate::netns::pin_path(&desired.netns_dir, ns);
        match pins::leaving(pin, record, &path) {
            Leaving::Delete => changes.push(Change::DeleteNamespace { ns: ns.clone() }),
            Leaving::Release => {
                if let Some(inside) = observed.namespaces.get(ns) {
                    let nothing = Namespace::empty(ns);
                    diff_namespace(
                        &nothing,
                        &desired.bridges,
                        inside,
                        &host_links,
                        state,
                        &mut changes,
                        &mut conflicts,
                    );
                }
                changes.push(Change::ReleaseNamespace { ns: ns.clone() });
            }
            Leaving::Forget(reason) => changes.push(Change::ForgetNamespace {
                ns: ns.clone(),
                reason,
            }),
        }
    }
    if !prune {
        orphans.extend(stale_ns.iter().map(|ns| format!("links of namespace {ns}")));
    }

    super::bridge_mtu::after_ports(desired, &observed.host, &mut changes);
    diff_firewall(desired, observed, state, &mut changes, &mut conflicts);

    if conflicts.is_empty() {
        Ok(Plan { changes, orphans })
    } else {
        Err(conflicts)
    }
}
