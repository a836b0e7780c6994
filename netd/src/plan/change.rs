//! One kernel change, and its rendering for people (`+ link web/eth0 …`) and
//! scripts (`--json`).

use std::fmt;

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{MacAddr, Route};

/// Which namespace a link, address or route change happens in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum Scope {
    Host,
    Ns(String),
}

impl Scope {
    fn prefix(&self) -> String {
        match self {
            Scope::Host => String::new(),
            Scope::Ns(ns) => format!("{ns}/"),
        }
    }

    pub fn ns(&self) -> Option<&str> {
        match self {
            Scope::Host => None,
            Scope::Ns(ns) => Some(ns),
        }
    }
}

/// Settings changed on an existing link; only the `Some` fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkSettings {
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<MacAddr>,
    /// Bridge name (host links only).
    pub master: Option<String>,
    /// Ownership mark to set on a link netd made but did not get to mark.
    pub alias: Option<String>,
    /// Bridge port isolation (and hairpin, always on for netd's ports).
    pub isolated: Option<bool>,
    /// Whether the link gets an IPv6 link-local address (addr_gen_mode).
    pub ipv6_link_local: Option<bool>,
    /// A bridge's MTU, set once its ports have changed: until then the
    /// kernel lowers it to its smallest port's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub after_ports: bool,
}

impl LinkSettings {
    pub fn is_empty(&self) -> bool {
        *self == LinkSettings::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    CreateNamespace {
        ns: String,
    },
    AdoptNamespace {
        ns: String,
    },
    DeleteNamespace {
        ns: String,
    },
    /// Forget an adopted namespace after removing netd's objects from it;
    /// the namespace itself was never netd's to remove.
    ReleaseNamespace {
        ns: String,
    },
    /// Complete the record of a namespace whose creation was interrupted
    /// after the pin was made: store the pin's identity.
    RecordNamespace {
        ns: String,
    },
    /// Drop the record of a namespace whose pin is gone or holds something
    /// that is not netd's any more; the pin path is left as it is.
    ForgetNamespace {
        ns: String,
        reason: String,
    },
    CreateBridge {
        name: String,
        mtu: Option<u32>,
    },
    CreateVeth {
        ns: String,
        name: String,
        host_name: String,
        bridge: String,
        mac: MacAddr,
        host_mac: MacAddr,
        mtu: Option<u32>,
        ipv6_link_local: bool,
        /// Bridge port isolation of the host end.
        isolated: bool,
        /// Why an existing link of this name is replaced rather than changed.
        replace: Option<String>,
    },
    CreateDummy {
        ns: String,
        name: String,
        mac: MacAddr,
        mtu: Option<u32>,
        ipv6_link_local: bool,
        replace: Option<String>,
    },
    SetLink {
        scope: Scope,
        name: String,
        settings: LinkSettings,
    },
    DeleteLink {
        scope: Scope,
        name: String,
    },
    AddAddress {
        scope: Scope,
        link: String,
        addr: IpNet,
    },
    DeleteAddress {
        scope: Scope,
        link: String,
        addr: IpNet,
    },
    AddRoute {
        ns: String,
        route: Route,
    },
    DeleteRoute {
        ns: String,
        route: Route,
    },
    SetSysctl {
        ns: String,
        key: String,
        value: String,
        was: Option<String>,
    },
    /// Put back the value a sysctl had before netd changed it in an adopted
    /// namespace.
    RestoreSysctl {
        ns: String,
        key: String,
        value: String,
    },
    /// A sysctl of one of netd's bridges, in the host namespace.
    SetHostSysctl {
        key: String,
        value: String,
        was: Option<String>,
    },
    /// Replace the contents of `table inet netd` in one transaction.
    ReplaceTable {
        rules: usize,
        elements: usize,
        /// The `nft -j` commands; not part of the summary.
        #[serde(skip)]
        commands: String,
    },
    DeleteTable,
    /// netd's tagged accept rules in host chains (integrate mode): `add`
    /// rules to be in place, `remove` stale ones to go, in one transaction.
    HostRules {
        add: usize,
        remove: usize,
        #[serde(skip)]
        commands: String,
    },
}

/// The `--json` shape of a change: stable, flat, easy to filter with jq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    pub op: &'static str,
    pub kind: &'static str,
    pub ns: Option<String>,
    pub target: String,
    pub detail: String,
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
/// with the reason: `~ link web/eth0 (replace: kind changes from dummy to veth)`.
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

impl Change {
    pub fn summary(&self) -> ChangeSummary {
        let s = |op, kind, ns: Option<&str>, target: String, detail: String| ChangeSummary {
            op,
            kind,
            ns: ns.map(str::to_string),
            target,
            detail,
            replace: None,
        };
        match self {
            Change::CreateNamespace { ns } => {
                s("create", "namespace", Some(ns), ns.clone(), String::new())
            }
            Change::AdoptNamespace { ns } => s(
                "modify",
                "namespace",
                Some(ns),
                ns.clone(),
                "adopt existing namespace".into(),
            ),
            Change::DeleteNamespace { ns } => {
                s("delete", "namespace", Some(ns), ns.clone(), String::new())
            }
            Change::ReleaseNamespace { ns } => s(
                "modify",
                "namespace",
                Some(ns),
                ns.clone(),
                "release adopted namespace".into(),
            ),
            Change::RecordNamespace { ns } => s(
                "modify",
                "namespace",
                Some(ns),
                ns.clone(),
                "record the pin an interrupted run made".into(),
            ),
            Change::ForgetNamespace { ns, reason } => s(
                "modify",
                "namespace",
                Some(ns),
                ns.clone(),
                format!("forget netd's record: {reason}"),
            ),
            Change::CreateBridge { name, mtu } => s(
                "create",
                "bridge",
                None,
                name.clone(),
                mtu.map(|m| format!("mtu {m}")).unwrap_or_default(),
            ),
            Change::CreateVeth {
                ns,
                name,
                host_name,
                bridge,
                replace,
                ..
            } => replacing(
                s(
                    "create",
                    "link",
                    Some(ns),
                    format!("{ns}/{name}"),
                    format!("veth, host {host_name} on {bridge}"),
                ),
                replace,
            ),
            Change::CreateDummy {
                ns, name, replace, ..
            } => replacing(
                s(
                    "create",
                    "link",
                    Some(ns),
                    format!("{ns}/{name}"),
                    "dummy".into(),
                ),
                replace,
            ),
            Change::SetLink {
                scope,
                name,
                settings,
            } => s(
                "modify",
                "link",
                scope.ns(),
                format!("{}{name}", scope.prefix()),
                settings_text(settings),
            ),
            Change::DeleteLink { scope, name } => s(
                "delete",
                "link",
                scope.ns(),
                format!("{}{name}", scope.prefix()),
                String::new(),
            ),
            Change::AddAddress { scope, link, addr } => s(
                "create",
                "address",
                scope.ns(),
                format!("{}{link} {addr}", scope.prefix()),
                String::new(),
            ),
            Change::DeleteAddress { scope, link, addr } => s(
                "delete",
                "address",
                scope.ns(),
                format!("{}{link} {addr}", scope.prefix()),
                String::new(),
            ),
            Change::AddRoute { ns, route } => s(
                "create",
                "route",
                Some(ns),
                format!("{ns} {}", route_text(route)),
                String::new(),
            ),
            Change::DeleteRoute { ns, route } => s(
                "delete",
                "route",
                Some(ns),
                format!("{ns} {}", route_text(route)),
                String::new(),
            ),
            Change::SetSysctl {
                ns,
                key,
                value,
                was,
            } => s(
                "modify",
                "sysctl",
                Some(ns),
                format!("{ns} {key}"),
                match was {
                    Some(old) => format!("{old} -> {value}"),
                    None => format!("= {value}"),
                },
            ),
            Change::RestoreSysctl { ns, key, value } => s(
                "modify",
                "sysctl",
                Some(ns),
                format!("{ns} {key}"),
                format!("restore {value}"),
            ),
            Change::SetHostSysctl { key, value, was } => s(
                "modify",
                "sysctl",
                None,
                key.clone(),
                match was {
                    Some(old) => format!("{old} -> {value}"),
                    None => format!("= {value}"),
                },
            ),
            Change::ReplaceTable {
                rules, elements, ..
            } => s(
                "modify",
                "nftables",
                None,
                format!("table inet {}", crate::nft::TABLE),
                format!("{rules} rules, {elements} map elements"),
            ),
            Change::HostRules { add, remove, .. } => s(
                "modify",
                "nftables",
                None,
                "netd's rules in host chains".into(),
                format!("{add} accept rules in place, {remove} replaced or removed"),
            ),
            Change::DeleteTable => s(
                "delete",
                "nftables",
                None,
                format!("table inet {}", crate::nft::TABLE),
                String::new(),
            ),
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
