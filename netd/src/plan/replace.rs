//! Links that cannot be changed in place: why, and the changes that make
//! them anew (the old link, with its addresses and routes, goes first).

use super::change::{Change, LinkKind, Scope};
use super::links::NsDiff;
use crate::model::{Interface, InterfaceKind};
use crate::observe::ObservedLink;

impl NsDiff<'_> {
    /// Why a link that exists in some form cannot be changed in place;
    /// None when there is nothing to replace (a plain creation).
    pub(super) fn replace_reason(
        &self,
        iface: &Interface,
        want_kind: &str,
        inner: Option<&ObservedLink>,
        host_end: Option<Option<&ObservedLink>>,
    ) -> Option<String> {
        let kind = |l: &ObservedLink| l.kind.clone().unwrap_or_else(|| "unknown".into());
        if let Some(l) = inner.filter(|l| l.kind.as_deref() != Some(want_kind)) {
            return Some(format!("kind changes from {} to {want_kind}", kind(l)));
        }
        match host_end {
            Some(Some(h)) if h.kind.as_deref() != Some("veth") => {
                Some(format!("host end {} is a {}, not a veth", h.name, kind(h)))
            }
            Some(None) => {
                let old = self
                    .host
                    .veths_of(&self.ns.name)
                    .iter()
                    .find(|(name, _)| *name == iface.name)
                    .map(|(_, l)| l.name.clone());
                match (old, inner) {
                    (Some(old), _) => Some(format!(
                        "veth peer changes from {old} to {}",
                        iface.host_name().unwrap_or_default()
                    )),
                    (None, Some(_)) => Some(format!(
                        "host end {} is missing",
                        iface.host_name().unwrap_or_default()
                    )),
                    (None, None) => None,
                }
            }
            Some(Some(_)) if inner.is_none() => {
                Some("the end inside the namespace is missing".into())
            }
            _ => None,
        }
    }

    pub(super) fn recreate(
        &mut self,
        iface: &Interface,
        inner: Option<&ObservedLink>,
        host_end: Option<&ObservedLink>,
        replace: Option<String>,
        out: &mut Vec<Change>,
    ) {
        let ns = &self.ns.name;
        if let Some(l) = inner {
            self.replaced.insert(l.index);
            out.push(Change::DeleteLink {
                scope: self.scope.clone(),
                name: l.name.clone(),
                kind: LinkKind::observed(l.kind.as_deref(), &l.name),
            });
        }
        if let Some(h) = host_end {
            out.push(Change::DeleteLink {
                scope: Scope::Host,
                name: h.name.clone(),
                kind: LinkKind::observed(h.kind.as_deref(), &h.name),
            });
        }
        out.push(match &iface.kind {
            InterfaceKind::Veth {
                bridge,
                host_name,
                host_mac,
            } => Change::CreateVeth {
                ns: ns.clone(),
                name: iface.name.clone(),
                host_name: host_name.clone(),
                bridge: bridge.clone(),
                mac: iface.mac,
                host_mac: *host_mac,
                mtu: iface.mtu,
                ipv6_link_local: iface.ipv6_link_local,
                isolated: self.bridges.get(bridge).is_some_and(|b| b.isolate),
                replace,
            },
            InterfaceKind::Dummy => Change::CreateDummy {
                ns: ns.clone(),
                name: iface.name.clone(),
                mac: iface.mac,
                mtu: iface.mtu,
                ipv6_link_local: iface.ipv6_link_local,
                replace,
            },
        });
        for addr in &iface.addresses {
            out.push(Change::AddAddress {
                scope: self.scope.clone(),
                link: iface.name.clone(),
                addr: *addr,
            });
        }
    }
}
