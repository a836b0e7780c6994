//! One regression test per class of situation explain once got
//! confidently wrong: each is modelled, or answered undetermined with the
//! reason. Fixtures are testdata/firewall/class-*.nft, loaded by
//! make-fixtures.sh; netd's own table (netd-only) is added by `ex`.

use super::tests::*;
use super::*;

fn decided(e: &Explanation) -> &Decided {
    e.decided_by
        .as_ref()
        .unwrap_or_else(|| panic!("nothing decided:\n{}", e.text()))
}

#[test]
fn netdev_ingress_drop_on_the_uplink() {
    let rs = fixture("class-ingress-netdev");
    let e = ex(&rs, &web4());
    assert_rule(dropped_by(&e), "edge", "in", "tcp dport 8080 drop");
    assert_eq!(decided(&e).hook, Hook::Ingress);
    // Coming in by another interface, the chain does not see it.
    let mut other = web4();
    other.iif = Iface::Named("eth1".into());
    assert_eq!(ex(&rs, &other).verdict, FlowVerdict::Accepted);
    // By an interface not known: it may or may not be eth0.
    let mut unknown = web4();
    unknown.iif = Iface::Unknown {
        not: vec!["lo".into()],
    };
    assert_eq!(ex(&rs, &unknown).verdict, FlowVerdict::Undetermined);
}

#[test]
fn inet_ingress_drop_by_source() {
    let rs = fixture("class-ingress-inet");
    let e = ex(&rs, &web4());
    assert_rule(dropped_by(&e), "edge", "in", "ip saddr 203.0.113.0/24 drop");
    // IPv6 does not match an ip saddr rule.
    assert_eq!(ex(&rs, &web6()).verdict, FlowVerdict::Accepted);
}

#[test]
fn notrack_ahead_of_conntrack_keeps_netds_dnat_away() {
    let e = ex(&fixture("class-notrack"), &web4());
    // `ct state new drop` before conntrack never matches; notrack decides.
    assert_rule(dropped_by(&e), "raw", "pre", "tcp dport 8080 notrack");
    assert!(
        e.notes.iter().any(|n| n.contains("untracked")),
        "{:?}",
        e.notes
    );
}

#[test]
fn limit_over_drops_only_above_the_rate() {
    let e = ex(&fixture("class-limit-over"), &web4());
    assert_eq!(e.verdict, FlowVerdict::Accepted, "{}", e.text());
    let d = accept_decision(chain_outcome(&e, Hook::Forward, "f", "forward"));
    assert_rule(
        d,
        "f",
        "forward",
        "tcp dport 80 limit rate 100/second accept",
    );
}

#[test]
fn reply_drop_in_prerouting() {
    let e = ex(&fixture("class-reply-drop"), &web4());
    assert_eq!(e.verdict, FlowVerdict::Dropped, "{}", e.text());
    let d = decided(&e);
    assert_eq!((d.packet, d.hook), (Phase::Reply, Hook::Prerouting));
    assert!(
        e.text().contains("verdict: DROPPED (reply)"),
        "{}",
        e.text()
    );
    assert_eq!(
        commands(&e),
        ["nft insert rule inet f pre position 2 ct state established,related accept"]
    );
    // UDP has no SYN-ACK.
    let mut udp = remote("10.88.0.3", 53, 5353);
    udp.proto = crate::model::Proto::Udp;
    assert_eq!(
        ex(&fixture("class-reply-drop"), &udp).verdict,
        FlowVerdict::Accepted
    );
}

#[test]
fn prerouting_policy_drop_meets_the_reply() {
    let rs = fixture("class-prerouting-policy-drop");
    let e = ex(&rs, &web4());
    let d = decided(&e);
    assert_eq!((e.verdict, d.packet), (FlowVerdict::Dropped, Phase::Reply));
    // The host's own connection: its reply comes in by the bridge as well.
    let e = ex(&rs, &from_host(web4()));
    assert_eq!(e.verdict, FlowVerdict::Dropped, "{}", e.text());
    assert_eq!(decided(&e).packet, Phase::Reply);
}

#[test]
fn input_drop_meets_only_the_hosts_own_connections() {
    let rs = fixture("class-input-drop");
    assert_eq!(ex(&rs, &web4()).verdict, FlowVerdict::Accepted);
    let e = ex(&rs, &from_host(web4()));
    let d = decided(&e);
    assert_eq!(
        (e.verdict, d.packet, d.hook),
        (FlowVerdict::Dropped, Phase::Reply, Hook::Input)
    );
}

#[test]
fn foreign_dnat_at_netds_priority_is_undetermined() {
    let e = ex(&fixture("class-dnat-same-prio"), &web4());
    assert_eq!(e.verdict, FlowVerdict::Undetermined, "{}", e.text());
    assert!(
        host_reasons(&e).iter().any(|r| r.contains("same priority")),
        "{:?}",
        e.host
    );
}

#[test]
fn foreign_dnat_that_may_match_first_is_undetermined() {
    let e = ex(&fixture("class-dnat-maybe"), &web4());
    assert_eq!(e.verdict, FlowVerdict::Undetermined, "{}", e.text());
    assert!(
        host_reasons(&e).iter().any(|r| r.contains("may rewrite")),
        "{:?}",
        e.host
    );
}

#[test]
fn missing_netd_table_drops() {
    let e = explain(&fixture("debian-default"), &web4(), &facts());
    assert_eq!(e.verdict, FlowVerdict::Dropped, "{}", e.text());
    assert_eq!(e.decided_by, None);
    assert!(host_reasons(&e)[0].contains("table inet netd is not loaded"));
}

#[test]
fn forwarding_off() {
    let rs = fixture("netd-only");
    let mut f = facts();
    f.forwarding_v4.insert("eth0".into(), false);
    let e = explain(&rs, &web4(), &f);
    assert_eq!(e.verdict, FlowVerdict::Dropped, "{}", e.text());
    assert!(host_reasons(&e)[0].contains("forwarding is off on the client's interface eth0"));
    // Another client interface forwards; the host's own connections are
    // not forwarded at all.
    let mut other = web4();
    other.iif = Iface::Named("eth1".into());
    assert_eq!(explain(&rs, &other, &f).verdict, FlowVerdict::Accepted);
    assert_eq!(
        explain(&rs, &from_host(web4()), &f).verdict,
        FlowVerdict::Accepted
    );
    // Interface not known, and interfaces disagree: undetermined.
    f.forwarding_v4.insert("eth1".into(), true);
    let mut unknown = web4();
    unknown.iif = Iface::Unknown {
        not: vec!["lo".into(), "br-demo".into()],
    };
    assert_eq!(
        explain(&rs, &unknown, &f).verdict,
        FlowVerdict::Undetermined
    );

    let mut f = facts();
    f.forwarding_v6 = Some(false);
    assert_eq!(explain(&rs, &web6(), &f).verdict, FlowVerdict::Dropped);
    assert_eq!(explain(&rs, &web4(), &f).verdict, FlowVerdict::Accepted);
}

#[test]
fn route_localnet_off_drops_loopback_connections() {
    let rs = fixture("netd-only");
    let mut f = facts();
    f.route_localnet.insert("all".into(), false);
    f.route_localnet.insert("br-demo".into(), false);
    let e = explain(&rs, &from_host(web4()), &f);
    assert_eq!(e.verdict, FlowVerdict::Dropped, "{}", e.text());
    assert!(host_reasons(&e)[0].contains("route_localnet"));
    f.route_localnet.insert("br-demo".into(), true);
    assert_eq!(
        explain(&rs, &from_host(web4()), &f).verdict,
        FlowVerdict::Accepted
    );
}

#[test]
fn ipv6_loopback_cannot_be_published() {
    let e = ex(&fixture("netd-only"), &from_host(web6()));
    assert_eq!(e.verdict, FlowVerdict::Dropped, "{}", e.text());
    assert!(host_reasons(&e)[0].contains("IPv6 has no route_localnet"));
}

#[test]
fn active_iptables_legacy_table_is_undetermined() {
    let rs = fixture("netd-only");
    let mut f = facts();
    f.legacy.push(LegacyTable {
        family: Family::Ip,
        name: "filter".into(),
        contents: Some(LegacyContents {
            rules: 2,
            non_accept_policies: vec!["FORWARD".into()],
        }),
    });
    let e = explain(&rs, &web4(), &f);
    assert_eq!(e.verdict, FlowVerdict::Undetermined, "{}", e.text());
    assert!(host_reasons(&e)[0].contains("iptables-legacy table ip filter"));
    // IPv4's legacy table says nothing about IPv6.
    assert_eq!(explain(&rs, &web6(), &f).verdict, FlowVerdict::Accepted);
    // An empty table with ACCEPT policies changes nothing.
    f.legacy[0].contents = Some(LegacyContents {
        rules: 0,
        non_accept_policies: Vec::new(),
    });
    assert_eq!(explain(&rs, &web4(), &f).verdict, FlowVerdict::Accepted);
}

#[test]
fn flow_json_has_one_type_per_field() {
    let e = ex(&fixture("netd-only"), &from_host(web4()));
    let json = serde_json::to_value(&e.flow).expect("json");
    for key in ["source", "host", "target", "iif", "bridge"] {
        assert!(json[key].is_string(), "{key}: {}", json[key]);
    }
    let mut unknown = web4();
    unknown.iif = Iface::Unknown {
        not: vec!["lo".into()],
    };
    assert_eq!(serde_json::to_value(&unknown).expect("json")["iif"], "*");
}

#[test]
fn foreign_dnat_to_the_same_target_is_no_diversion() {
    let e = ex(&fixture("class-dnat-same-target"), &web4());
    assert_eq!(e.verdict, FlowVerdict::Accepted, "{}", e.text());
}

#[test]
fn output_chains_see_lo_even_after_netds_dnat() {
    let e = ex(&fixture("class-output-oif"), &from_host(web4()));
    assert_eq!(e.verdict, FlowVerdict::Accepted, "{}", e.text());
}

#[test]
fn tcp_reset_rejects_only_tcp() {
    let rs = fixture("class-reject-tcp-reset");
    let e = ex(&rs, &from_host(web4()));
    assert_eq!(
        (e.verdict, decided(&e).packet),
        (FlowVerdict::Dropped, Phase::Reply)
    );
    let mut udp = from_host(remote("10.88.0.3", 53, 5353));
    udp.proto = crate::model::Proto::Udp;
    assert_eq!(
        ex(&rs, &udp).verdict,
        FlowVerdict::Accepted,
        "{}",
        ex(&rs, &udp).text()
    );
}
