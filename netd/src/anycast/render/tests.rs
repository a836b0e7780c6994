//! Golden files for the four configs (`netd/testdata/anycast/`, rewritten
//! with `UPDATE_GOLDEN=1 cargo test -p netd anycast::`), and every refusal.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use super::{Daemon, Protocol, RenderError, render};
use crate::model::{
    Anycast, Bgp, DEFAULT_ANNOUNCE_TABLE, Desired, Interface, InterfaceKind, Namespace, Ospf,
    Routing, Speaker, stable_mac,
};
use crate::testutil::golden;

fn net(s: &str) -> IpNet {
    s.parse().expect("test prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// The service of the anycast config format's example: namespace svc on a
/// /31 and a /64 towards the upstream, one v4 and one v6 prefix.
fn desired(speaker: Speaker) -> Desired {
    let mut d = Desired::empty(PathBuf::from("/run/netns"), PathBuf::from("/run/netd"));
    let mut ns = Namespace::empty("svc");
    let prefixes = vec![net("203.0.113.53/32"), net("2001:db8:53::53/128")];
    if speaker == Speaker::Bird {
        ns.loopback = prefixes.clone();
    }
    ns.interfaces.push(Interface {
        name: "eth0".into(),
        kind: InterfaceKind::Veth {
            bridge: "br-up".into(),
            host_name: "veth-svc".into(),
            host_mac: stable_mac(&["svc", "eth0", "host"]),
        },
        addresses: vec![net("198.51.100.1/31"), net("2001:db8:0:1::2/64")],
        mac: stable_mac(&["svc", "eth0"]),
        mtu: None,
        ipv6_link_local: true,
    });
    d.namespaces.insert("svc".into(), ns);
    d.anycast.insert(
        "dns".into(),
        Anycast {
            name: "dns".into(),
            namespace: "svc".into(),
            prefixes,
            announce_table: DEFAULT_ANNOUNCE_TABLE,
            withdraw_on_exit: true,
            process: None,
            speaker,
            checks: Vec::new(),
            routing: Routing {
                router_id: None,
                bgp: Some(Bgp {
                    local_as: 65001,
                    neighbor_as: 65000,
                    neighbors: vec![ip("198.51.100.0"), ip("2001:db8:0:1::1")],
                }),
                ospf: Some(Ospf {
                    area: 0,
                    interfaces: vec!["eth0".into()],
                }),
                bfd: true,
            },
        },
    );
    d
}

fn speaker_of(daemon: Daemon) -> Speaker {
    match daemon {
        Daemon::Bird => Speaker::Bird,
        Daemon::Frr => Speaker::Frr,
    }
}

#[test]
fn the_four_configs_match_their_golden_files() {
    for (daemon, protocol, name) in [
        (Daemon::Bird, Protocol::Bgp, "bird-bgp"),
        (Daemon::Bird, Protocol::Ospf, "bird-ospf"),
        (Daemon::Frr, Protocol::Bgp, "frr-bgp"),
        (Daemon::Frr, Protocol::Ospf, "frr-ospf"),
    ] {
        let d = desired(speaker_of(daemon));
        let text = render(&d, "dns", daemon, protocol).expect("renders");
        golden(&format!("anycast/{name}.conf"), &text);
    }
}

fn edit(daemon: Daemon, change: impl FnOnce(&mut Desired)) -> Desired {
    let mut d = desired(speaker_of(daemon));
    change(&mut d);
    d
}

fn service(d: &mut Desired) -> &mut Anycast {
    d.anycast.get_mut("dns").expect("fixture service")
}

fn error(d: &Desired, daemon: Daemon, protocol: Protocol) -> String {
    let err: RenderError = render(d, "dns", daemon, protocol).expect_err("must be refused");
    err.to_string()
}

#[test]
fn router_id_is_the_configured_one_or_the_first_ipv4_interface_address() {
    let d = edit(Daemon::Bird, |d| {
        service(d).routing.router_id = Some("192.0.2.9".parse().expect("id"));
    });
    let text = render(&d, "dns", Daemon::Bird, Protocol::Bgp).expect("renders");
    assert!(text.contains("\nrouter id 192.0.2.9;\n"), "{text}");

    let d = edit(Daemon::Frr, |d| {
        let ns = d.namespaces.get_mut("svc").expect("svc");
        ns.interfaces[0].addresses = vec![net("2001:db8:0:1::2/64")];
        let svc = service(d);
        svc.prefixes.retain(|p| p.addr().is_ipv6());
        svc.routing.bgp.as_mut().expect("bgp").neighbors = vec![ip("2001:db8:0:1::1")];
    });
    let msg = error(&d, Daemon::Frr, Protocol::Bgp);
    assert!(
        msg.contains("no IPv4 interface address") && msg.contains("router_id"),
        "{msg}"
    );
}

#[test]
fn a_single_family_service_gets_only_that_family() {
    let d = edit(Daemon::Bird, |d| {
        let svc = service(d);
        svc.prefixes.retain(|p| p.addr().is_ipv4());
        svc.routing.bgp.as_mut().expect("bgp").neighbors = vec![ip("198.51.100.0")];
    });
    for daemon in [Daemon::Bird, Daemon::Frr] {
        let mut d = d.clone();
        service(&mut d).speaker = speaker_of(daemon);
        for protocol in [Protocol::Bgp, Protocol::Ospf] {
            let text = render(&d, "dns", daemon, protocol).expect("renders");
            assert!(!text.contains("ipv6"), "{daemon:?} {protocol:?}:\n{text}");
            assert!(!text.contains("ospf6"), "{daemon:?} {protocol:?}:\n{text}");
        }
    }
}

#[test]
fn bfd_off_leaves_out_every_bfd_line() {
    for daemon in [Daemon::Bird, Daemon::Frr] {
        let d = edit(daemon, |d| service(d).routing.bfd = false);
        for protocol in [Protocol::Bgp, Protocol::Ospf] {
            let text = render(&d, "dns", daemon, protocol).expect("renders");
            let config: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
                .collect();
            assert!(
                config.iter().all(|l| !l.contains("bfd")),
                "{daemon:?} {protocol:?}:\n{text}"
            );
        }
    }
}

#[test]
fn several_prefixes_of_a_family_are_all_exported_and_only_they() {
    let d = edit(Daemon::Bird, |d| {
        service(d).prefixes.push(net("192.0.2.0/24"));
    });
    let text = render(&d, "dns", Daemon::Bird, Protocol::Bgp).expect("renders");
    assert!(
        text.contains("export where net ~ [ 203.0.113.53/32, 192.0.2.0/24 ];"),
        "{text}"
    );
    let d = edit(Daemon::Frr, |d| {
        service(d).prefixes.push(net("192.0.2.0/24"));
    });
    let text = render(&d, "dns", Daemon::Frr, Protocol::Bgp).expect("renders");
    assert!(
        text.contains("ip prefix-list ANYCAST-4 seq 10 permit 192.0.2.0/24"),
        "{text}"
    );
}

#[test]
fn the_frr_ipv6_family_never_redistributes_a_table() {
    let d = desired(Speaker::Frr);
    let text = render(&d, "dns", Daemon::Frr, Protocol::Bgp).expect("renders");
    let v6 = text
        .split(" address-family ipv6 unicast")
        .nth(1)
        .expect("an ipv6 address family");
    assert!(!v6.contains("redistribute table"), "{text}");
    assert!(
        v6.contains("redistribute kernel route-map ANYCAST-6"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.trim() == "exit"), "{text}");
}

#[test]
fn refusals_say_what_to_change() {
    let cases: Vec<(Desired, Daemon, Protocol, &str)> = vec![
        (
            desired(Speaker::Bird),
            Daemon::Frr,
            Protocol::Bgp,
            "speaker = \"bird\"",
        ),
        (
            desired(Speaker::Frr),
            Daemon::Bird,
            Protocol::Bgp,
            "set speaker = \"bird\"",
        ),
        (
            edit(Daemon::Bird, |d| service(d).routing.bgp = None),
            Daemon::Bird,
            Protocol::Bgp,
            "has no [anycast.dns.bgp] section; add one, or ask for `--ospf`",
        ),
        (
            edit(Daemon::Bird, |d| service(d).routing.ospf = None),
            Daemon::Bird,
            Protocol::Ospf,
            "has no [anycast.dns.ospf] section",
        ),
        (
            edit(Daemon::Bird, |d| {
                service(d).routing.bgp.as_mut().expect("bgp").neighbors = vec![ip("10.9.9.9")];
            }),
            Daemon::Bird,
            Protocol::Bgp,
            "neighbor 10.9.9.9 of [anycast.dns.bgp] is in none of the subnets",
        ),
        (
            edit(Daemon::Bird, |d| {
                service(d).routing.bgp.as_mut().expect("bgp").neighbors = vec![ip("198.51.100.1")];
            }),
            Daemon::Bird,
            Protocol::Bgp,
            "is an address of namespace `svc` itself",
        ),
        (
            edit(Daemon::Bird, |d| {
                service(d).routing.bgp.as_mut().expect("bgp").neighbors = vec![];
            }),
            Daemon::Bird,
            Protocol::Bgp,
            "lists no neighbors",
        ),
        (
            edit(Daemon::Bird, |d| {
                service(d).prefixes.retain(|p| p.addr().is_ipv4())
            }),
            Daemon::Bird,
            Protocol::Bgp,
            "neighbor 2001:db8:0:1::1 of [anycast.dns.bgp] is IPv6, but the service has no IPv6 prefix",
        ),
        (
            edit(Daemon::Bird, |d| {
                service(d).routing.ospf.as_mut().expect("ospf").interfaces = vec!["eth9".into()];
            }),
            Daemon::Bird,
            Protocol::Ospf,
            "`eth9` of [anycast.dns.ospf] is not an interface of namespace `svc`",
        ),
        (
            edit(Daemon::Bird, |d| {
                d.namespaces.get_mut("svc").expect("svc").interfaces[0].ipv6_link_local = false;
            }),
            Daemon::Bird,
            Protocol::Ospf,
            "no IPv6 link-local address",
        ),
        (
            edit(Daemon::Bird, |d| {
                d.namespaces.get_mut("svc").expect("svc").interfaces[0]
                    .addresses
                    .retain(|a| a.addr().is_ipv6());
                service(d).routing.router_id = Some("192.0.2.1".parse().expect("id"));
            }),
            Daemon::Bird,
            Protocol::Ospf,
            "OSPFv2 announces the IPv4 prefixes over `svc/eth0`, which has no IPv4 address",
        ),
        (
            edit(Daemon::Bird, |d| service(d).prefixes.clear()),
            Daemon::Bird,
            Protocol::Bgp,
            "has no prefixes",
        ),
        (
            edit(Daemon::Bird, |d| {
                d.namespaces.get_mut("svc").expect("svc").interfaces[0].name = "eth\"0".into();
            }),
            Daemon::Bird,
            Protocol::Bgp,
            "cannot be written into a routing daemon's config",
        ),
    ];
    for (d, daemon, protocol, want) in cases {
        let msg = error(&d, daemon, protocol);
        assert!(msg.contains(want), "want `{want}` in: {msg}");
    }
}

#[test]
fn an_unknown_service_is_named_with_the_known_ones() {
    let d = desired(Speaker::Bird);
    let err = render(&d, "web", Daemon::Bird, Protocol::Bgp).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "there is no [anycast.web] in the config (services: dns)"
    );
}
