//! The TOML file, and the policy file it may name, as serde sees them. Every
//! value the user writes is wrapped in `Spanned` so that later checks can
//! point at it; values are kept as the user wrote them (strings, `i64`) and
//! interpreted in `build`, where a bad one becomes an error next to all the
//! others instead of stopping serde.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub daemon: Option<Spanned<Daemon>>,
    #[serde(default)]
    pub bridge: BTreeMap<Spanned<String>, Spanned<Bridge>>,
    #[serde(default)]
    pub namespace: BTreeMap<Spanned<String>, Spanned<Namespace>>,
    #[serde(default)]
    pub anycast: BTreeMap<Spanned<String>, Spanned<Anycast>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Anycast {
    pub namespace: Spanned<String>,
    pub prefixes: Spanned<Vec<Spanned<String>>>,
    pub announce_table: Option<Spanned<i64>>,
    pub withdraw_on_exit: Option<bool>,
    pub process: Option<Spanned<String>>,
    pub speaker: Option<Spanned<String>>,
    pub router_id: Option<Spanned<String>>,
    pub bfd: Option<bool>,
    pub bgp: Option<Spanned<AnycastBgp>>,
    pub ospf: Option<Spanned<AnycastOspf>>,
    #[serde(default)]
    pub check: Vec<Spanned<AnycastCheck>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnycastBgp {
    pub local_as: Spanned<i64>,
    pub neighbor_as: Spanned<i64>,
    pub neighbors: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnycastOspf {
    #[serde(default)]
    pub area: Option<Spanned<i64>>,
    pub interfaces: Spanned<Vec<Spanned<String>>>,
}

/// One table for every kind of check; `anycast::lower_check` reports keys
/// that do not belong to the check's kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnycastCheck {
    pub kind: Spanned<String>,
    pub address: Option<Spanned<String>>,
    pub port: Option<Spanned<i64>>,
    pub name: Option<Spanned<String>>,
    pub qtype: Option<Spanned<String>>,
    pub rcode: Option<Spanned<String>>,
    pub answer: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub status: Option<Spanned<i64>>,
    pub body: Option<Spanned<String>>,
    pub payload: Option<Spanned<String>>,
    pub expect: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub args: Option<Vec<Spanned<String>>>,
    pub interval: Option<Spanned<Scalar>>,
    pub interval_transition: Option<Spanned<Scalar>>,
    pub timeout: Option<Spanned<Scalar>>,
    pub rise: Option<Spanned<i64>>,
    pub fall: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Daemon {
    pub netns_dir: Option<Spanned<String>>,
    pub state_dir: Option<Spanned<String>>,
    pub policy: Option<Spanned<String>>,
    pub resync_interval: Option<Spanned<Scalar>>,
    pub metrics: Option<Spanned<String>>,
    pub socket_group: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Bridge {
    #[serde(default)]
    pub addresses: Vec<Spanned<String>>,
    pub mtu: Option<Spanned<i64>>,
    #[serde(default)]
    pub masquerade: bool,
    #[serde(default)]
    pub isolate: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Namespace {
    #[serde(default)]
    pub adopt: bool,
    #[serde(default)]
    pub loopback: Vec<Spanned<String>>,
    pub gateway: Option<Spanned<Gateways>>,
    #[serde(default)]
    pub sysctl: SysctlTable,
    #[serde(default)]
    pub interface: Vec<Spanned<Interface>>,
    #[serde(default)]
    pub route: Vec<Spanned<Route>>,
    #[serde(default)]
    pub publish: Vec<Spanned<Publish>>,
    #[serde(default)]
    pub process: Vec<Spanned<Process>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Process {
    pub name: Spanned<String>,
    pub command: Spanned<String>,
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<String>>,
    pub working_dir: Option<Spanned<String>>,
    pub user: Option<Spanned<Scalar>>,
    pub group: Option<Spanned<Scalar>>,
    pub capabilities: Option<Vec<Spanned<String>>>,
    pub no_new_privs: Option<bool>,
    pub restart: Option<Spanned<String>>,
    pub restart_delay: Option<Spanned<Scalar>>,
    pub restart_delay_max: Option<Spanned<Scalar>>,
    pub stop_signal: Option<Spanned<Scalar>>,
    pub stop_timeout: Option<Spanned<Scalar>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Interface {
    pub name: Spanned<String>,
    pub kind: Option<Spanned<String>>,
    pub bridge: Option<Spanned<String>>,
    pub host_name: Option<Spanned<String>>,
    #[serde(default)]
    pub addresses: Vec<Spanned<String>>,
    pub mac: Option<Spanned<String>>,
    pub mtu: Option<Spanned<i64>>,
    pub ipv6_link_local: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Route {
    pub destination: Spanned<String>,
    pub gateway: Option<Spanned<String>>,
    pub device: Option<Spanned<String>>,
    pub table: Option<Spanned<TableRef>>,
    pub metric: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Publish {
    pub port: Spanned<PortSpec>,
    pub to_port: Option<Spanned<PortSpec>>,
    pub proto: Option<Spanned<String>>,
    pub host_address: Option<Spanned<String>>,
    pub family: Option<Spanned<String>>,
}

/// A policy file (`[daemon] policy`), a document of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub mode: Spanned<String>,
    #[serde(default)]
    pub integrate: Integrate,
    #[serde(default)]
    pub strict: Strict,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Integrate {
    #[serde(default)]
    pub chain: Vec<Spanned<Chain>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Chain {
    pub family: Spanned<String>,
    pub table: Spanned<String>,
    pub chain: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Strict {
    #[serde(default)]
    pub allow_ports: Vec<Spanned<String>>,
    #[serde(default)]
    pub allow_addresses: Vec<Spanned<String>>,
}

/// `port = 8080` or `port = "8000-8010"`.
#[derive(Debug)]
pub(super) enum PortSpec {
    /// Wide enough for any TOML integer, so that the range error shows the
    /// number as written.
    Number(i128),
    Text(String),
}

/// A value that may be written as a number or a string (`user = 0` or
/// `user = "bird"`, `stop_signal = 15` or `"SIGTERM"`, seconds as integer
/// or float); each key says in `build` which forms it takes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    /// Wide enough for any TOML integer, so that range errors show it as written.
    Int(i128),
    Float(f64),
    Text(String),
}

/// `gateway = "10.0.0.1"` or `gateway = ["10.0.0.1", "fd00::1"]`.
#[derive(Debug)]
pub(super) enum Gateways {
    /// The span is the one of the enclosing `Spanned`.
    One(String),
    Many(Vec<Spanned<String>>),
}

/// `table = 100` or `table = "main"`.
#[derive(Debug)]
pub(super) enum TableRef {
    /// Wide enough for any TOML integer, so that the range error shows the
    /// number as written.
    Id(i128),
    Name(String),
}

pub(super) type SysctlTable = BTreeMap<Spanned<String>, Spanned<SysctlValue>>;

/// A sysctl value. `Table` exists because an unquoted key
/// (`net.ipv4.ip_forward = 1` under `[namespace.x.sysctl]`) is a dotted key
/// in TOML, i.e. nested tables; `build` flattens them back into one name.
#[derive(Debug)]
pub(super) enum SysctlValue {
    Text(String),
    Int(i64),
    Bool(bool),
    Table(SysctlTable),
}

impl<'de> Deserialize<'de> for Gateways {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Gateways;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an IP address or an array of IP addresses (one per family)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Gateways, E> {
                Ok(Gateways::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Gateways, A::Error> {
                let mut all = Vec::new();
                while let Some(gw) = seq.next_element()? {
                    all.push(gw);
                }
                Ok(Gateways::Many(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for TableRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TableRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a table id (1..=4294967295) or "main", "local", "default""#)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TableRef, E> {
                Ok(TableRef::Id(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TableRef, E> {
                Ok(TableRef::Id(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TableRef, E> {
                Ok(TableRef::Name(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a port (1..=65535) or a range such as "8000-8010""#)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortSpec, E> {
                Ok(PortSpec::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortSpec, E> {
                Ok(PortSpec::Number(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortSpec, E> {
                Ok(PortSpec::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SysctlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SysctlValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SysctlValue, E> {
                // Above i64::MAX: keep the digits, the kernel parses them.
                Ok(SysctlValue::Text(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Text(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SysctlValue, A::Error> {
                let mut table = SysctlTable::new();
                while let Some((k, v)) = map.next_entry()? {
                    table.insert(k, v);
                }
                Ok(SysctlValue::Table(table))
            }
        }
        d.deserialize_any(V)
    }
}
