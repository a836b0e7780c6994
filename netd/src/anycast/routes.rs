//! The routes of an anycast service: announce routes (`PREFIX dev lo table
//! N`), which netd adds and deletes as health changes, and for an FRR
//! speaker the AnyIP `local` routes that serve the prefixes at all times.
//! All carry `ANNOUNCE_PROTO`, which reconcile neither adds nor prunes.
//! Pure: requests are built here and sent by `announcer`.

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage as Msg};

use crate::model::{ANNOUNCE_PROTO, Anycast, Speaker};
use crate::netlink::Request;

/// `lo` has this index in every network namespace.
pub const LOOPBACK_INDEX: u32 = 1;
pub const LOCAL_TABLE: u32 = 255;

/// One route netd keeps for a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceRoute {
    pub prefix: IpNet,
    pub table: u32,
    /// An AnyIP route in table local (the prefix is served), rather than
    /// an announce route.
    pub local: bool,
}

/// The routes that announce the service: present exactly while announced.
pub fn announce_routes(service: &Anycast) -> Vec<ServiceRoute> {
    service
        .prefixes
        .iter()
        .map(|p| ServiceRoute {
            prefix: p.trunc(),
            table: service.announce_table_for(p),
            local: false,
        })
        .collect()
}

/// The routes that let the namespace accept traffic to the prefixes, for
/// speakers that cannot have them as addresses on `lo`.
pub fn serve_routes(service: &Anycast) -> Vec<ServiceRoute> {
    if service.speaker != Speaker::Frr {
        return Vec::new();
    }
    service
        .prefixes
        .iter()
        .map(|p| ServiceRoute {
            prefix: p.trunc(),
            table: LOCAL_TABLE,
            local: true,
        })
        .collect()
}

fn message(route: &ServiceRoute) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let dst = route.prefix;
    msg.header.address_family = match dst {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    };
    msg.header.destination_prefix_length = dst.prefix_len();
    msg.header.protocol = RouteProtocol::Other(ANNOUNCE_PROTO);
    if route.local {
        msg.header.kind = RouteType::Local;
        msg.header.scope = RouteScope::Host;
    } else {
        msg.header.kind = RouteType::Unicast;
        msg.header.scope = RouteScope::Link;
    }
    msg.header.table = u8::try_from(route.table).unwrap_or(0);
    msg.attributes.push(RouteAttribute::Table(route.table));
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(dst.addr())));
    msg.attributes.push(RouteAttribute::Oif(LOOPBACK_INDEX));
    msg
}

/// Adds the route, or replaces what has the same key: announcing twice,
/// or re-asserting, is not an error.
pub fn add(route: &ServiceRoute) -> Request {
    Request {
        msg: Msg::NewRoute(message(route)),
        flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
    }
}

pub fn delete(route: &ServiceRoute) -> Request {
    Request {
        msg: Msg::DelRoute(message(route)),
        flags: NLM_F_REQUEST | NLM_F_ACK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DEFAULT_ANNOUNCE_TABLE, MAIN_TABLE, Routing};

    fn service(speaker: Speaker) -> Anycast {
        Anycast {
            name: "dns".into(),
            namespace: "svc".into(),
            prefixes: vec![
                "203.0.113.53/32".parse().unwrap(),
                "2001:db8:53::53/128".parse().unwrap(),
            ],
            announce_table: DEFAULT_ANNOUNCE_TABLE,
            withdraw_on_exit: true,
            process: None,
            speaker,
            checks: Vec::new(),
            routing: Routing::default(),
        }
    }

    #[test]
    fn bird_announces_both_families_from_the_announce_table() {
        let routes = announce_routes(&service(Speaker::Bird));
        assert!(
            routes
                .iter()
                .all(|r| r.table == DEFAULT_ANNOUNCE_TABLE && !r.local)
        );
        assert!(
            serve_routes(&service(Speaker::Bird)).is_empty(),
            "lo addresses serve them"
        );
    }

    #[test]
    fn frr_announces_ipv6_from_main_and_serves_with_local_routes() {
        let s = service(Speaker::Frr);
        let tables: Vec<u32> = announce_routes(&s).iter().map(|r| r.table).collect();
        assert_eq!(tables, [DEFAULT_ANNOUNCE_TABLE, MAIN_TABLE]);
        let serve = serve_routes(&s);
        assert_eq!(serve.len(), 2);
        assert!(serve.iter().all(|r| r.local && r.table == LOCAL_TABLE));
    }

    #[test]
    fn requests_carry_the_announce_protocol_the_table_and_lo() {
        for route in announce_routes(&service(Speaker::Frr))
            .into_iter()
            .chain(serve_routes(&service(Speaker::Frr)))
        {
            let Msg::NewRoute(msg) = add(&route).msg else {
                panic!("not a new route")
            };
            assert_eq!(msg.header.protocol, RouteProtocol::Other(ANNOUNCE_PROTO));
            assert_eq!(msg.header.kind == RouteType::Local, route.local);
            assert!(msg.attributes.contains(&RouteAttribute::Table(route.table)));
            assert!(
                msg.attributes
                    .contains(&RouteAttribute::Oif(LOOPBACK_INDEX))
            );
        }
    }
}
