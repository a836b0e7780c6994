//! Config tests; published ports and policies have files of their own.

mod anycast;
mod policy;
mod process;
mod publish;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::{ConfigError, ConfigErrors, load, parse};
use crate::model::{self, InterfaceKind, MacAddr, default_host_link_name, stable_mac};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/config")
        .join(name)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn errors(text: &str) -> ConfigErrors {
    match parse(text, "netd.toml") {
        Ok(d) => panic!("expected errors, got {d:#?}"),
        Err(e) => e,
    }
}

/// The only error of `text`.
/// Each case, appended to BASE, yields exactly one error, at `key`, whose
/// message mentions `needle`.
fn assert_each_one_error(cases: &[(&str, &str, &str)]) {
    for (extra, key, needle) in cases {
        let text = format!("{BASE}{extra}");
        let errs = errors(&text);
        assert!(
            errs.len() == 1 && errs.0[0].key == *key && errs.0[0].message.contains(needle),
            "for\n{extra}\nwant one error at {key} mentioning {needle:?}, got:\n{errs}"
        );
    }
}

fn single_error(text: &str) -> ConfigError {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "want exactly one error, got:\n{errs}");
    errs.0.into_iter().next().unwrap()
}

#[test]
fn valid_full_example_parses_into_the_model() {
    let d = load(&testdata("valid.toml")).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(d.netns_dir, Path::new(model::DEFAULT_NETNS_DIR));
    assert_eq!(d.state_dir, Path::new("/var/lib/netd"));
    assert_eq!(d.bridges.keys().collect::<Vec<_>>(), ["br0", "br1"]);
    assert_eq!(
        d.bridges["br0"].addresses,
        [net("10.88.0.1/24"), net("fd88::1/64")]
    );
    assert_eq!(d.bridges["br0"].mtu, Some(1500));
    assert_eq!(d.bridges["br1"].mtu, None);
    let flags = |b: &str| (d.bridges[b].masquerade, d.bridges[b].isolate);
    assert_eq!((flags("br0"), flags("br1")), ((true, false), (false, true)));
    assert_eq!(d.policy.mode, model::PolicyMode::Integrate);
    assert_eq!(d.namespaces.keys().collect::<Vec<_>>(), ["db", "web"]);

    let web = &d.namespaces["web"];
    assert_eq!(web.loopback, [net("192.0.2.10/32")]);
    assert_eq!(web.sysctls["net.ipv4.ip_forward"], "1");
    assert_eq!(web.sysctls["net.ipv6.conf.all.forwarding"], "1");
    assert_eq!(web.sysctls["net.ipv4.conf.all.rp_filter"], "0");

    let names: Vec<&str> = web.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth0", "eth1"], "config order is kept");
    let eth0 = &web.interfaces[0];
    assert_eq!(
        eth0.kind,
        InterfaceKind::Veth {
            bridge: "br0".into(),
            host_name: default_host_link_name("web", "eth0"),
            host_mac: stable_mac(&["web", "eth0", "host"]),
        }
    );
    assert_eq!(eth0.mac, stable_mac(&["web", "eth0"]));
    assert_eq!(eth0.addresses, [net("10.88.0.2/24"), net("fd88::2/64")]);
    let eth1 = &web.interfaces[1];
    assert_eq!(eth1.host_name(), Some("ve-web1"));
    assert_eq!(eth1.mac, MacAddr([2, 0, 0, 0, 0, 2]));
    assert_eq!(eth1.mtu, Some(9000));

    // Explicit routes first, in config order, then one default route per
    // gateway of the shorthand.
    let routes = &web.routes;
    assert_eq!(routes.len(), 4);
    assert_eq!(
        routes[0],
        model::Route {
            destination: net("198.51.100.0/24"),
            gateway: Some(ip("10.89.0.254")),
            device: Some("eth1".into()),
            table: 100,
            metric: Some(50),
        }
    );
    assert_eq!(routes[1].table, model::MAIN_TABLE, "\"main\" is table 254");
    assert_eq!(routes[1].gateway, None);
    for (route, dst, gw) in [
        (&routes[2], "0.0.0.0/0", "10.88.0.1"),
        (&routes[3], "::/0", "fd88::1"),
    ] {
        let want = model::Route {
            destination: net(dst),
            gateway: Some(ip(gw)),
            device: None,
            table: model::MAIN_TABLE,
            metric: None,
        };
        assert_eq!(route, &want);
    }

    let db = &d.namespaces["db"];
    assert_eq!(
        db.sysctls["net.ipv4.ip_forward"], "0",
        "dotted keys are flattened"
    );
    assert_eq!(db.interfaces[1].kind, InterfaceKind::Dummy);
    assert_eq!(db.interfaces[1].mac, stable_mac(&["db", "svc0"]));
    assert_eq!(
        db.routes[0].destination,
        net("0.0.0.0/0"),
        "`default` with an IPv4 gateway"
    );
    assert_eq!(db.routes[0].table, 200);
}

#[test]
fn empty_file_is_the_empty_model_with_default_dirs() {
    let d = parse("", "netd.toml").unwrap();
    let want = model::Desired::empty(
        model::DEFAULT_NETNS_DIR.into(),
        model::DEFAULT_STATE_DIR.into(),
    );
    assert_eq!(d, want);
}

/// Rewrite with `UPDATE_GOLDEN=1 cargo test -p netd config::`.
#[test]
fn all_mistakes_are_reported_together() {
    let input = std::fs::read_to_string(testdata("errors.toml")).unwrap();
    let rendered = format!("{}\n", errors_of(&input, "errors.toml"));
    let golden = testdata("errors.golden");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&golden, &rendered).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        rendered == want,
        "errors differ from {}; rerun with UPDATE_GOLDEN=1 and review the diff\n--- got:\n{rendered}",
        golden.display()
    );
}

fn errors_of(text: &str, file: &str) -> ConfigErrors {
    parse(text, file).expect_err("the config has mistakes")
}

#[test]
fn golden_errors_are_sorted_by_position() {
    let input = std::fs::read_to_string(testdata("errors.toml")).unwrap();
    let errs = errors_of(&input, "errors.toml");
    assert!(errs.len() >= 8);
    let positions: Vec<(usize, usize)> = errs.iter().map(|e| (e.line, e.column)).collect();
    assert!(positions.is_sorted(), "{positions:?}");
}

#[test]
fn unknown_key_is_located_at_the_key() {
    let text =
        "[namespace.web]\n\n[[namespace.web.interface]]\nname = \"eth0\"\n  colour = \"red\"\n";
    let e = single_error(text);
    assert_eq!((e.line, e.column), (5, 3));
    assert_eq!(e.key, "namespace.web.interface[0].colour");
    assert!(
        e.message.starts_with("unknown key `colour`"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("`host_name`"),
        "lists the valid keys: {}",
        e.message
    );
}

#[test]
fn bad_value_is_located_at_the_value() {
    let text = "\
[bridge.br0]
addresses = [\"10.88.0.1/24\"]

[namespace.web]
[[namespace.web.interface]]
name = \"eth0\"
bridge = \"br0\"
addresses = [\"10.88.0.2/24\", \"10.0.0.300/24\"]
";
    let e = single_error(text);
    assert_eq!(
        e.to_string(),
        "netd.toml:8:30: namespace.web.interface[0].addresses[1]: `10.0.0.300/24` is not a valid \
         CIDR address; write address/prefix, e.g. `10.88.0.2/24` or `fd88::2/64`"
    );
}

#[test]
fn wrong_type_is_located_at_the_value() {
    let e = single_error("[bridge.br0]\nmtu = \"big\"\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (2, 7, "bridge.br0.mtu"));
    assert!(e.message.contains("expected an integer"), "{}", e.message);
}

#[test]
fn missing_key_is_located_at_its_table_header() {
    let e = single_error("[namespace.web]\n[[namespace.web.route]]\ngateway = \"10.0.0.1\"\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(e.key, "namespace.web.route[0]");
    assert_eq!(e.message, "missing required key `destination`");
}

#[test]
fn duplicate_tables_and_keys_are_reported_with_their_line() {
    let e = single_error("[namespace.web]\n\n[namespace.db]\n\n[namespace.web]\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (5, 12, "namespace.web"));
    assert!(
        e.message.starts_with("duplicate key `web`"),
        "{}",
        e.message
    );

    let e = single_error("[bridge.br0]\nmtu = 1500\nmtu = 9000\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (3, 1, "bridge.br0.mtu"));
}

#[test]
fn every_syntax_error_is_reported() {
    let errs = errors("[bridge.br0]\nmtu = \n\n[namespace.web]\nloopback = [\"10.0.0.1/32\",\n");
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert!(
        lines.contains(&2) && lines.iter().any(|&l| l >= 5),
        "{errs}"
    );
}

#[test]
fn unreadable_file_is_one_error_without_position() {
    let path = testdata("does-not-exist.toml");
    let errs = load(&path).unwrap_err();
    assert_eq!(errs.len(), 1);
    let e = &errs.0[0];
    assert_eq!((e.line, e.column, e.key.as_str()), (0, 0, ""));
    assert_eq!(e.file, path.display().to_string());
    assert!(
        e.message.starts_with("cannot read the config file: "),
        "{}",
        e.message
    );
    assert_eq!(e.to_string(), format!("{}:0:0: {}", e.file, e.message));
}

#[test]
fn errors_serialise_as_an_array_of_objects() {
    let errs = errors("[daemon]\nnetns = \"/x\"\n");
    let json = serde_json::to_value(&errs).unwrap();
    let first = &json[0];
    assert_eq!(first["file"], "netd.toml");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 1);
    assert_eq!(first["key"], "daemon.netns");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown key")
    );
}

/// A namespace on `br0` with one address per family; each case adds lines
/// to it and must produce exactly one error, at `key`, mentioning `needle`.
const BASE: &str = "\
[bridge.br0]
addresses = [\"10.88.0.1/24\", \"fd88::1/64\"]

[namespace.web]
[[namespace.web.interface]]
name = \"eth0\"
bridge = \"br0\"
addresses = [\"10.88.0.2/24\", \"fd88::2/64\"]
";

#[test]
fn semantic_mistakes_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[namespace.web.route]]\ndestination = \"10.9.0.0/16\"\ngateway = \"10.9.0.1\"\n",
            "namespace.web.route[0].gateway",
            "unreachable",
        ),
        (
            "[[namespace.web.route]]\ndestination = \"10.9.0.0/16\"\ngateway = \"10.88.0.2\"\n",
            "namespace.web.route[0].gateway",
            "itself",
        ),
        (
            "[[namespace.web.route]]\ndestination = \"10.9.0.0/16\"\ndevice = \"eth9\"\n",
            "namespace.web.route[0].device",
            "use one of: eth0, lo",
        ),
        (
            "[[namespace.web.route]]\ndestination = \"10.9.0.0/16\"\ndevice = \"eth0\"\ntable = \"mine\"\n",
            "namespace.web.route[0].table",
            "unknown table name `mine`",
        ),
        (
            "[[namespace.web.route]]\ndestination = \"10.9.0.0/16\"\ndevice = \"eth0\"\nmetric = 4294967296\n",
            "namespace.web.route[0].metric",
            "out of range",
        ),
        (
            "[[namespace.web.interface]]\nname = \"eth1\"\nbridge = \"br0\"\naddresses = [\"10.88.0.1/16\"]\n",
            "namespace.web.interface[1].addresses[0]",
            "already assigned at bridge.br0.addresses[0] (line 2)",
        ),
        (
            "[[namespace.web.interface]]\nname = \"eth1\"\nkind = \"dummy\"\nhost_name = \"x\"\n",
            "namespace.web.interface[1].host_name",
            "a dummy interface has no `host_name`",
        ),
        (
            "[[namespace.web.interface]]\nname = \"a/b\"\nkind = \"dummy\"\n",
            "namespace.web.interface[1].name",
            "cannot contain",
        ),
        (
            "[[namespace.web.interface]]\nname = \"eth1\"\nkind = \"dummy\"\nmac = \"02:00:00:00:00\"\n",
            "namespace.web.interface[1].mac",
            "not a MAC address",
        ),
        (
            "[namespace.web.sysctl]\n\"net.ipv4..x\" = 1\n",
            "namespace.web.sysctl.\"net.ipv4..x\"",
            "empty component",
        ),
        (
            "[namespace.web.sysctl]\n\"net.ipv4/x\" = 1\n",
            "namespace.web.sysctl.\"net.ipv4/x\"",
            "contains '/'",
        ),
        (
            "[namespace.\"a b\"]\n",
            "namespace.\"a b\"",
            "not a valid namespace name",
        ),
        (
            "[daemon]\nnetns_dir = \"netns\"\n",
            "daemon.netns_dir",
            "not an absolute path",
        ),
    ];
    assert_each_one_error(cases);
}

#[test]
fn default_route_follows_the_gateway_family() {
    let text = format!(
        "{BASE}[[namespace.web.route]]\ndestination = \"default\"\ngateway = \"fd88::1\"\ntable = \"local\"\n\
         [[namespace.web.route]]\ndestination = \"default\"\ndevice = \"eth0\"\ntable = \"default\"\n"
    );
    let d = parse(&text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    let routes = &d.namespaces["web"].routes;
    assert_eq!((routes[0].destination, routes[0].table), (net("::/0"), 255));
    assert_eq!(
        (routes[1].destination, routes[1].table),
        (net("0.0.0.0/0"), 253)
    );
}

#[test]
fn link_local_gateway_needs_a_device() {
    let ok = format!(
        "{BASE}[[namespace.web.route]]\ndestination = \"::/0\"\ngateway = \"fe80::1\"\ndevice = \"eth0\"\n"
    );
    parse(&ok, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    let e = single_error(&BASE.replace(
        "[namespace.web]\n",
        "[namespace.web]\ngateway = \"fe80::1\"\n",
    ));
    assert!(e.message.contains("link-local"), "{e}");
}
