//! The maps that publish ports: one pair (target address, target port) per
//! family and keying, and the DNAT rule that looks a connection up in them.

use serde_json::{Value, json};

use super::render::{TABLE, fib_local, meta, payload, rule, wrap};
use crate::model::Publish;

/// Publishes are looked up by (protocol, port), or (host address, protocol,
/// port) when bound to one address; per family and keying there are two
/// maps, one giving the target address and one the target port. (One map
/// with `addr . port` values would do, but nft 1.0.6 cannot read such a map
/// back from JSON.)
pub(super) struct PublishMap {
    name: &'static str,
    v6: bool,
    with_addr: bool,
}

pub(super) const MAPS: [PublishMap; 4] = [
    PublishMap {
        name: "dst4",
        v6: false,
        with_addr: true,
    },
    PublishMap {
        name: "any4",
        v6: false,
        with_addr: false,
    },
    PublishMap {
        name: "dst6",
        v6: true,
        with_addr: true,
    },
    PublishMap {
        name: "any6",
        v6: true,
        with_addr: false,
    },
];

impl PublishMap {
    fn addr_type(&self) -> &'static str {
        if self.v6 { "ipv6_addr" } else { "ipv4_addr" }
    }

    fn l3(&self) -> &'static str {
        if self.v6 { "ip6" } else { "ip" }
    }

    fn holds(&self, p: &Publish) -> bool {
        p.is_ipv6() == self.v6 && p.host_address.is_some() == self.with_addr
    }

    /// (key, target address, target port) for every published port.
    pub(super) fn entries(&self, publishes: &[&Publish]) -> Vec<(Value, Value, Value)> {
        let mut out = Vec::new();
        for p in publishes.iter().filter(|p| self.holds(p)) {
            for port in p.port.start..=p.port.end {
                let mut key = Vec::new();
                if let Some(addr) = p.host_address {
                    key.push(json!(addr.to_string()));
                }
                key.push(json!(p.proto.to_string()));
                key.push(json!(port));
                out.push((
                    json!({"concat": key}),
                    json!(p.target.to_string()),
                    json!(p.target_port(port)),
                ));
            }
        }
        out
    }

    /// Both maps, taking the entries apart rather than copying them: with a
    /// thousand publishes the copies were the largest thing apply held.
    pub(super) fn definitions(&self, entries: Vec<(Value, Value, Value)>) -> [Value; 2] {
        let mut key = Vec::new();
        if self.with_addr {
            key.push(self.addr_type());
        }
        key.extend(["inet_proto", "inet_service"]);
        let map = |suffix: &str, data: &str, elem: Vec<Value>| {
            let mut map = json!({
                "family": "inet", "table": TABLE, "name": format!("{}_{suffix}", self.name),
                "type": key, "map": data,
            });
            if !elem.is_empty() {
                map["elem"] = Value::Array(elem);
            }
            wrap("add", wrap("map", map))
        };
        let mut addrs = Vec::with_capacity(entries.len());
        let mut ports = Vec::with_capacity(entries.len());
        for (k, a, p) in entries {
            addrs.push(Value::Array(vec![k.clone(), a]));
            ports.push(Value::Array(vec![k, p]));
        }
        [
            map("addr", self.addr_type(), addrs),
            map("port", "inet_service", ports),
        ]
    }

    /// `fib daddr type local dnat ip to KEY map @NAME_addr : KEY map @NAME_port`
    /// where KEY is `[ip daddr .] meta l4proto . th dport`.
    pub(super) fn dnat_rule(&self, chain_name: &str) -> Value {
        let mut key = Vec::new();
        if self.with_addr {
            key.push(payload(self.l3(), "daddr"));
        }
        key.push(meta("l4proto"));
        key.push(payload("th", "dport"));
        let key = json!({"concat": key});
        let lookup =
            |suffix: &str| json!({"map": {"key": key, "data": format!("@{}_{suffix}", self.name)}});
        let dnat =
            json!({"dnat": {"family": self.l3(), "addr": lookup("addr"), "port": lookup("port")}});
        rule(chain_name, vec![fib_local(), dnat])
    }
}
