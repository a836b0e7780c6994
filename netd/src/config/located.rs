//! The model with a location on every value the user wrote: what `build`
//! produces and `validate` checks across the file. It becomes a
//! `model::Desired` only when nothing was reported.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipnet::IpNet;

use super::report::{At, Loc};
use crate::model::{self, MacAddr, Policy, PortRange, Route};

pub(super) struct Lowered {
    pub netns_dir: PathBuf,
    pub state_dir: PathBuf,
    pub bridges: Vec<Bridge>,
    pub namespaces: Vec<Namespace>,
    pub policy: Policy,
    pub settings: model::DaemonSettings,
    pub anycast: Vec<Anycast>,
}

/// `[anycast.NAME]`, with the locations that checks across sections need.
pub(super) struct Anycast {
    pub name: At<String>,
    pub namespace: At<String>,
    pub prefixes: Vec<At<IpNet>>,
    pub process: Option<At<String>>,
    pub ospf_interfaces: Vec<At<String>>,
    pub model: model::Anycast,
}

pub(super) struct Bridge {
    pub name: At<String>,
    pub addresses: Vec<At<IpNet>>,
    /// As for `Namespace`.
    pub addresses_complete: bool,
    pub mtu: Option<u32>,
    pub masquerade: bool,
    pub isolate: bool,
}

pub(super) struct Namespace {
    pub name: At<String>,
    pub adopt: bool,
    pub loopback: Vec<At<IpNet>>,
    pub sysctls: BTreeMap<String, At<String>>,
    pub interfaces: Vec<Interface>,
    /// Explicit routes, then those of the `gateway` shorthand.
    pub routes: Vec<LocatedRoute>,
    pub publish: Vec<Publish>,
    /// False when an address was left out as invalid: checks that look for
    /// a gateway's subnet would then report errors that are not there.
    pub addresses_complete: bool,
    pub processes: Vec<Process>,
}

pub(super) struct Process {
    pub name: At<String>,
    pub config: model::ProcessConfig,
}

pub(super) struct Interface {
    pub name: At<String>,
    pub kind: Kind,
    pub addresses: Vec<At<IpNet>>,
    pub mac: MacAddr,
    pub mtu: Option<u32>,
    pub ipv6_link_local: bool,
}

pub(super) enum Kind {
    Veth {
        /// `None` only when missing, which has been reported.
        bridge: Option<At<String>>,
        /// When defaulted, located at the interface's `name` (there is no
        /// `host_name` value to point at).
        host_name: At<String>,
        host_name_given: bool,
        host_mac: MacAddr,
    },
    Dummy,
}

pub(super) struct LocatedRoute {
    /// The route's table header, or the shorthand `gateway` value.
    pub loc: Loc,
    pub route: Route,
    pub gateway: Option<Loc>,
    pub device: Option<Loc>,
}

/// One `[[publish]]` table, already expanded.
pub(super) struct Publish {
    /// The table's header.
    pub loc: Loc,
    pub port: At<PortRange>,
    /// One per protocol and family, in model order.
    pub entries: Vec<model::Publish>,
}

impl Lowered {
    /// Only meaningful when lowering and validation reported nothing.
    pub fn into_model(self) -> model::Desired {
        let mut desired = model::Desired::empty(self.netns_dir, self.state_dir);
        desired.policy = self.policy;
        desired.daemon = self.settings;
        for b in self.bridges {
            let bridge = model::Bridge {
                name: b.name.value.clone(),
                addresses: strip(b.addresses),
                mtu: b.mtu,
                masquerade: b.masquerade,
                isolate: b.isolate,
            };
            desired.bridges.insert(b.name.value, bridge);
        }
        for ns in self.namespaces {
            let interfaces = ns
                .interfaces
                .into_iter()
                .map(Interface::into_model)
                .collect();
            let namespace = model::Namespace {
                name: ns.name.value.clone(),
                adopt: ns.adopt,
                loopback: strip(ns.loopback),
                sysctls: ns.sysctls.into_iter().map(|(k, v)| (k, v.value)).collect(),
                interfaces,
                routes: ns.routes.into_iter().map(|r| r.route).collect(),
                publish: ns.publish.into_iter().flat_map(|p| p.entries).collect(),
                processes: ns.processes.into_iter().map(|p| p.config).collect(),
            };
            desired.namespaces.insert(ns.name.value, namespace);
        }
        for a in self.anycast {
            desired.anycast.insert(a.name.value, a.model);
        }
        desired
    }
}

impl Interface {
    fn into_model(self) -> model::Interface {
        let kind = match self.kind {
            Kind::Veth {
                bridge,
                host_name,
                host_mac,
                ..
            } => model::InterfaceKind::Veth {
                bridge: bridge.map(|b| b.value).unwrap_or_default(),
                host_name: host_name.value,
                host_mac,
            },
            Kind::Dummy => model::InterfaceKind::Dummy,
        };
        model::Interface {
            name: self.name.value,
            kind,
            addresses: strip(self.addresses),
            mac: self.mac,
            mtu: self.mtu,
            ipv6_link_local: self.ipv6_link_local,
        }
    }
}

fn strip<T>(located: Vec<At<T>>) -> Vec<T> {
    located.into_iter().map(|a| a.value).collect()
}
