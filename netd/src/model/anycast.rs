//! Anycast services (`[anycast.NAME]`): prefixes that a namespace serves at
//! all times and that netd announces, through a route the routing sidecar
//! imports, only while the service's health checks pass. Plain data.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Serialize, Serializer};

/// The routing table netd puts announce routes in when the config names none.
pub const DEFAULT_ANNOUNCE_TABLE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anycast {
    pub name: String,
    /// The service namespace: it holds the prefixes and runs the checks.
    pub namespace: String,
    pub prefixes: Vec<IpNet>,
    /// IPv4 announce routes always go here. IPv6 ones too, except with an
    /// FRR speaker, which can only import IPv6 from the main table.
    pub announce_table: u32,
    /// Withdraw when `netd run` stops (SIGTERM/SIGINT), before it stops
    /// the processes. A killed netd leaves announcements as they are.
    pub withdraw_on_exit: bool,
    /// A process supervised in the namespace: its exit withdraws at once.
    pub process: Option<String>,
    pub speaker: Speaker,
    pub checks: Vec<Check>,
    pub routing: Routing,
}

/// The routing daemon that imports the announce routes; it decides how a
/// prefix is served and where its announce route lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// BIRD 2: prefixes are addresses on `lo` (the namespace's `loopback`);
    /// `protocol kernel { kernel table N; learn; }` imports the routes.
    #[default]
    Bird,
    /// FRR: a prefix that is an address on `lo` is never announced (the
    /// connected route wins), so netd serves each prefix as an AnyIP
    /// `local` route in table `local` instead; IPv6 announce routes go in
    /// the main table (`redistribute kernel`).
    Frr,
}

/// What `netd anycast config` needs beyond the namespace's own addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Routing {
    /// Defaults to the namespace's first IPv4 interface address.
    pub router_id: Option<Ipv4Addr>,
    pub bgp: Option<Bgp>,
    pub ospf: Option<Ospf>,
    /// BFD on the sessions (100 ms × 3); on unless turned off.
    pub bfd: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bgp {
    pub local_as: u32,
    pub neighbor_as: u32,
    /// One session per address, each carrying its own family.
    pub neighbors: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ospf {
    pub area: u32,
    /// Interface names inside the namespace.
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    #[serde(flatten)]
    pub kind: CheckKind,
    #[serde(serialize_with = "seconds")]
    pub interval: Duration,
    /// Used instead of `interval` while the state is rising or falling.
    #[serde(serialize_with = "seconds")]
    pub interval_transition: Duration,
    #[serde(serialize_with = "seconds")]
    pub timeout: Duration,
    /// Consecutive passes that make a down check up.
    pub rise: u32,
    /// Consecutive failures that make an up check down.
    pub fall: u32,
}

pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_millis(500);
pub const DEFAULT_RISE: u32 = 2;
pub const DEFAULT_FALL: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CheckKind {
    /// Passes when a TCP connection is established.
    Tcp { address: IpAddr, port: u16 },
    /// Sends `payload`; passes on any reply, or on a reply containing
    /// `expect` when set.
    Udp {
        address: IpAddr,
        port: u16,
        payload: Vec<u8>,
        expect: Option<Vec<u8>>,
    },
    /// GET `path`; passes on `status`, and when `body` is set, on a body
    /// that contains it.
    Http {
        address: IpAddr,
        port: u16,
        path: String,
        host: Option<String>,
        status: u16,
        body: Option<String>,
    },
    /// A query over UDP; passes on `rcode` (by name: NOERROR, NXDOMAIN, …)
    /// and, when `answer` is set, on an answer record whose data renders as
    /// it (an address, or a name).
    Dns {
        address: IpAddr,
        port: u16,
        name: String,
        qtype: String,
        rcode: String,
        answer: Option<String>,
    },
    /// A command run inside the namespace; exit status 0 passes.
    Exec { command: String, args: Vec<String> },
}

impl CheckKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            CheckKind::Tcp { .. } => "tcp",
            CheckKind::Udp { .. } => "udp",
            CheckKind::Http { .. } => "http",
            CheckKind::Dns { .. } => "dns",
            CheckKind::Exec { .. } => "exec",
        }
    }
}

impl Anycast {
    /// The table that holds the announce route of `prefix`.
    pub fn announce_table_for(&self, prefix: &IpNet) -> u32 {
        match (self.speaker, prefix) {
            (Speaker::Frr, IpNet::V6(_)) => super::MAIN_TABLE,
            _ => self.announce_table,
        }
    }
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
