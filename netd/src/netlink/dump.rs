//! Dumps of links, addresses and routes, turned into netd's observed types.

use futures::StreamExt;
use ipnet::IpNet;
use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Msg};
use rtnetlink::Handle;

use crate::model::{MacAddr, Route};
use crate::observe::{ObservedAddr, ObservedLink, ObservedRoute};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("netlink dump failed: {0}")]
    Kernel(String),
    #[error("netlink connection closed during a dump")]
    Closed,
}

/// The kernel sets NLM_F_DUMP_INTR when the table changed during the dump; the
/// answer may then be inconsistent, so the dump is retried a few times.
const NLM_F_DUMP_INTR: u16 = 0x10;

/// Runs a dump and keeps what `parse` makes of each message, as it arrives:
/// a thousand parsed link messages with all their attributes would
/// otherwise be the largest thing netd ever holds.
async fn dump<T>(
    handle: &Handle,
    request: Msg,
    mut parse: impl FnMut(Msg) -> Option<T>,
) -> Result<Vec<T>, DumpError> {
    for _ in 0..5 {
        let mut handle = handle.clone();
        let mut msg = NetlinkMessage::from(request.clone());
        msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut responses = handle.request(msg).map_err(|_| DumpError::Closed)?;
        let mut out = Vec::new();
        let mut interrupted = false;
        while let Some(msg) = responses.next().await {
            interrupted |= msg.header.flags & NLM_F_DUMP_INTR != 0;
            match msg.payload {
                NetlinkPayload::InnerMessage(m) => out.extend(parse(m)),
                NetlinkPayload::Error(e) if e.code.is_some() => {
                    return Err(DumpError::Kernel(e.to_io().to_string()));
                }
                _ => {}
            }
        }
        if !interrupted {
            return Ok(out);
        }
    }
    Err(DumpError::Kernel(
        "dump kept being interrupted by concurrent changes".into(),
    ))
}

pub async fn dump_links(handle: &Handle) -> Result<Vec<ObservedLink>, DumpError> {
    let mut req = LinkMessage::default();
    // Counters are of no use to netd and are most of each link's message.
    req.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    dump(handle, Msg::GetLink(req), |m| match m {
        Msg::NewLink(l) => Some(parse_link(l)),
        _ => None,
    })
    .await
}

fn parse_link(msg: LinkMessage) -> ObservedLink {
    let mut link = ObservedLink {
        index: msg.header.index,
        up: msg.header.flags.contains(LinkFlags::Up),
        ..ObservedLink::default()
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::IfAlias(a) => link.alias = Some(a),
            LinkAttribute::Mtu(m) => link.mtu = m,
            LinkAttribute::Controller(m) => link.master = Some(m),
            LinkAttribute::Address(a) if a.len() == 6 => {
                link.mac = Some(MacAddr([a[0], a[1], a[2], a[3], a[4], a[5]]));
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(kind) = info {
                        link.kind = Some(kind_name(&kind));
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::Veth => "veth".into(),
        InfoKind::Bridge => "bridge".into(),
        InfoKind::Dummy => "dummy".into(),
        other => other.to_string(),
    }
}

pub async fn dump_addresses(handle: &Handle) -> Result<Vec<ObservedAddr>, DumpError> {
    dump(
        handle,
        Msg::GetAddress(AddressMessage::default()),
        |m| match m {
            Msg::NewAddress(a) => parse_address(a),
            _ => None,
        },
    )
    .await
}

fn parse_address(msg: AddressMessage) -> Option<ObservedAddr> {
    let mut local = None;
    let mut address = None;
    let mut proto = 0;
    let mut tentative = msg.header.flags.contains(AddressHeaderFlags::Tentative);
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(a),
            AddressAttribute::Address(a) => address = Some(a),
            AddressAttribute::Protocol(p) => proto = u8::from(p),
            AddressAttribute::Flags(f) => {
                tentative |= f.contains(netlink_packet_route::address::AddressFlags::Tentative)
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address on point-to-point links;
    // otherwise the two are equal and v6 sends only IFA_ADDRESS.
    let ip = local.or(address)?;
    Some(ObservedAddr {
        index: msg.header.index,
        net: IpNet::new(ip, msg.header.prefix_len).ok()?,
        proto,
        tentative,
    })
}

pub async fn dump_routes(handle: &Handle) -> Result<Vec<ObservedRoute>, DumpError> {
    let mut routes = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut req = RouteMessage::default();
        req.header.address_family = family;
        let found = dump(handle, Msg::GetRoute(req), |m| match m {
            Msg::NewRoute(r) => parse_route(r),
            _ => None,
        });
        routes.extend(found.await?);
    }
    Ok(routes)
}

fn ip_of(addr: RouteAddress) -> Option<std::net::IpAddr> {
    match addr {
        RouteAddress::Inet(a) => Some(a.into()),
        RouteAddress::Inet6(a) => Some(a.into()),
        _ => None,
    }
}

fn parse_route(msg: RouteMessage) -> Option<ObservedRoute> {
    let family_zero: std::net::IpAddr = match msg.header.address_family {
        AddressFamily::Inet => std::net::Ipv4Addr::UNSPECIFIED.into(),
        AddressFamily::Inet6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
        _ => return None,
    };
    let mut dst = family_zero;
    let mut gateway = None;
    let mut oif = None;
    let mut metric = None;
    let mut table = u32::from(msg.header.table);
    for attr in msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => dst = ip_of(a)?,
            RouteAttribute::Gateway(a) => gateway = ip_of(a),
            RouteAttribute::Oif(i) => oif = Some(i),
            RouteAttribute::Priority(p) => metric = Some(p),
            RouteAttribute::Table(t) => table = t,
            _ => {}
        }
    }
    Some(ObservedRoute {
        route: Route {
            destination: IpNet::new(dst, msg.header.destination_prefix_length).ok()?,
            gateway,
            device: None,
            table,
            metric,
        },
        oif,
        proto: proto_number(msg.header.protocol),
    })
}

fn proto_number(p: RouteProtocol) -> u8 {
    u8::from(p)
}
