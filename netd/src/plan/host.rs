//! The host's links indexed once per plan: a thousand namespaces each
//! looking up their veth's host end by scanning a thousand links would make
//! planning quadratic.

use std::collections::HashMap;

use crate::observe::{NsObserved, ObservedLink};

pub(super) struct HostLinks<'a> {
    by_name: HashMap<&'a str, &'a ObservedLink>,
    /// Host ends of netd's veths, by namespace: (interface name, link).
    veths_by_ns: HashMap<&'a str, Vec<(&'a str, &'a ObservedLink)>>,
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
        HostLinks {
            by_name: host.links.iter().map(|l| (l.name.as_str(), l)).collect(),
            veths_by_ns,
        }
    }

    pub(super) fn link(&self, name: &str) -> Option<&'a ObservedLink> {
        self.by_name.get(name).copied()
    }

    pub(super) fn veths_of(&self, ns: &str) -> &[(&'a str, &'a ObservedLink)] {
        self.veths_by_ns.get(ns).map_or(&[], Vec::as_slice)
    }
}
