//! One kernel change, as data. Its rendering for people and scripts is in
//! `summary.rs`.

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
    pub(super) fn prefix(&self) -> String {
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

/// What kind of link a change is about, so that a link is named the same
/// (`bridge`, `veth`, `dummy`) when it is created, changed and deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    Bridge,
    Veth,
    Dummy,
    Loopback,
    /// Any other kind: netd never creates one, but may find one it marked.
    Link,
}

impl LinkKind {
    /// From the kind the kernel reports (`IFLA_INFO_KIND`); `lo` has none.
    pub fn observed(kind: Option<&str>, name: &str) -> Self {
        match kind {
            Some("bridge") => LinkKind::Bridge,
            Some("veth") => LinkKind::Veth,
            Some("dummy") => LinkKind::Dummy,
            None if name == "lo" => LinkKind::Loopback,
            _ => LinkKind::Link,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Bridge => "bridge",
            LinkKind::Veth => "veth",
            LinkKind::Dummy => "dummy",
            LinkKind::Loopback => "loopback",
            LinkKind::Link => "link",
        }
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
        kind: LinkKind,
        settings: LinkSettings,
    },
    DeleteLink {
        scope: Scope,
        name: String,
        kind: LinkKind,
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
