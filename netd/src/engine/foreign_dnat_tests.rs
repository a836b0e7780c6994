//! Other tables' DNATs against real `nft -j` dumps (Docker, podman) and
//! hand-made rules: ports, sets, protocols, addresses and families.

use super::foreign_dnat::foreign_dnats;
use super::port_conflict::{Conflict, PublishedPort};
use crate::firewall::Ruleset;
use crate::model::{PortRange, Proto};

fn fixture(name: &str) -> Ruleset {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/firewall")
        .join(format!("{name}.json"));
    Ruleset::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A ruleset of one `table ip other` whose prerouting nat chain has
/// one rule with `stmts`.
fn other_table(stmts: serde_json::Value) -> Ruleset {
    let chain = serde_json::json!({"chain": {"family": "ip", "table": "other", "name": "pre",
        "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}});
    Ruleset::from_json(&serde_json::json!({"nftables": [
        {"table": {"family": "ip", "name": "other", "handle": 1}},
        chain,
        {"set": {"family": "ip", "table": "other", "name": "ports", "type": "inet_service",
            "handle": 3, "elem": [8080, {"range": [9000, 9010]}]}},
        {"rule": {"family": "ip", "table": "other", "chain": "pre", "handle": 2, "expr": stmts}}
    ]}))
    .unwrap()
}

fn pp(proto: Proto, port: u16, host_address: Option<&str>, ipv6: bool) -> PublishedPort {
    PublishedPort {
        proto,
        port: PortRange::single(port),
        host_address: host_address.map(|a| a.parse().unwrap()),
        ipv6,
    }
}

fn certain(c: &[Conflict]) -> Vec<bool> {
    c.iter()
        .map(|c| match c {
            Conflict::Dnat { certain, .. } => *certain,
            Conflict::Socket { .. } => panic!("a socket conflict from the ruleset"),
        })
        .collect()
}

fn tcp_dport(right: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": right}})
}

fn dnat() -> serde_json::Value {
    serde_json::json!({"dnat": {"addr": "10.0.0.2", "port": 80}})
}

#[test]
fn docker_and_podman_dnats_of_the_port_are_found() {
    let tcp8080 = pp(Proto::Tcp, 8080, None, false);
    for name in ["docker-iptables", "docker-nft", "netavark"] {
        let found = foreign_dnats(&tcp8080, &fixture(name));
        assert_eq!(certain(&found), [true], "{name}: {found:?}");
    }
    let docker = foreign_dnats(&tcp8080, &fixture("docker-iptables"));
    assert!(
        matches!(&docker[0], Conflict::Dnat { table, chain, .. } if table == "nat" && chain == "DOCKER"),
        "{docker:?}"
    );
    for name in ["docker-nft", "netavark"] {
        assert!(foreign_dnats(&pp(Proto::Tcp, 8081, None, false), &fixture(name)).is_empty());
        assert!(foreign_dnats(&pp(Proto::Udp, 8080, None, false), &fixture(name)).is_empty());
    }
    // netavark's DNAT is `dnat ip to`: not an IPv6 publish's.
    assert!(foreign_dnats(&pp(Proto::Tcp, 8080, None, true), &fixture("netavark")).is_empty());
}

#[test]
fn netds_own_dnat_is_no_conflict() {
    let rs = fixture("netd-rendered");
    assert!(foreign_dnats(&pp(Proto::Tcp, 8080, None, false), &rs).is_empty());
}

#[test]
fn port_sets_ranges_and_named_sets_are_read() {
    let p = pp(Proto::Tcp, 9005, None, false);
    let with = |right| {
        foreign_dnats(
            &p,
            &other_table(serde_json::json!([tcp_dport(right), dnat()])),
        )
    };
    assert_eq!(
        certain(&with(serde_json::json!({"range": [9000, 9010]}))),
        [true]
    );
    assert_eq!(
        certain(&with(serde_json::json!({"set": [22, 9005]}))),
        [true]
    );
    assert_eq!(certain(&with(serde_json::json!("@ports"))), [true]);
    assert!(with(serde_json::json!({"set": [22, 80]})).is_empty());
    assert_eq!(certain(&with(serde_json::json!("@unknown"))), [false]);
}

#[test]
fn a_dnat_without_a_port_match_may_take_the_port() {
    let rs = other_table(serde_json::json!([dnat()]));
    assert_eq!(
        certain(&foreign_dnats(&pp(Proto::Udp, 53, None, false), &rs)),
        [false]
    );
    let redirect = other_table(serde_json::json!([{"redirect": {"port": 3128}}]));
    assert_eq!(
        certain(&foreign_dnats(&pp(Proto::Tcp, 80, None, false), &redirect)),
        [false]
    );
}

#[test]
fn other_addresses_protocols_and_families_are_no_conflict() {
    let rule = serde_json::json!([
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.0.2.1"}},
        tcp_dport(serde_json::json!(8080)),
        dnat()
    ]);
    let rs = other_table(rule);
    let found = |p| certain(&foreign_dnats(&p, &rs));
    assert_eq!(
        found(pp(Proto::Tcp, 8080, Some("192.0.2.1"), false)),
        [true]
    );
    assert_eq!(found(pp(Proto::Tcp, 8080, None, false)), [true]);
    assert!(found(pp(Proto::Tcp, 8080, Some("192.0.2.2"), false)).is_empty());
    assert!(found(pp(Proto::Udp, 8080, None, false)).is_empty());
    assert!(
        found(pp(Proto::Tcp, 8080, None, true)).is_empty(),
        "table ip, IPv6 publish"
    );
    let not = other_table(serde_json::json!([
        {"match": {"op": "!=", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}},
        dnat()
    ]));
    assert!(foreign_dnats(&pp(Proto::Tcp, 8080, None, false), &not).is_empty());
}

#[test]
fn snat_and_filter_chains_are_no_conflict() {
    let snat =
        other_table(serde_json::json!([tcp_dport(serde_json::json!(8080)), {"masquerade": null}]));
    assert!(foreign_dnats(&pp(Proto::Tcp, 8080, None, false), &snat).is_empty());
}
