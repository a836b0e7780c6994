//! Every mark by which netd recognises what it owns, in one place: the
//! ifalias prefixes of its links, the route protocol numbers of its routes
//! and addresses, and the MACs it derives for links it creates. Anything
//! without these marks is never modified.

use super::naming::{MacAddr, stable_mac};

/// Route protocol number carried by every route and address netd's
/// reconcile installs, so that netd recognises its own routes and BIRD's
/// `learn` does not ignore them (it skips `kernel` and `bird`). Named in
/// `/etc/iproute2/rt_protos.d/netd.conf`.
pub const NETD_PROTO: u8 = 200;

/// Route protocol number reserved for routes that netd's anycast announcer
/// owns. Reconcile neither adds nor removes routes with it, so announcing
/// and withdrawing never race with a full reconcile.
pub const ANNOUNCE_PROTO: u8 = 201;

/// Prefix of the ifalias of every link netd creates. The alias is the
/// ownership mark: a link without it is never modified.
pub const ALIAS_PREFIX: &str = "netd:";

/// ifalias prefix of netd's bridges (`netd:bridge:NAME`).
pub const BRIDGE_ALIAS_PREFIX: &str = "netd:bridge:";
/// ifalias prefix of the host ends of netd's veths (`netd:veth:NS/IFNAME`).
pub const VETH_ALIAS_PREFIX: &str = "netd:veth:";
/// ifalias prefix of links netd made inside a namespace (`netd:if:NS/IFNAME`).
pub const NS_LINK_ALIAS_PREFIX: &str = "netd:if:";

/// ifalias of a bridge netd owns.
pub fn bridge_alias(bridge: &str) -> String {
    format!("{BRIDGE_ALIAS_PREFIX}{bridge}")
}

/// MAC of a bridge netd creates: fixed, so that it does not follow whichever
/// port has the lowest MAC, and recognisable if netd crashed before marking
/// the bridge.
pub fn bridge_mac(bridge: &str) -> MacAddr {
    stable_mac(&["bridge", bridge])
}

/// ifalias of the host end of a namespace's veth.
pub fn host_link_alias(ns: &str, ifname: &str) -> String {
    format!("{VETH_ALIAS_PREFIX}{ns}/{ifname}")
}

/// ifalias of a link netd created inside a namespace.
pub fn ns_link_alias(ns: &str, ifname: &str) -> String {
    format!("{NS_LINK_ALIAS_PREFIX}{ns}/{ifname}")
}

/// The namespace and interface a veth host end's alias names.
pub fn parse_host_link_alias(alias: &str) -> Option<(&str, &str)> {
    alias.strip_prefix(VETH_ALIAS_PREFIX)?.split_once('/')
}
