//! `[anycast.NAME]` and its checks.

use std::net::IpAddr;
use std::time::Duration;

use super::{BASE, errors, parse};
use crate::model::{CheckKind, Speaker};

/// BASE plus what every anycast case needs: the anycast addresses on
/// web's loopback, and a process to tie the service to.
fn with_service(extra: &str) -> String {
    let base = BASE.replace(
        "[namespace.web]\n",
        "[namespace.web]\nloopback = [\"203.0.113.53/32\", \"2001:db8:53::53/128\"]\n",
    );
    format!("{base}[[namespace.web.process]]\nname = \"dns\"\ncommand = \"dnsmasq\"\n{extra}")
}

/// The whole text yields exactly one error, at `key`, mentioning `needle`.
fn assert_one_error(text: &str, key: &str, needle: &str) {
    let errs = errors(text);
    assert!(
        errs.len() == 1 && errs.0[0].key == key && errs.0[0].message.contains(needle),
        "for\n{text}\nwant one error at {key} mentioning {needle:?}, got:\n{errs}"
    );
}

const SERVICE: &str = "\
[anycast.dns]
namespace = \"web\"
prefixes = [\"203.0.113.53/32\", \"2001:db8:53::53/128\"]
";

#[test]
fn a_full_service_parses_into_the_model() {
    let text = with_service(
        "[anycast.dns]
namespace = \"web\"
prefixes = [\"203.0.113.53/32\", \"2001:db8:53::53/128\"]
announce_table = 120
withdraw_on_exit = false
process = \"dns\"
router_id = \"10.88.0.2\"
bfd = false
[anycast.dns.bgp]
local_as = 65001
neighbor_as = 65000
neighbors = [\"10.88.0.1\", \"fd88::1\"]
[anycast.dns.ospf]
interfaces = [\"eth0\"]
[[anycast.dns.check]]
kind = \"dns\"
name = \"ns.example\"
answer = \"192.0.2.1\"
interval = 1
interval_transition = 0.2
timeout = 0.15
fall = 3
[[anycast.dns.check]]
kind = \"http\"
address = \"2001:db8:53::53\"
path = \"/health\"
body = \"ok\"
[[anycast.dns.check]]
kind = \"exec\"
command = \"/bin/true\"
timeout = 0.2
",
    );
    let d = parse(&text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    let a = &d.anycast["dns"];
    assert_eq!(a.namespace, "web");
    assert_eq!(a.announce_table, 120);
    assert!(!a.withdraw_on_exit);
    assert_eq!(a.process.as_deref(), Some("dns"));
    assert_eq!(a.speaker, Speaker::Bird);
    assert!(!a.routing.bfd);
    assert_eq!(a.routing.bgp.as_ref().unwrap().neighbors.len(), 2);
    assert_eq!(a.routing.ospf.as_ref().unwrap().area, 0);
    let dns = &a.checks[0];
    assert_eq!(dns.interval, Duration::from_secs(1));
    assert_eq!(dns.interval_transition, Duration::from_millis(200));
    assert_eq!(dns.timeout, Duration::from_millis(150));
    assert_eq!((dns.rise, dns.fall), (2, 3));
    let want: IpAddr = "203.0.113.53".parse().unwrap();
    assert!(
        matches!(&dns.kind, CheckKind::Dns { address, port: 53, qtype, rcode, .. }
            if *address == want && qtype == "A" && rcode == "NOERROR"),
        "defaults: the first IPv4 prefix, port 53, A, NOERROR: {:?}",
        dns.kind
    );
    assert!(matches!(
        &a.checks[1].kind,
        CheckKind::Http {
            port: 80,
            status: 200,
            ..
        }
    ));
    assert!(matches!(&a.checks[2].kind, CheckKind::Exec { .. }));
}

#[test]
fn an_frr_service_must_not_have_its_prefixes_on_lo() {
    let text = format!(
        "{BASE}[anycast.dns]\nnamespace = \"web\"\nprefixes = [\"203.0.113.53/32\"]\n\
         speaker = \"frr\"\n"
    );
    let d = parse(&text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.anycast["dns"].speaker, Speaker::Frr);
    assert_one_error(
        &with_service(
            "[anycast.dns]\nnamespace = \"web\"\nprefixes = [\"203.0.113.53/32\"]\n\
             speaker = \"frr\"\n",
        ),
        "anycast.dns.prefixes[0]",
        "FRR never announces",
    );
}

#[test]
fn anycast_mistakes_are_named() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "[anycast.dns]\nnamespace = \"nope\"\nprefixes = [\"203.0.113.53/32\"]\n".into(),
            "anycast.dns.namespace",
            "no [namespace.nope]",
        ),
        (
            "[anycast.dns]\nnamespace = \"web\"\nprefixes = [\"198.51.100.9/32\"]\n".into(),
            "anycast.dns.prefixes[0]",
            "not served in namespace web",
        ),
        (
            format!("{SERVICE}announce_table = 254\n"),
            "anycast.dns.announce_table",
            "out of range",
        ),
        (
            format!("{SERVICE}process = \"bird\"\n"),
            "anycast.dns.process",
            "no process `bird`",
        ),
        (
            format!("{SERVICE}speaker = \"gobgp\"\n"),
            "anycast.dns.speaker",
            "unknown speaker",
        ),
        (
            format!(
                "{SERVICE}[[anycast.dns.check]]\nkind = \"tcp\"\nport = 53\ninterval = 0.5\ntimeout = 0.5\n"
            ),
            "anycast.dns.check[0].timeout",
            "not below interval",
        ),
        (
            format!(
                "{SERVICE}[[anycast.dns.check]]\nkind = \"tcp\"\nport = 53\ninterval_transition = 0.1\ntimeout = 0.2\n"
            ),
            "anycast.dns.check[0].timeout",
            "not below interval_transition",
        ),
        (
            format!("{SERVICE}[[anycast.dns.check]]\nkind = \"tcp\"\n"),
            "anycast.dns.check[0]",
            "needs `port`",
        ),
        (
            format!("{SERVICE}[[anycast.dns.check]]\nkind = \"tcp\"\nport = 53\nname = \"x\"\n"),
            "anycast.dns.check[0].name",
            "does not apply to a tcp check",
        ),
        (
            format!(
                "{SERVICE}[[anycast.dns.check]]\nkind = \"dns\"\nname = \"x\"\nrcode = \"OK\"\n"
            ),
            "anycast.dns.check[0].rcode",
            "unknown rcode",
        ),
        (
            format!("{SERVICE}[[anycast.dns.check]]\nkind = \"icmp\"\n"),
            "anycast.dns.check[0].kind",
            "unknown check kind",
        ),
        (
            format!("{SERVICE}[[anycast.dns.check]]\nkind = \"tcp\"\nport = 53\nrise = 0\n"),
            "anycast.dns.check[0].rise",
            "out of range",
        ),
        (
            format!("{SERVICE}[anycast.dns.ospf]\ninterfaces = [\"eth9\"]\n"),
            "anycast.dns.ospf.interfaces[0]",
            "no interface `eth9`",
        ),
        (
            format!(
                "{SERVICE}[anycast.dns.bgp]\nlocal_as = 0\nneighbor_as = 65000\nneighbors = [\"10.88.0.1\"]\n"
            ),
            "anycast.dns.bgp.local_as",
            "out of range",
        ),
        (
            format!(
                "{SERVICE}[anycast.other]\nnamespace = \"web\"\nprefixes = [\"203.0.113.53/32\"]\n"
            ),
            "anycast.other.prefixes[0]",
            "already announced",
        ),
    ];
    for (extra, key, needle) in &cases {
        assert_one_error(&with_service(extra), key, needle);
    }
}
