//! A change rendered for people (`+ veth web/eth0 …`) and for scripts
//! (`--json`): one flat object per change, with the same `kind` for an
//! object whether it is created, changed or deleted, and numbers as numbers.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::change::{Change, LinkSettings};
use crate::model::Route;

/// The `--json` shape of a change: stable, flat, easy to filter with jq.
/// `target` and `detail` are the human text; the optional fields carry the
/// same facts as typed values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    pub op: &'static str,
    pub kind: &'static str,
    pub ns: Option<String>,
    pub target: String,
    pub detail: String,
    /// The namespace, link or bridge the change is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The link an address is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_len: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<IpNet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Routing table number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Sysctl key, value, and the value it had before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// Counts of an nftables transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove: Option<usize>,
    /// Why the object is deleted and made anew instead of changed in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<String>,
}

fn route_text(r: &Route) -> String {
    let mut s = r.destination.to_string();
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = &r.device {
        s.push_str(&format!(" dev {dev}"));
    }
    if r.table != crate::model::MAIN_TABLE {
        s.push_str(&format!(" table {}", r.table));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!(" metric {m}"));
    }
    s
}

fn settings_text(s: &LinkSettings) -> String {
    let mut parts = Vec::new();
    match s.up {
        Some(true) => parts.push("up".to_string()),
        Some(false) => parts.push("down".to_string()),
        None => {}
    }
    if let Some(m) = s.mtu {
        parts.push(format!("mtu {m}"));
    }
    if let Some(m) = s.mac {
        parts.push(format!("mac {m}"));
    }
    if let Some(b) = &s.master {
        parts.push(format!("master {b}"));
    }
    if let Some(a) = &s.alias {
        parts.push(format!("mark {a}"));
    }
    match s.isolated {
        Some(true) => parts.push("isolated port, hairpin".to_string()),
        Some(false) => parts.push("hairpin port".to_string()),
        None => {}
    }
    match s.ipv6_link_local {
        Some(true) => parts.push("ipv6 link-local".to_string()),
        Some(false) => parts.push("no ipv6 link-local".to_string()),
        None => {}
    }
    if s.after_ports {
        parts.push("after its ports".to_string());
    }
    parts.join(", ")
}

/// A creation that replaces an existing object is shown as a change of it,
/// with the reason: `~ veth web/eth0 (replace: kind changes from dummy to veth)`.
fn replacing(summary: ChangeSummary, replace: &Option<String>) -> ChangeSummary {
    match replace {
        Some(why) => ChangeSummary {
            op: "modify",
            detail: format!("replace: {why}"),
            replace: Some(why.clone()),
            ..summary
        },
        None => summary,
    }
}

fn sysctl_detail(value: &str, was: Option<&String>) -> String {
    match was {
        Some(old) => format!("{old} -> {value}"),
        None => format!("= {value}"),
    }
}

impl ChangeSummary {
    fn new(op: &'static str, kind: &'static str, ns: Option<&str>, target: String) -> Self {
        ChangeSummary {
            op,
            kind,
            ns: ns.map(str::to_string),
            target,
            ..ChangeSummary::default()
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    fn address(mut self, link: &str, addr: &IpNet) -> Self {
        self.link = Some(link.to_string());
        self.address = Some(addr.addr());
        self.prefix_len = Some(addr.prefix_len());
        self
    }

    fn route(mut self, r: &Route) -> Self {
        self.destination = Some(r.destination);
        self.prefix_len = Some(r.destination.prefix_len());
        self.gateway = r.gateway;
        self.device = r.device.clone();
        self.table = Some(r.table);
        self.metric = r.metric;
        self
    }

    fn sysctl(mut self, key: &str, value: &str, was: Option<&String>) -> Self {
        self.key = Some(key.to_string());
        self.value = Some(value.to_string());
        self.was = was.cloned();
        self
    }
}

fn namespace(op: &'static str, ns: &str, detail: String) -> ChangeSummary {
    ChangeSummary::new(op, "namespace", Some(ns), ns.to_string())
        .name(ns)
        .detail(detail)
}

impl Change {
    pub fn summary(&self) -> ChangeSummary {
        type S = ChangeSummary;
        let table = || format!("inet {}", crate::nft::TABLE);
        match self {
            Change::CreateNamespace { ns } => namespace("create", ns, String::new()),
            Change::AdoptNamespace { ns } => {
                namespace("modify", ns, "adopt existing namespace".into())
            }
            Change::DeleteNamespace { ns } => namespace("delete", ns, String::new()),
            Change::ReleaseNamespace { ns } => {
                namespace("modify", ns, "release adopted namespace".into())
            }
            Change::RecordNamespace { ns } => namespace(
                "modify",
                ns,
                "record the pin an interrupted run made".into(),
            ),
            Change::ForgetNamespace { ns, reason } => {
                namespace("modify", ns, format!("forget netd's record: {reason}"))
            }
            Change::CreateBridge { name, mtu } => {
                let mut s = S::new("create", "bridge", None, name.clone())
                    .name(name)
                    .detail(mtu.map(|m| format!("mtu {m}")).unwrap_or_default());
                s.mtu = *mtu;
                s
            }
            Change::CreateVeth {
                ns,
                name,
                host_name,
                bridge,
                mtu,
                replace,
                ..
            } => {
                let mut s = S::new("create", "veth", Some(ns), format!("{ns}/{name}"))
                    .name(name)
                    .detail(format!("host {host_name} on {bridge}"));
                s.mtu = *mtu;
                replacing(s, replace)
            }
            Change::CreateDummy {
                ns,
                name,
                mtu,
                replace,
                ..
            } => {
                let mut s = S::new("create", "dummy", Some(ns), format!("{ns}/{name}")).name(name);
                s.mtu = *mtu;
                replacing(s, replace)
            }
            Change::SetLink {
                scope,
                name,
                kind,
                settings,
            } => {
                let target = format!("{}{name}", scope.prefix());
                let mut s = S::new("modify", kind.as_str(), scope.ns(), target)
                    .name(name)
                    .detail(settings_text(settings));
                s.mtu = settings.mtu;
                s
            }
            Change::DeleteLink { scope, name, kind } => {
                let target = format!("{}{name}", scope.prefix());
                S::new("delete", kind.as_str(), scope.ns(), target).name(name)
            }
            Change::AddAddress { scope, link, addr } => {
                let target = format!("{}{link} {addr}", scope.prefix());
                S::new("create", "address", scope.ns(), target).address(link, addr)
            }
            Change::DeleteAddress { scope, link, addr } => {
                let target = format!("{}{link} {addr}", scope.prefix());
                S::new("delete", "address", scope.ns(), target).address(link, addr)
            }
            Change::AddRoute { ns, route } => {
                let target = format!("{ns} {}", route_text(route));
                S::new("create", "route", Some(ns), target).route(route)
            }
            Change::DeleteRoute { ns, route } => {
                let target = format!("{ns} {}", route_text(route));
                S::new("delete", "route", Some(ns), target).route(route)
            }
            Change::SetSysctl {
                ns,
                key,
                value,
                was,
            } => S::new("modify", "sysctl", Some(ns), format!("{ns} {key}"))
                .detail(sysctl_detail(value, was.as_ref()))
                .sysctl(key, value, was.as_ref()),
            Change::RestoreSysctl { ns, key, value } => {
                S::new("modify", "sysctl", Some(ns), format!("{ns} {key}"))
                    .detail(format!("restore {value}"))
                    .sysctl(key, value, None)
            }
            Change::SetHostSysctl { key, value, was } => {
                S::new("modify", "sysctl", None, key.clone())
                    .detail(sysctl_detail(value, was.as_ref()))
                    .sysctl(key, value, was.as_ref())
            }
            Change::ReplaceTable {
                rules, elements, ..
            } => {
                let mut s = S::new("modify", "table", None, table())
                    .detail(format!("{rules} rules, {elements} map elements"));
                s.rules = Some(*rules);
                s.elements = Some(*elements);
                s
            }
            Change::HostRules { add, remove, .. } => {
                let mut s = S::new(
                    "modify",
                    "host_rules",
                    None,
                    "netd's rules in host chains".into(),
                )
                .detail(format!(
                    "{add} accept rules in place, {remove} replaced or removed"
                ));
                s.add = Some(*add);
                s.remove = Some(*remove);
                s
            }
            Change::DeleteTable => S::new("delete", "table", None, table()),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary();
        let sign = match s.op {
            "create" => '+',
            "delete" => '-',
            _ => '~',
        };
        write!(f, "{sign} {} {}", s.kind, s.target)?;
        if !s.detail.is_empty() {
            write!(f, " ({})", s.detail)?;
        }
        Ok(())
    }
}
