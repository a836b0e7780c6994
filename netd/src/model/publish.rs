//! Published ports and the firewall policy: what netd puts in its nftables
//! table.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// An inclusive port range; a single port has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            start: port,
            end: port,
        }
    }

    pub fn len(&self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }

    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One published port range of one namespace, for one protocol and one
/// address family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Publish {
    pub ns: String,
    pub proto: Proto,
    /// Port(s) on the host.
    pub port: PortRange,
    /// Port(s) in the namespace; as long as `port`.
    pub to_port: PortRange,
    /// Only connections to this host address; any local address when None.
    pub host_address: Option<IpAddr>,
    /// The namespace's address connections are forwarded to; its family is
    /// the family of this entry.
    pub target: IpAddr,
}

impl Publish {
    pub fn is_ipv6(&self) -> bool {
        self.target.is_ipv6()
    }

    /// The port in the namespace that host port `port` maps to.
    pub fn target_port(&self, port: u16) -> u16 {
        self.to_port.start + (port - self.port.start)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Only netd's own table; the host's rules decide what gets through.
    #[default]
    Respect,
    /// Also insert tagged accept rules into the host chains the policy names.
    Integrate,
    /// Refuse publishes the host policy would block or the allow-list omits.
    Strict,
}

/// A host chain netd may add its accept rules to (integrate mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainRef {
    pub family: String,
    pub table: String,
    pub chain: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub mode: PolicyMode,
    /// The policy file this came from, if any (shown in errors and status).
    pub source: Option<PathBuf>,
    /// integrate: host chains that get netd's tagged accept rules.
    pub integrate_chains: Vec<ChainRef>,
    /// strict: ports that may be published, as ranges per protocol; empty
    /// means no port restriction beyond the host policy.
    pub allow_ports: Vec<(Proto, PortRange)>,
    /// strict: host addresses that may be published on; empty means any.
    pub allow_addresses: Vec<ipnet::IpNet>,
}
