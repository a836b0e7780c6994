use super::{BASE, assert_each_one_error, ip, load, parse, single_error, testdata};
use crate::model::{PortRange, Proto, Publish};

fn publish(
    proto: Proto,
    port: (u16, u16),
    to: (u16, u16),
    host: Option<&str>,
    target: &str,
) -> Publish {
    Publish {
        ns: "web".into(),
        proto,
        port: PortRange {
            start: port.0,
            end: port.1,
        },
        to_port: PortRange {
            start: to.0,
            end: to.1,
        },
        host_address: host.map(ip),
        target: ip(target),
    }
}

#[test]
fn publishes_expand_per_protocol_and_family_in_config_order() {
    let d = load(&testdata("valid.toml")).unwrap_or_else(|e| panic!("{e}"));
    let web = &d.namespaces["web"].publish;
    let want = [
        // proto = "both", no family: every family web has, tcp first.
        publish(Proto::Tcp, (8080, 8080), (80, 80), None, "10.88.0.2"),
        publish(Proto::Tcp, (8080, 8080), (80, 80), None, "fd88::2"),
        publish(Proto::Udp, (8080, 8080), (80, 80), None, "10.88.0.2"),
        publish(Proto::Udp, (8080, 8080), (80, 80), None, "fd88::2"),
        // host_address sets the family; to_port defaults to port.
        publish(
            Proto::Tcp,
            (8443, 8444),
            (8443, 8444),
            Some("192.0.2.1"),
            "10.88.0.2",
        ),
    ];
    assert_eq!(web, &want);

    let db = &d.namespaces["db"].publish;
    assert_eq!(db.len(), 1, "db has no IPv6 address: {db:?}");
    assert_eq!((db[0].ns.as_str(), db[0].target), ("db", ip("10.88.0.3")));
}

#[test]
fn target_is_the_first_address_of_the_family_on_the_first_veth_that_has_one() {
    let text = "\
[bridge.br0]
addresses = [\"10.88.0.1/24\", \"fd88::1/64\"]

[namespace.web]
[[namespace.web.interface]]
name = \"svc0\"
kind = \"dummy\"
addresses = [\"192.0.2.5/32\", \"fd00::5/128\"]

[[namespace.web.interface]]
name = \"eth0\"
bridge = \"br0\"
addresses = [\"fd88::2/64\"]

[[namespace.web.interface]]
name = \"eth1\"
bridge = \"br0\"
addresses = [\"10.88.0.3/24\", \"10.88.0.4/24\", \"fd88::3/64\"]

[[namespace.web.publish]]
port = 80
family = \"both\"
";
    let d = parse(text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    let targets: Vec<_> = d.namespaces["web"]
        .publish
        .iter()
        .map(|p| p.target)
        .collect();
    assert_eq!(targets, [ip("10.88.0.3"), ip("fd88::2")]);
}

#[test]
fn publishes_on_different_host_addresses_do_not_clash() {
    let text = format!(
        "{BASE}[[namespace.web.publish]]\nport = 80\nhost_address = \"192.0.2.1\"\n\
         [[namespace.web.publish]]\nport = 80\nhost_address = \"192.0.2.2\"\n\
         [[namespace.web.publish]]\nport = 80\nproto = \"udp\"\n\
         [[namespace.web.publish]]\nport = 80\nfamily = \"ipv6\"\n"
    );
    let d = parse(&text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.namespaces["web"].publish.len(), 5);
}

#[test]
fn publish_mistakes_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[namespace.web.publish]]\nport = \"80-x\"\n",
            "namespace.web.publish[0].port",
            "not a port or a port range",
        ),
        (
            "[[namespace.web.publish]]\nport = 65536\n",
            "namespace.web.publish[0].port",
            "port 65536 is out of range",
        ),
        (
            "[[namespace.web.publish]]\nport = 80\nto_port = \"80-81\"\n",
            "namespace.web.publish[0].to_port",
            "has 2 ports but port `80` has 1",
        ),
        (
            "[[namespace.web.publish]]\nport = 80\nhost_address = \"192.0.2.1\"\nfamily = \"ipv6\"\n",
            "namespace.web.publish[0].family",
            "does not match host_address",
        ),
        (
            "[[namespace.web.publish]]\nport = 80\n[[namespace.web.publish]]\nport = 80\nhost_address = \"192.0.2.1\"\n",
            "namespace.web.publish[1].port",
            "port `80` (tcp, IPv4) is already published by namespace.web.publish[0] (line 9) on every host address",
        ),
        (
            "[[namespace.web.publish]]\nport = 80\nhost_address = \"fd88::9\"\n\
             [namespace.db]\n[[namespace.db.interface]]\nname = \"eth0\"\nbridge = \"br0\"\naddresses = [\"fd88::3/64\"]\n\
             [[namespace.db.publish]]\nport = \"70-90\"\nfamily = \"ipv6\"\nhost_address = \"fd88::9\"\n",
            "namespace.db.publish[0].port",
            "overlap `80`, published by namespace.web.publish[0] (line 9) on `fd88::9`",
        ),
    ];
    assert_each_one_error(cases);
}

#[test]
fn invalid_interface_address_silences_the_missing_family_error() {
    let text = BASE.replace("\"fd88::2/64\"", "\"fd88::2\"")
        + "[[namespace.web.publish]]\nport = 80\nfamily = \"ipv6\"\n";
    let e = single_error(&text);
    assert!(e.message.contains("no prefix length"), "{e}");
}

#[test]
fn port_of_the_wrong_type_is_a_schema_error() {
    let e = single_error(&format!("{BASE}[[namespace.web.publish]]\nport = 80.5\n"));
    assert_eq!(e.key, "namespace.web.publish[0].port");
    assert!(e.message.contains("a port (1..=65535)"), "{e}");
}
