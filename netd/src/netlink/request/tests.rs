use super::*;
use crate::model::stable_mac;

fn link_msg(req: &Request) -> &LinkMessage {
    match &req.msg {
        Msg::NewLink(m) | Msg::SetLink(m) => m,
        other => panic!("not a link message: {other:?}"),
    }
}

fn info(msg: &LinkMessage) -> &[LinkInfo] {
    msg.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(i) => Some(i.as_slice()),
            _ => None,
        })
        .expect("link info")
}

#[test]
fn dummy_request_names_kind_alias_mac_index_and_is_exclusive() {
    let mac = stable_mac(&["svc", "anycast0"]);
    let req = Request::create_dummy("anycast0", mac, Some(1400), 7);
    assert_eq!(req.flags, CREATE);
    let msg = link_msg(&req);
    assert_eq!(msg.header.index, 7);
    assert!(!msg.header.flags.contains(LinkFlags::Up));
    assert_eq!(info(msg), &[LinkInfo::Kind(InfoKind::Dummy)]);
    assert!(
        msg.attributes
            .contains(&LinkAttribute::IfName("anycast0".into()))
    );
    assert!(
        msg.attributes
            .contains(&LinkAttribute::Address(mac.0.to_vec()))
    );
    assert!(msg.attributes.contains(&LinkAttribute::Mtu(1400)));
}

#[test]
fn veth_peer_goes_into_the_namespace_with_its_index() {
    let spec = VethSpec {
        host_name: "nd0123456789",
        host_index: 40,
        host_mac: stable_mac(&["web", "eth0", "host"]),
        bridge_index: 4,
        peer_name: "eth0",
        peer_mac: stable_mac(&["web", "eth0"]),
        peer_index: 2,
        peer_netns: 9,
        mtu: None,
    };
    let req = Request::create_veth(&spec);
    let host = link_msg(&req);
    assert!(host.attributes.contains(&LinkAttribute::Controller(4)));
    let Some(LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer)))) = info(host).get(1) else {
        panic!("no veth peer in {host:?}");
    };
    assert_eq!(peer.header.index, 2);
    assert_eq!(
        host.header.index, 40,
        "the peer's index is only honoured with the host's"
    );
    assert!(
        !peer.header.flags.contains(LinkFlags::Up),
        "a veth peer cannot open before the pair exists"
    );
    assert!(peer.attributes.contains(&LinkAttribute::NetNsFd(9)));
    assert!(
        peer.attributes
            .contains(&LinkAttribute::IfName("eth0".into()))
    );
}

#[test]
fn routes_carry_netd_protocol_and_full_table_id() {
    let route = Route {
        destination: "198.51.100.0/24".parse().unwrap(),
        gateway: Some("10.0.0.1".parse().unwrap()),
        device: None,
        table: 1000,
        metric: Some(10),
    };
    let Msg::NewRoute(msg) = Request::add_route(&route, None).msg else {
        panic!("not a route");
    };
    assert_eq!(msg.header.protocol, RouteProtocol::Other(NETD_PROTO));
    assert_eq!(msg.header.table, 0);
    assert!(msg.attributes.contains(&RouteAttribute::Table(1000)));
    assert!(msg.attributes.contains(&RouteAttribute::Priority(10)));
    assert_eq!(msg.header.scope, RouteScope::Universe);
}

#[test]
fn default_route_has_no_destination_attribute() {
    let route = Route {
        destination: "::/0".parse().unwrap(),
        gateway: None,
        device: Some("eth0".into()),
        table: 254,
        metric: None,
    };
    let Msg::NewRoute(msg) = Request::add_route(&route, Some(3)).msg else {
        panic!("not a route");
    };
    assert_eq!(msg.header.address_family, AddressFamily::Inet6);
    assert!(
        !msg.attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_)))
    );
    assert_eq!(msg.header.scope, RouteScope::Link);
    assert!(msg.attributes.contains(&RouteAttribute::Oif(3)));
}

#[test]
fn addresses_are_marked_with_netd_protocol() {
    let net: IpNet = "192.0.2.10/32".parse().unwrap();
    let Msg::NewAddress(msg) = Request::add_address(1, &net).msg else {
        panic!("not an address");
    };
    assert!(
        msg.attributes
            .contains(&AddressAttribute::Protocol(AddressProtocol::Other(
                NETD_PROTO
            )))
    );
    assert_eq!(msg.header.prefix_len, 32);
}

#[test]
fn set_link_by_name_carries_alias() {
    let change = LinkChange {
        up: Some(true),
        alias: Some("netd:bridge:br0".into()),
        ..LinkChange::default()
    };
    let req = Request::set_link(0, Some("br0"), &change);
    let msg = link_msg(&req);
    assert_eq!(msg.header.index, 0);
    assert!(
        msg.attributes
            .contains(&LinkAttribute::IfName("br0".into()))
    );
    assert!(
        msg.attributes
            .contains(&LinkAttribute::IfAlias("netd:bridge:br0".into()))
    );
    assert!(msg.header.flags.contains(LinkFlags::Up));
}
