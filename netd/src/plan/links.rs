//! Diff of one namespace: its links (and their host ends), addresses, routes
//! and sysctls.

use std::collections::{BTreeMap, BTreeSet};

use super::addresses::diff_addresses;
use super::change::{Change, LinkKind, LinkSettings, Scope};
use super::diff::{Conflict, claimable, foreign};
use super::host::HostLinks;
use super::linklocal::{self, LinkLocal};
use crate::model::{
    Bridge, Interface, InterfaceKind, MacAddr, Namespace, host_link_alias, ns_link_alias,
};
use crate::observe::{NsObserved, ObservedLink};
use crate::state::State;

fn settings_for(iface: &Interface, link: &ObservedLink) -> LinkSettings {
    LinkSettings {
        up: (!link.up).then_some(true),
        mtu: iface.mtu.filter(|m| *m != link.mtu),
        mac: Some(iface.mac).filter(|m| link.mac != Some(*m)),
        ipv6_link_local: linklocal::mode_change(iface.ipv6_link_local, link),
        ..LinkSettings::default()
    }
}

/// Whether `link` is the expected owned link; a foreign or differently
/// owned one is a conflict. Also returns the alias to set when the link is
/// netd's but unmarked (see [`claimable`]).
fn owned<'a>(
    link: Option<&'a ObservedLink>,
    (alias, mac): (&str, MacAddr),
    (scope, state): (&Scope, &State),
    object: String,
    conflicts: &mut Vec<Conflict>,
) -> Result<(Option<&'a ObservedLink>, Option<String>), ()> {
    match link {
        Some(l) if claimable(l, mac, scope, state) => Ok((Some(l), Some(alias.to_string()))),
        Some(l) if l.alias.as_deref() != Some(alias) => {
            conflicts.push(foreign(object, l));
            Err(())
        }
        other => Ok((other, None)),
    }
}

pub(super) struct NsDiff<'a> {
    pub(super) ns: &'a Namespace,
    pub(super) bridges: &'a BTreeMap<String, Bridge>,
    pub(super) inside: &'a NsObserved,
    pub(super) host: &'a HostLinks<'a>,
    pub(super) state: &'a State,
    pub(super) scope: Scope,
    /// Indexes (inside) of links this plan recreates: their addresses and
    /// routes go with them before the new link exists.
    pub(super) replaced: BTreeSet<u32>,
}

impl NsDiff<'_> {
    fn interface(
        &mut self,
        iface: &Interface,
        out: &mut Vec<Change>,
        conflicts: &mut Vec<Conflict>,
    ) {
        let ns = &self.ns.name;
        let object = format!("interface {ns}/{}", iface.name);
        let Ok((inner, inner_alias)) = owned(
            self.inside.link(&iface.name),
            (&ns_link_alias(ns, &iface.name), iface.mac),
            (&self.scope, self.state),
            object.clone(),
            conflicts,
        ) else {
            return;
        };
        let mut host_alias = None;
        let host_end = match &iface.kind {
            InterfaceKind::Veth {
                host_name,
                host_mac,
                ..
            } => {
                let Ok((h, alias)) = owned(
                    self.host.link(host_name),
                    (&host_link_alias(ns, &iface.name), *host_mac),
                    (&Scope::Host, self.state),
                    object,
                    conflicts,
                ) else {
                    return;
                };
                host_alias = alias;
                Some(h)
            }
            InterfaceKind::Dummy => None,
        };
        let want_kind = match iface.kind {
            InterfaceKind::Veth { .. } => "veth",
            InterfaceKind::Dummy => "dummy",
        };
        let intact = inner.is_some_and(|l| l.kind.as_deref() == Some(want_kind))
            && host_end.is_none_or(|h| h.is_some_and(|h| h.kind.as_deref() == Some("veth")));
        if !intact {
            let why = self.replace_reason(iface, want_kind, inner, host_end);
            self.recreate(iface, inner, host_end.flatten(), why, out);
            return;
        }
        let inner = inner.expect("intact implies present");
        if let (
            InterfaceKind::Veth {
                bridge,
                host_name,
                host_mac,
            },
            Some(Some(h)),
        ) = (&iface.kind, host_end)
        {
            let bridge_index = self.host.link(bridge).map(|b| b.index);
            let isolate = self.bridges.get(bridge).is_some_and(|b| b.isolate);
            // In one request the kernel applies port settings to the old
            // bridge's port before it moves the link, and the new port
            // starts with defaults: a move sets them again, in a change of
            // its own after the move.
            let moves = bridge_index.is_none() || h.master != bridge_index;
            let settings = LinkSettings {
                up: (!h.up).then_some(true),
                mtu: iface.mtu.filter(|m| *m != h.mtu),
                mac: Some(*host_mac).filter(|m| h.mac != Some(*m)),
                master: moves.then(|| bridge.clone()),
                alias: host_alias,
                isolated: (!moves && (h.hairpin != Some(true) || h.isolated != Some(isolate)))
                    .then_some(isolate),
                // Host ends are bridge ports: they need no address.
                ipv6_link_local: linklocal::mode_change(false, h),
                after_ports: false,
            };
            if !settings.is_empty() {
                out.push(Change::SetLink {
                    scope: Scope::Host,
                    name: host_name.clone(),
                    kind: LinkKind::Veth,
                    settings,
                });
            }
            if moves {
                out.push(Change::SetLink {
                    scope: Scope::Host,
                    name: host_name.clone(),
                    kind: LinkKind::Veth,
                    settings: LinkSettings {
                        isolated: Some(isolate),
                        ..LinkSettings::default()
                    },
                });
            }
            let host_ll = LinkLocal {
                scope: &Scope::Host,
                link: h,
                want: false,
                mac: *host_mac,
                configured: &[],
            };
            host_ll.diff(self.host.addrs_of(h.index), out);
        }
        let settings = LinkSettings {
            alias: inner_alias,
            ..settings_for(iface, inner)
        };
        if !settings.is_empty() {
            out.push(Change::SetLink {
                scope: self.scope.clone(),
                name: iface.name.clone(),
                kind: match iface.kind {
                    InterfaceKind::Veth { .. } => LinkKind::Veth,
                    InterfaceKind::Dummy => LinkKind::Dummy,
                },
                settings,
            });
        }
        diff_addresses(
            &self.scope,
            &iface.name,
            &iface.addresses,
            self.inside.addrs_of(inner.index),
            true,
            out,
        );
        let ll = LinkLocal {
            scope: &self.scope,
            link: inner,
            want: iface.ipv6_link_local,
            mac: iface.mac,
            configured: &iface.addresses,
        };
        ll.diff(self.inside.addrs_of(inner.index), out);
    }

    /// netd's links in this namespace, and host ends of its veths, that the
    /// config no longer has.
    fn stale_links(&mut self, out: &mut Vec<Change>) {
        let ns = &self.ns.name;
        for l in &self.inside.links {
            let Some(name) = l
                .alias
                .as_deref()
                .and_then(|a| a.strip_prefix(crate::model::NS_LINK_ALIAS_PREFIX))
                .and_then(|rest| rest.strip_prefix(ns.as_str()))
                .and_then(|rest| rest.strip_prefix('/'))
            else {
                continue;
            };
            // Its routes stay planned: they move off it before it goes.
            if !self.ns.interfaces.iter().any(|i| i.name == name) {
                out.push(Change::DeleteLink {
                    scope: self.scope.clone(),
                    name: l.name.clone(),
                    kind: LinkKind::observed(l.kind.as_deref(), &l.name),
                });
            }
        }
        for &(name, l) in self.host.veths_of(ns) {
            let wanted = self
                .ns
                .interfaces
                .iter()
                .any(|i| i.name == name && i.host_name() == Some(l.name.as_str()));
            if !wanted {
                out.push(Change::DeleteLink {
                    scope: Scope::Host,
                    name: l.name.clone(),
                    kind: LinkKind::observed(l.kind.as_deref(), &l.name),
                });
            }
        }
    }

    fn loopback(&self, out: &mut Vec<Change>) {
        let lo = self.inside.link("lo");
        if lo.is_none_or(|l| !l.up) {
            out.push(Change::SetLink {
                scope: self.scope.clone(),
                name: "lo".into(),
                kind: LinkKind::Loopback,
                settings: LinkSettings {
                    up: Some(true),
                    ..LinkSettings::default()
                },
            });
        }
        let observed = lo
            .map(|l| l.index)
            .into_iter()
            .flat_map(|i| self.inside.addrs_of(i));
        diff_addresses(&self.scope, "lo", &self.ns.loopback, observed, false, out);
    }

    fn sysctls(&self, out: &mut Vec<Change>) {
        // Keys netd changed in an adopted namespace and no longer sets get
        // the value they had before netd.
        let recorded = self.state.namespaces.get(&self.ns.name);
        for (key, before) in recorded.into_iter().flat_map(|r| &r.sysctls) {
            if self.ns.sysctls.contains_key(key) {
                continue;
            }
            let now = self.inside.sysctls.get(key).cloned().flatten();
            match before {
                Some(value) if now.as_ref() != Some(value) => out.push(Change::RestoreSysctl {
                    ns: self.ns.name.clone(),
                    key: key.clone(),
                    value: value.clone(),
                }),
                _ => {}
            }
        }
        for (key, value) in &self.ns.sysctls {
            let was = self.inside.sysctls.get(key).cloned().flatten();
            if was.as_deref() != Some(value.as_str()) {
                out.push(Change::SetSysctl {
                    ns: self.ns.name.clone(),
                    key: key.clone(),
                    value: value.clone(),
                    was,
                });
            }
        }
    }
}

pub(super) fn diff_namespace(
    ns: &Namespace,
    bridges: &BTreeMap<String, Bridge>,
    inside: &NsObserved,
    host: &HostLinks<'_>,
    state: &State,
    out: &mut Vec<Change>,
    conflicts: &mut Vec<Conflict>,
) {
    let mut d = NsDiff {
        ns,
        bridges,
        inside,
        host,
        state,
        scope: Scope::Ns(ns.name.clone()),
        replaced: BTreeSet::new(),
    };
    d.stale_links(out);
    d.loopback(out);
    for iface in &ns.interfaces {
        d.interface(iface, out, conflicts);
    }
    d.sysctls(out);
    d.routes(out);
}
