//! Builds netlink requests from plain values. Pure: every request netd sends
//! can be checked in a unit test without a kernel (which is how dummy links
//! are tested, since the test machines' kernel has no dummy driver).

use std::fmt;
use std::net::IpAddr;
use std::os::fd::RawFd;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressFlags;
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressProtocol,
};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoBridgePort, InfoData, InfoKind, InfoPortData,
    InfoPortKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Msg};

use crate::model::{MacAddr, NETD_PROTO, Route};

/// One netlink request and the header flags it is sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub msg: RouteNetlinkMessage,
    pub flags: u16,
}

const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;

fn link_header(msg: &mut LinkMessage, index: u32, up: bool) {
    msg.header.index = index;
    if up {
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
    }
}

fn named_link(name: &str, mac: Option<MacAddr>, mtu: Option<u32>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    if let Some(mac) = mac {
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    if let Some(mtu) = mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    msg
}

fn with_kind(mut msg: LinkMessage, kind: InfoKind, data: Option<InfoData>) -> LinkMessage {
    let mut info = vec![LinkInfo::Kind(kind)];
    info.extend(data.map(LinkInfo::Data));
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    msg
}

/// A veth pair whose peer is created straight inside the namespace (by fd),
/// with a chosen ifindex there, so that the namespace-side requests that
/// follow can name it without a lookup.
#[derive(Debug, Clone)]
pub struct VethSpec<'a> {
    pub host_name: &'a str,
    pub host_index: u32,
    pub host_mac: MacAddr,
    pub bridge_index: u32,
    pub peer_name: &'a str,
    pub peer_mac: MacAddr,
    pub peer_index: u32,
    pub peer_netns: RawFd,
    pub mtu: Option<u32>,
}

/// Attribute changes on an existing link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkChange {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<MacAddr>,
    pub master: Option<u32>,
    /// The ownership mark. The kernel ignores IFLA_IFALIAS when it creates a
    /// link, so netd sets it right after, in the same batch.
    pub alias: Option<String>,
    /// `Some(false)`: no IPv6 link-local address (addr_gen_mode none). For
    /// bridge ports, which need no address of their own: without it each
    /// new port's DAD and MLD packets flood every other port of the bridge.
    pub ipv6_link_local: Option<bool>,
    /// Bridge port flags, for links enslaved to a bridge.
    pub port: Option<BridgePortFlags>,
}

/// The bridge port settings netd manages on its veths' host ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgePortFlags {
    /// Let frames leave by the port they came in: a namespace reaching a
    /// published port through the host comes back on its own port.
    pub hairpin: bool,
    /// Isolated ports cannot talk to each other, only to the bridge.
    pub isolated: bool,
}

impl Request {
    /// A bridge with a fixed MAC: otherwise the kernel gives it the lowest
    /// MAC among its ports, and it changes whenever ports come and go.
    pub fn create_bridge(name: &str, mac: MacAddr, mtu: Option<u32>) -> Self {
        let mut msg = with_kind(named_link(name, Some(mac), mtu), InfoKind::Bridge, None);
        link_header(&mut msg, 0, true);
        Request {
            msg: Msg::NewLink(msg),
            flags: CREATE,
        }
    }

    pub fn create_veth(spec: &VethSpec<'_>) -> Self {
        let mut peer = named_link(spec.peer_name, Some(spec.peer_mac), spec.mtu);
        // Not up yet: a veth cannot open before its peer exists (ENOTCONN),
        // and the peer is created first. It is set up in the namespace next.
        link_header(&mut peer, spec.peer_index, false);
        peer.attributes
            .push(LinkAttribute::NetNsFd(spec.peer_netns));
        let mut host = with_kind(
            named_link(spec.host_name, Some(spec.host_mac), spec.mtu),
            InfoKind::Veth,
            Some(InfoData::Veth(InfoVeth::Peer(peer))),
        );
        host.attributes
            .push(LinkAttribute::Controller(spec.bridge_index));
        // The kernel honours the peer's requested ifindex only when the
        // host end names one too. Brought up by the follow-up request that
        // also turns off its IPv6 link-local address, before it sends anything.
        link_header(&mut host, spec.host_index, false);
        Request {
            msg: Msg::NewLink(host),
            flags: CREATE,
        }
    }

    pub fn create_dummy(name: &str, mac: MacAddr, mtu: Option<u32>, index: u32) -> Self {
        let mut msg = with_kind(named_link(name, Some(mac), mtu), InfoKind::Dummy, None);
        // Up in the follow-up request, once its IPv6 link-local setting is in.
        link_header(&mut msg, index, false);
        Request {
            msg: Msg::NewLink(msg),
            flags: CREATE,
        }
    }

    /// Changes a link named by index, or by name when `index` is 0 (for a
    /// link created earlier in the same batch, whose index is not known yet).
    pub fn set_link(index: u32, name: Option<&str>, change: &LinkChange) -> Self {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        if let (0, Some(name)) = (index, name) {
            msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        }
        if let Some(alias) = &change.alias {
            msg.attributes.push(LinkAttribute::IfAlias(alias.clone()));
        }
        if let Some(up) = change.up {
            msg.header.flags = if up {
                LinkFlags::Up
            } else {
                LinkFlags::empty()
            };
            msg.header.change_mask = LinkFlags::Up;
        }
        if let Some(mtu) = change.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = change.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some(master) = change.master {
            msg.attributes.push(LinkAttribute::Controller(master));
        }
        if let Some(port) = change.port {
            msg.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::PortKind(InfoPortKind::Bridge),
                LinkInfo::PortData(InfoPortData::BridgePort(vec![
                    InfoBridgePort::HairpinMode(port.hairpin),
                    InfoBridgePort::Isolated(port.isolated),
                ])),
            ]));
        }
        if let Some(link_local) = change.ipv6_link_local {
            let mode = if link_local {
                In6AddrGenMode::Eui64
            } else {
                In6AddrGenMode::None
            };
            msg.attributes
                .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                    vec![AfSpecInet6::AddrGenMode(mode)],
                )]));
        }
        Request {
            // RTM_NEWLINK without NLM_F_CREATE changes an existing link, and
            // unlike RTM_SETLINK it also applies bridge port settings.
            msg: Msg::NewLink(msg),
            flags: CHANGE,
        }
    }

    /// Marks a just-created link as netd's, sets whether it gets an IPv6
    /// link-local address, then brings it up: two requests, because the
    /// kernel applies IFLA_AF_SPEC after the up flag within one request, and
    /// by then the link-local address exists.
    pub fn bring_up_new_link(
        index: u32,
        name: Option<&str>,
        alias: String,
        ipv6_link_local: bool,
        port: Option<BridgePortFlags>,
    ) -> [Self; 2] {
        let setup = LinkChange {
            alias: Some(alias),
            ipv6_link_local: Some(ipv6_link_local),
            port,
            ..LinkChange::default()
        };
        let up = LinkChange {
            up: Some(true),
            ..LinkChange::default()
        };
        [
            Self::set_link(index, name, &setup),
            Self::set_link(index, name, &up),
        ]
    }

    pub fn delete_link(index: u32) -> Self {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        Request {
            msg: Msg::DelLink(msg),
            flags: CHANGE,
        }
    }

    fn address(index: u32, net: &IpNet) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = net.prefix_len();
        msg.header.family = family(net.addr());
        msg.attributes.push(AddressAttribute::Local(net.addr()));
        msg.attributes.push(AddressAttribute::Address(net.addr()));
        msg
    }

    /// Adds an address marked with netd's protocol number, so that netd can
    /// tell its own addresses on links it does not own (such as `lo`).
    /// IPv6 addresses skip duplicate address detection: netd validated them
    /// against the whole config, and DAD would leave them unusable
    /// ("tentative") for a second after every apply.
    pub fn add_address(index: u32, net: &IpNet) -> Self {
        let mut msg = Self::address(index, net);
        if net.addr().is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                NETD_PROTO,
            )));
        Request {
            msg: Msg::NewAddress(msg),
            flags: CREATE,
        }
    }

    pub fn delete_address(index: u32, net: &IpNet) -> Self {
        Request {
            msg: Msg::DelAddress(Self::address(index, net)),
            flags: CHANGE,
        }
    }

    fn route(route: &Route, oif: Option<u32>) -> RouteMessage {
        let mut msg = RouteMessage::default();
        let dst = route.destination;
        msg.header.address_family = family(dst.addr());
        msg.header.destination_prefix_length = dst.prefix_len();
        msg.header.protocol = RouteProtocol::Other(NETD_PROTO);
        msg.header.kind = RouteType::Unicast;
        // Without a gateway the destination is on the link itself.
        msg.header.scope = if route.gateway.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        // The header's table field is 8 bits; RTA_TABLE carries the full id.
        msg.header.table = u8::try_from(route.table).unwrap_or(0);
        msg.attributes.push(RouteAttribute::Table(route.table));
        if dst.prefix_len() > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(dst.addr())));
        }
        if let Some(gw) = route.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(oif) = oif {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        if let Some(metric) = route.metric {
            msg.attributes.push(RouteAttribute::Priority(metric));
        }
        msg
    }

    /// `oif` is the ifindex of `route.device` inside the namespace.
    pub fn add_route(route: &Route, oif: Option<u32>) -> Self {
        Request {
            msg: Msg::NewRoute(Self::route(route, oif)),
            flags: CREATE,
        }
    }

    /// The same request, replacing what the kernel has under the same key
    /// (a route's destination, table and metric) instead of failing.
    pub fn replacing(self) -> Self {
        Request {
            flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
            ..self
        }
    }

    pub fn delete_route(route: &Route, oif: Option<u32>) -> Self {
        Request {
            msg: Msg::DelRoute(Self::route(route, oif)),
            flags: CHANGE,
        }
    }
}

fn family(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// A short, stable rendering used by the recording fake and in logs.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, body) = match &self.msg {
            Msg::NewLink(m) if self.flags & NLM_F_CREATE != 0 => (
                "newlink",
                format!("{:?} {:?}", m.header.index, m.attributes),
            ),
            Msg::NewLink(m) | Msg::SetLink(m) => (
                "setlink",
                format!(
                    "{:?} {:?} {:?}",
                    m.header.index, m.header.flags, m.attributes
                ),
            ),
            Msg::DelLink(m) => ("dellink", format!("{}", m.header.index)),
            Msg::NewAddress(m) => (
                "newaddr",
                format!("{} {:?}", m.header.index, m.attributes.first()),
            ),
            Msg::DelAddress(m) => (
                "deladdr",
                format!("{} {:?}", m.header.index, m.attributes.first()),
            ),
            Msg::NewRoute(m) if self.flags & NLM_F_REPLACE != 0 => {
                ("replaceroute", format!("{:?}", m.attributes))
            }
            Msg::NewRoute(m) => ("newroute", format!("{:?}", m.attributes)),
            Msg::DelRoute(m) => ("delroute", format!("{:?}", m.attributes)),
            other => ("other", format!("{other:?}")),
        };
        write!(f, "{op} {body}")
    }
}

#[cfg(test)]
mod tests;
