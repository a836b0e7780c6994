//! Desired state: plain data that the config produces and the planner diffs
//! against what the kernel has. No I/O here.

mod anycast;
mod naming;
mod ownership;
mod process;
mod publish;
mod shown;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Serialize;

pub use anycast::{
    Anycast, Bgp, Check, CheckKind, DEFAULT_ANNOUNCE_TABLE, DEFAULT_CHECK_INTERVAL,
    DEFAULT_CHECK_TIMEOUT, DEFAULT_FALL, DEFAULT_RISE, Ospf, Routing, Speaker,
};
pub use naming::{
    MAX_NAMESPACE_NAME, MAX_PROCESS_NAME, MacAddr, check_link_name, check_namespace_name,
    check_process_name, check_sysctl_key, default_host_link_name, stable_mac,
};
pub use ownership::*;
pub use process::{DEFAULT_RESYNC_INTERVAL, DaemonSettings, ProcessConfig};
pub use publish::{ChainRef, Policy, PolicyMode, PortRange, Proto, Publish};
pub use shown::{MAX_SHOWN, shown, shown_line, shown_quoted};

pub const DEFAULT_NETNS_DIR: &str = "/run/netns";
pub const DEFAULT_STATE_DIR: &str = "/run/netd";

/// Main routing table id, used when a route names no table.
pub const MAIN_TABLE: u32 = 254;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Desired {
    pub netns_dir: PathBuf,
    pub state_dir: PathBuf,
    pub bridges: BTreeMap<String, Bridge>,
    pub namespaces: BTreeMap<String, Namespace>,
    /// How netd's nftables rules relate to the host's own firewall.
    pub policy: Policy,
    pub daemon: DaemonSettings,
    /// Health-checked anycast services, by name.
    pub anycast: BTreeMap<String, Anycast>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bridge {
    pub name: String,
    pub addresses: Vec<IpNet>,
    pub mtu: Option<u32>,
    /// Masquerade traffic from the bridge's subnets leaving by another link.
    pub masquerade: bool,
    /// Drop traffic between ports of this bridge (namespaces on it reach
    /// the host and the outside, not each other).
    pub isolate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Namespace {
    pub name: String,
    /// The namespace may exist before netd and be adopted: netd then adds
    /// and marks its own objects in it, and leaves the rest alone. Without
    /// it, a namespace that netd did not create is a conflict.
    pub adopt: bool,
    /// Extra addresses on `lo` (service / anycast addresses).
    pub loopback: Vec<IpNet>,
    /// Keys in dotted form (`net.ipv4.ip_forward`), written under
    /// `/proc/sys` from inside the namespace.
    pub sysctls: BTreeMap<String, String>,
    pub interfaces: Vec<Interface>,
    /// Includes the routes produced by the `gateway` shorthand.
    pub routes: Vec<Route>,
    /// Ports of this namespace published on the host, one entry per
    /// protocol and family (the config's `both` is expanded).
    pub publish: Vec<Publish>,
    /// Supervised by `netd run`, in config order.
    pub processes: Vec<ProcessConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Name inside the namespace.
    pub name: String,
    pub kind: InterfaceKind,
    pub addresses: Vec<IpNet>,
    /// Always set: from the config, or derived from namespace and interface
    /// name so that a recreated link keeps its MAC (and neighbours' caches).
    pub mac: MacAddr,
    pub mtu: Option<u32>,
    /// Whether the kernel gives the link an IPv6 link-local address. Off by
    /// default on links with no IPv6 address: such a link then sends no DAD
    /// or MLD packets, which on a bridge with many ports flood every other
    /// port. On for links that need it (`ipv6_link_local = true`), e.g. for
    /// BGP sessions over link-local addresses.
    pub ipv6_link_local: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InterfaceKind {
    /// A veth pair: `host_name` in the host namespace, enslaved to `bridge`;
    /// the peer is the interface itself, inside the namespace.
    Veth {
        bridge: String,
        host_name: String,
        host_mac: MacAddr,
    },
    Dummy,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Route {
    pub destination: IpNet,
    pub gateway: Option<IpAddr>,
    /// Interface name inside the namespace.
    pub device: Option<String>,
    pub table: u32,
    pub metric: Option<u32>,
}

impl Desired {
    pub fn empty(netns_dir: PathBuf, state_dir: PathBuf) -> Self {
        Desired {
            netns_dir,
            state_dir,
            bridges: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            policy: Policy::default(),
            daemon: DaemonSettings::default(),
            anycast: BTreeMap::new(),
        }
    }
}

impl Namespace {
    /// A namespace with nothing configured in it.
    pub fn empty(name: &str) -> Self {
        Namespace {
            name: name.to_string(),
            adopt: false,
            loopback: Vec::new(),
            sysctls: BTreeMap::new(),
            interfaces: Vec::new(),
            routes: Vec::new(),
            publish: Vec::new(),
            processes: Vec::new(),
        }
    }
}

impl Interface {
    pub fn host_name(&self) -> Option<&str> {
        match &self.kind {
            InterfaceKind::Veth { host_name, .. } => Some(host_name),
            InterfaceKind::Dummy => None,
        }
    }
}
