//! The host's links indexed once per plan: a thousand namespaces each
//! looking up their veth's host end by scanning a thousand links would make
//! planning quadratic.

use std::collections::HashMap;

use crate::observe::{NsObserved, ObservedAddr, ObservedLink};

pub(super) struct HostLinks<'a> {
    by_name: HashMap<&'a str, &'a ObservedLink>,
    /// Host ends of netd's veths, by namespace: (interface name, link).
    veths_by_ns: HashMap<&'a str, Vec<(&'a str, &'a ObservedLink)>>,
    addrs_by_index: HashMap<u32, Vec<&'a ObservedAddr>>,
}

impl<'a> HostLinks<'a> {
    pub(super) fn new(host: &'a NsObserved) -> Self {
        let mut veths_by_ns: HashMap<&str, Vec<(&str, &ObservedLink)>> = HashMap::new();
        for l in &host.links {
            if let Some((ns, ifname)) = l
                .alias
                .as_deref()
                .and_then(crate::model::parse_host_link_alias)
            {
                veths_by_ns.entry(ns).or_default().push((ifname, l));
            }
        }
        let mut addrs_by_index: HashMap<u32, Vec<&ObservedAddr>> = HashMap::new();
        for a in &host.addrs {
            addrs_by_index.entry(a.index).or_default().push(a);
        }
        HostLinks {
            by_name: host.links.iter().map(|l| (l.name.as_str(), l)).collect(),
            veths_by_ns,
            addrs_by_index,
        }
    }

    pub(super) fn link(&self, name: &str) -> Option<&'a ObservedLink> {
        self.by_name.get(name).copied()
    }

    pub(super) fn addrs_of(&self, index: u32) -> impl Iterator<Item = &'a ObservedAddr> + '_ {
        self.addrs_by_index
            .get(&index)
            .into_iter()
            .flatten()
            .copied()
    }

    pub(super) fn veths_of(&self, ns: &str) -> &[(&'a str, &'a ObservedLink)] {
        self.veths_by_ns.get(ns).map_or(&[], Vec::as_slice)
    }
}
