//! Desired state → the JSON commands that replace `table inet netd`.
//!
//! Publishes live in maps keyed by (protocol, port) or (address, protocol,
//! port), so a thousand published ports are a handful of rules. Port ranges
//! are expanded into one element per port: the kernel's map lookup is a hash
//! either way, and it keeps "8000-8010 → 9000-9010" exact.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::{Value, json};

use super::publish_maps::MAPS;
use crate::model::{Desired, Publish};

pub const TABLE: &str = "netd";

/// The commands, and what they amount to.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// `{"nftables": [...]}`, ready for `nft -j -f`.
    pub commands: Value,
    /// Identifies this exact content; carried in a rule comment so that a
    /// later run can tell whether the table in the kernel is still this one.
    pub fingerprint: String,
    pub rules: usize,
    pub elements: usize,
}

/// `{key: inner}`, moving `inner`: `json!` would copy it, and the maps of
/// a thousand publishes are the biggest values netd builds.
pub(super) fn wrap(key: &str, inner: Value) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(key.to_string(), inner);
    Value::Object(object)
}

fn table_obj() -> Value {
    json!({"family": "inet", "name": TABLE})
}

fn chain(name: &str, kind: &str, hook: &str, prio: i32) -> Value {
    json!({"add": {"chain": {
        "family": "inet", "table": TABLE, "name": name,
        "type": kind, "hook": hook, "prio": prio, "policy": "accept"
    }}})
}

pub(super) fn rule(chain: &str, expr: Vec<Value>) -> Value {
    json!({"add": {"rule": {"family": "inet", "table": TABLE, "chain": chain, "expr": expr}}})
}

fn matches(left: Value, op: &str, right: Value) -> Value {
    json!({"match": {"op": op, "left": left, "right": right}})
}

pub(super) fn meta(key: &str) -> Value {
    json!({"meta": {"key": key}})
}

pub(super) fn payload(protocol: &str, field: &str) -> Value {
    json!({"payload": {"protocol": protocol, "field": field}})
}

pub(super) fn fib_local() -> Value {
    matches(
        json!({"fib": {"result": "type", "flags": ["daddr"]}}),
        "==",
        json!("local"),
    )
}

fn ct_dnat() -> Value {
    matches(json!({"ct": {"key": "status"}}), "in", json!("dnat"))
}

fn subnets(desired: &Desired, v6: bool, only_masquerade: bool) -> Vec<Value> {
    let mut nets = BTreeSet::new();
    for b in desired
        .bridges
        .values()
        .filter(|b| b.masquerade || !only_masquerade)
    {
        for a in b.addresses.iter().filter(|a| a.addr().is_ipv6() == v6) {
            nets.insert(a.trunc());
        }
    }
    nets.into_iter()
        .map(|n| json!({"prefix": {"addr": n.addr().to_string(), "len": n.prefix_len()}}))
        .collect()
}

fn named_set(name: &str, kind: &str, interval: bool, elements: Vec<Value>) -> Value {
    let mut set = json!({"family": "inet", "table": TABLE, "name": name, "type": kind});
    if interval {
        set["flags"] = json!(["interval"]);
    }
    if !elements.is_empty() {
        set["elem"] = Value::Array(elements);
    }
    json!({"add": {"set": set}})
}

/// Whether netd needs a table at all: without publishes or masquerading
/// bridges it keeps out of nftables entirely.
pub fn needed(desired: &Desired) -> bool {
    desired.bridges.values().any(|b| b.masquerade)
        || desired.namespaces.values().any(|n| !n.publish.is_empty())
}

/// Renders the whole table, or None when netd needs none.
pub fn render(desired: &Desired) -> Option<Rendered> {
    if !needed(desired) {
        return None;
    }
    let publishes: Vec<&Publish> = desired
        .namespaces
        .values()
        .flat_map(|n| &n.publish)
        .collect();
    let bridges: Vec<Value> = desired.bridges.keys().map(|b| json!(b)).collect();
    let mut body = Vec::new();
    let mut rules = 0;
    let mut elements = 0;

    for m in &MAPS {
        let entries = m.entries(&publishes);
        elements += entries.len();
        body.extend(m.definitions(entries));
    }
    body.push(named_set("bridges", "ifname", false, bridges));
    body.push(named_set(
        "subnets4",
        "ipv4_addr",
        true,
        subnets(desired, false, false),
    ));
    body.push(named_set(
        "subnets6",
        "ipv6_addr",
        true,
        subnets(desired, true, false),
    ));
    body.push(named_set(
        "masq4",
        "ipv4_addr",
        true,
        subnets(desired, false, true),
    ));
    body.push(named_set(
        "masq6",
        "ipv6_addr",
        true,
        subnets(desired, true, true),
    ));

    body.push(chain("prerouting", "nat", "prerouting", -100));
    body.push(chain("output", "nat", "output", -100));
    body.push(chain("postrouting", "nat", "postrouting", 100));
    body.push(chain("forward", "filter", "forward", 0));
    for c in ["prerouting", "output"] {
        for m in &MAPS {
            body.push(m.dnat_rule(c));
            rules += 1;
        }
    }
    let bridge_set = json!("@bridges");
    let post = [
        // The host's own connections to localhost:PORT (route_localnet is
        // set on netd's bridges for this): the namespace cannot answer 127/8.
        vec![
            ct_dnat(),
            matches(meta("oifname"), "==", bridge_set.clone()),
            matches(
                payload("ip", "saddr"),
                "==",
                json!({"prefix": {"addr": "127.0.0.0", "len": 8}}),
            ),
            json!({"masquerade": null}),
        ],
        // Hairpin: a namespace reaching a published port through the host
        // address; without it the answer would bypass the host's conntrack.
        // Matched by source subnet, not iifname: with br_netfilter the
        // packet is bridged back and postrouting sees no input interface.
        vec![
            ct_dnat(),
            matches(meta("oifname"), "==", bridge_set.clone()),
            matches(payload("ip", "saddr"), "==", json!("@subnets4")),
            json!({"masquerade": null}),
        ],
        vec![
            ct_dnat(),
            matches(meta("oifname"), "==", bridge_set.clone()),
            matches(payload("ip6", "saddr"), "==", json!("@subnets6")),
            json!({"masquerade": null}),
        ],
        vec![
            matches(payload("ip", "saddr"), "==", json!("@masq4")),
            matches(meta("oifname"), "!=", bridge_set.clone()),
            json!({"masquerade": null}),
        ],
        vec![
            matches(payload("ip6", "saddr"), "==", json!("@masq6")),
            matches(meta("oifname"), "!=", bridge_set.clone()),
            json!({"masquerade": null}),
        ],
    ];
    for expr in post {
        body.push(rule("postrouting", expr));
        rules += 1;
    }
    let forward = [
        vec![
            matches(
                json!({"ct": {"key": "state"}}),
                "in",
                json!(["established", "related"]),
            ),
            json!({"accept": null}),
        ],
        vec![
            ct_dnat(),
            matches(meta("oifname"), "==", bridge_set.clone()),
            json!({"accept": null}),
        ],
        vec![
            matches(meta("iifname"), "==", bridge_set),
            json!({"accept": null}),
        ],
    ];
    let first_forward = body.len();
    for expr in forward {
        body.push(rule("forward", expr));
        rules += 1;
    }
    let fingerprint = fingerprint(&body);
    body[first_forward]["add"]["rule"]["comment"] = json!(format!("netd {fingerprint}"));

    // Replace in one transaction: create-if-missing, delete, recreate. The
    // kernel commits the batch atomically, so there is no moment without
    // netd's rules.
    let mut commands = vec![
        json!({"add": {"table": table_obj()}}),
        json!({"delete": {"table": table_obj()}}),
        json!({"add": {"table": table_obj()}}),
    ];
    commands.extend(body);
    Some(Rendered {
        commands: wrap("nftables", Value::Array(commands)),
        fingerprint,
        rules,
        elements,
    })
}

/// Commands that remove the table; a missing table is fine.
pub fn delete_commands() -> Value {
    json!({"nftables": [{"add": {"table": table_obj()}}, {"delete": {"table": table_obj()}}]})
}

/// FNV-1a over the rendered body: stable across runs and versions.
fn fingerprint(body: &[Value]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in body {
        for b in v.to_string().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut s = String::new();
    let _ = write!(s, "{h:016x}");
    s
}

/// The sysctls (paths under /proc/sys) that let the host's own
/// `localhost:PORT` connections be DNATed to a namespace: `route_localnet`
/// on netd's bridges, and only when something is published over IPv4.
pub fn localnet_keys(desired: &Desired) -> Vec<String> {
    if !desired
        .namespaces
        .values()
        .any(|n| n.publish.iter().any(|p| matches!(p.target, IpAddr::V4(_))))
    {
        return Vec::new();
    }
    desired
        .bridges
        .keys()
        .map(|b| format!("net/ipv4/conf/{b}/route_localnet"))
        .collect()
}
