//! Dumps of links, addresses and routes, turned into netd's observed types.

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, InfoBridgePort, InfoKind, InfoPortData, LinkAttribute,
    LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Msg};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

use crate::model::{MacAddr, Route};
use crate::observe::{ObservedAddr, ObservedLink, ObservedRoute};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("netlink dump failed: {0}")]
    Kernel(String),
    #[error("netlink socket: {0}")]
    Socket(#[from] std::io::Error),
}

/// The kernel sets NLM_F_DUMP_INTR when the table changed during the dump; the
/// answer may then be inconsistent, so the dump is retried.
const NLM_F_DUMP_INTR: u16 = 0x10;

/// Dumps tried before giving up. Another program creating links in a tight
/// loop interrupts dump after dump, so the retries back off (1 ms doubling
/// to 200 ms, about 5 s in all) to find a quiet moment.
const DUMP_ATTEMPTS: u32 = 30;

fn backoff(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis((1u64 << attempt.min(8)).min(200))
}

/// A plain blocking netlink socket for dumps, used on the namespace thread
/// right after it entered a namespace: reading a namespace then costs a
/// setns, a socket and four dumps, with no connection kept open and no
/// parsed message held longer than it takes to turn it into netd's types.
pub struct DumpSocket {
    socket: Socket,
    buf: Vec<u8>,
    seq: u32,
}

impl DumpSocket {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, DumpError> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(DumpSocket {
            socket,
            buf: Vec::with_capacity(64 * 1024),
            seq: 0,
        })
    }

    fn dump<T>(
        &mut self,
        request: &Msg,
        mut parse: impl FnMut(Msg) -> Option<T>,
    ) -> Result<Vec<T>, DumpError> {
        for attempt in 0..DUMP_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(backoff(attempt - 1));
            }
            self.seq += 1;
            let mut msg = NetlinkMessage::from(request.clone());
            msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
            msg.header.sequence_number = self.seq;
            msg.finalize();
            let mut out_buf = vec![0u8; msg.buffer_len()];
            msg.serialize(&mut out_buf);
            self.socket.send(&out_buf, 0)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            'recv: loop {
                self.buf.clear();
                self.socket.recv(&mut self.buf, 0)?;
                let mut offset = 0;
                while offset < self.buf.len() {
                    let bytes = &self.buf[offset..];
                    let reply = NetlinkMessage::<Msg>::deserialize(bytes)
                        .map_err(|e| DumpError::Kernel(format!("cannot parse a reply: {e}")))?;
                    let len = reply.header.length as usize;
                    interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                    if reply.header.sequence_number == self.seq {
                        match reply.payload {
                            NetlinkPayload::InnerMessage(m) => out.extend(parse(m)),
                            NetlinkPayload::Done(_) => break 'recv,
                            NetlinkPayload::Error(e) if e.code.is_some() => {
                                return Err(DumpError::Kernel(e.to_io().to_string()));
                            }
                            _ => {}
                        }
                    }
                    if len == 0 {
                        break;
                    }
                    offset += len.next_multiple_of(4);
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

    pub fn links(&mut self) -> Result<Vec<ObservedLink>, DumpError> {
        let mut req = LinkMessage::default();
        // Counters are of no use to netd and are most of each link's message.
        req.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        self.dump(&Msg::GetLink(req), |m| match m {
            Msg::NewLink(l) => Some(parse_link(l)),
            _ => None,
        })
    }

    pub fn addresses(&mut self) -> Result<Vec<ObservedAddr>, DumpError> {
        self.dump(&Msg::GetAddress(AddressMessage::default()), |m| match m {
            Msg::NewAddress(a) => parse_address(a),
            _ => None,
        })
    }

    pub fn routes(&mut self) -> Result<Vec<ObservedRoute>, DumpError> {
        let mut routes = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut req = RouteMessage::default();
            req.header.address_family = family;
            routes.extend(self.dump(&Msg::GetRoute(req), |m| match m {
                Msg::NewRoute(r) => parse_route(r),
                _ => None,
            })?);
        }
        Ok(routes)
    }
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
            LinkAttribute::AfSpecUnspec(specs) => {
                for spec in specs {
                    if let AfSpecUnspec::Inet6(attrs) = spec {
                        for a in attrs {
                            if let AfSpecInet6::AddrGenMode(mode) = a {
                                link.addr_gen_mode = Some(u8::from(&mode));
                            }
                        }
                    }
                }
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(kind) => link.kind = Some(kind_name(&kind)),
                        LinkInfo::PortData(InfoPortData::BridgePort(attrs)) => {
                            for a in attrs {
                                match a {
                                    InfoBridgePort::HairpinMode(v) => link.hairpin = Some(v),
                                    InfoBridgePort::Isolated(v) => link.isolated = Some(v),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
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
