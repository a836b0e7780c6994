//! Observed state: what the kernel has, read into plain types that the
//! planner compares with the desired model.

mod read;

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{ALIAS_PREFIX, MacAddr, NETD_PROTO, Route};

pub use read::{ObserveError, Scope, examine_pins, observe, refresh, refresh_scoped};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObservedLink {
    pub index: u32,
    pub name: String,
    pub kind: Option<String>,
    pub alias: Option<String>,
    pub mac: Option<MacAddr>,
    pub mtu: u32,
    pub up: bool,
    pub master: Option<u32>,
    /// Bridge port flags, for links enslaved to a bridge.
    pub hairpin: Option<bool>,
    pub isolated: Option<bool>,
    /// IPv6 address generation mode (IFLA_INET6_ADDR_GEN_MODE); None on a
    /// link without IPv6.
    pub addr_gen_mode: Option<u8>,
}

impl ObservedLink {
    pub fn owned_by_netd(&self) -> bool {
        self.alias
            .as_deref()
            .is_some_and(|a| a.starts_with(ALIAS_PREFIX))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedAddr {
    pub index: u32,
    pub net: IpNet,
    /// IFA_PROTO; netd's addresses carry [`NETD_PROTO`].
    pub proto: u8,
    pub tentative: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedRoute {
    /// `device` is left empty by the dump; `oif` holds the index.
    pub route: Route,
    pub oif: Option<u32>,
    pub proto: u8,
}

impl ObservedRoute {
    pub fn owned_by_netd(&self) -> bool {
        self.proto == NETD_PROTO
    }
}

/// One network namespace as the kernel has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NsObserved {
    pub links: Vec<ObservedLink>,
    pub addrs: Vec<ObservedAddr>,
    pub routes: Vec<ObservedRoute>,
    /// Only the keys the config sets; None where the key does not exist.
    pub sysctls: BTreeMap<String, Option<String>>,
}

impl NsObserved {
    pub fn link(&self, name: &str) -> Option<&ObservedLink> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn link_by_index(&self, index: u32) -> Option<&ObservedLink> {
        self.links.iter().find(|l| l.index == index)
    }

    pub fn addrs_of(&self, index: u32) -> impl Iterator<Item = &ObservedAddr> {
        self.addrs.iter().filter(move |a| a.index == index)
    }

    /// Lowest ifindex above every index in use, for links netd creates here.
    pub fn next_free_index(&self) -> u32 {
        self.links.iter().map(|l| l.index).max().unwrap_or(1) + 1
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    pub host: NsObserved,
    /// Pinned namespaces that are in the config or in netd's state, keyed by
    /// name.
    pub namespaces: BTreeMap<String, NsObserved>,
    /// Namespaces (of the config or the state) pinned and read: each either
    /// netd's by its recorded identity, or not recorded at all.
    pub pinned: BTreeSet<String>,
    /// What is at the pin path of every namespace of the config or the
    /// state.
    pub pins: BTreeMap<String, crate::netns::PinKind>,
    /// netd's table and tagged rules, and the host's chains.
    pub nft: crate::nft::NftObserved,
    /// The host sysctls the config sets on netd's bridges.
    pub host_sysctls: BTreeMap<String, Option<String>>,
}
