//! Which route-netlink notifications can concern netd's objects. A
//! namespace netd manages is its own: every link and address change there
//! counts. Its routes count only when they carry netd's protocol, so a
//! routing daemon inside the namespace learning a full table costs nothing.
//! On the host only netd's links and what is on them count.

use std::collections::HashSet;

use netlink_packet_route::RouteNetlinkMessage as Msg;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};

use crate::model::{ALIAS_PREFIX, NETD_PROTO};

/// What the host watcher knows of netd's links on the host; updated after
/// every observe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostLinks {
    pub indexes: HashSet<u32>,
    /// Names the config gives host links (bridges, host ends), so that a
    /// link netd has not created yet, or that someone recreated without
    /// netd's mark, still counts.
    pub names: HashSet<String>,
}

fn link_is_netds(link: &LinkMessage, host: &HostLinks) -> bool {
    if host.indexes.contains(&link.header.index) {
        return true;
    }
    link.attributes.iter().any(|a| match a {
        LinkAttribute::IfAlias(alias) => alias.starts_with(ALIAS_PREFIX),
        LinkAttribute::IfName(name) => host.names.contains(name),
        _ => false,
    })
}

/// Besides the link notifications proper (family AF_UNSPEC), the kernel
/// sends RTM_NEWLINK with family AF_INET6 for IPv6's per-link state and
/// AF_BRIDGE for bridge port state: in bursts over every port, seconds
/// after links come up, and never a change netd must repair at once (the
/// periodic resync reads the port flags again).
fn ipv6_link_info(link: &LinkMessage) -> bool {
    use netlink_packet_route::AddressFamily;
    matches!(
        link.header.interface_family,
        AddressFamily::Inet6 | AddressFamily::Bridge
    )
}

/// Whether `msg`, seen in a namespace netd manages, may need a repair.
pub fn in_namespace(msg: &Msg) -> bool {
    match msg {
        Msg::NewLink(l) => !ipv6_link_info(l),
        Msg::DelLink(_) | Msg::NewAddress(_) | Msg::DelAddress(_) => true,
        Msg::NewRoute(r) | Msg::DelRoute(r) => u8::from(r.header.protocol) == NETD_PROTO,
        _ => false,
    }
}

/// Whether `msg`, seen on the host, may need a repair.
pub fn on_host(msg: &Msg, host: &HostLinks) -> bool {
    match msg {
        Msg::NewLink(l) => !ipv6_link_info(l) && link_is_netds(l, host),
        Msg::DelLink(l) => link_is_netds(l, host),
        Msg::NewAddress(a) | Msg::DelAddress(a) => host.indexes.contains(&a.header.index),
        Msg::NewRoute(r) | Msg::DelRoute(r) => u8::from(r.header.protocol) == NETD_PROTO,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::address::AddressMessage;
    use netlink_packet_route::route::{RouteMessage, RouteProtocol};

    fn route(proto: u8) -> RouteMessage {
        let mut r = RouteMessage::default();
        r.header.protocol = RouteProtocol::from(proto);
        r
    }

    fn link(index: u32, name: &str, alias: Option<&str>) -> LinkMessage {
        let mut l = LinkMessage::default();
        l.header.index = index;
        l.attributes.push(LinkAttribute::IfName(name.into()));
        if let Some(a) = alias {
            l.attributes.push(LinkAttribute::IfAlias(a.into()));
        }
        l
    }

    #[test]
    fn a_namespace_counts_links_addresses_and_only_netds_routes() {
        assert!(in_namespace(&Msg::DelLink(LinkMessage::default())));
        let mut v6 = LinkMessage::default();
        v6.header.interface_family = netlink_packet_route::AddressFamily::Inet6;
        assert!(!in_namespace(&Msg::NewLink(v6.clone())));
        assert!(in_namespace(&Msg::DelLink(v6)));
        assert!(in_namespace(&Msg::NewAddress(AddressMessage::default())));
        assert!(in_namespace(&Msg::DelRoute(route(NETD_PROTO))));
        // BIRD's routes (proto 12) and the kernel's connected routes (2).
        assert!(!in_namespace(&Msg::NewRoute(route(12))));
        assert!(!in_namespace(&Msg::DelRoute(route(2))));
    }

    #[test]
    fn the_host_counts_only_netds_links_and_what_is_on_them() {
        let host = HostLinks {
            indexes: [7].into(),
            names: ["br-web".to_string()].into(),
        };
        assert!(on_host(&Msg::DelLink(link(7, "ve-x", None)), &host));
        assert!(on_host(&Msg::NewLink(link(9, "br-web", None)), &host));
        assert!(on_host(
            &Msg::NewLink(link(10, "other", Some("netd:veth:web/eth0"))),
            &host
        ));
        assert!(!on_host(&Msg::NewLink(link(11, "docker0", None)), &host));
        let mut addr = AddressMessage::default();
        addr.header.index = 7;
        assert!(on_host(&Msg::DelAddress(addr.clone()), &host));
        addr.header.index = 3;
        assert!(!on_host(&Msg::DelAddress(addr), &host));
        assert!(!on_host(&Msg::NewRoute(route(186)), &host));
        assert!(on_host(&Msg::DelRoute(route(NETD_PROTO)), &host));
    }
}
