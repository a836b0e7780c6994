//! `netd anycast config`: the routing daemon's config for one anycast
//! service, rendered from the model (pure, golden-tested in
//! `netd/testdata/anycast/`). `setup` resolves what the config needs from
//! the service and its namespace, and refuses what could not work; `bird`
//! and `frr` only write text.

mod bird;
mod frr;
mod setup;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use crate::model::Desired;

/// The routing daemon the config is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Bird,
    Frr,
}

/// How the prefixes reach the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Bgp,
    Ospf,
}

impl Daemon {
    fn flag(self) -> &'static str {
        match self {
            Daemon::Bird => "--bird",
            Daemon::Frr => "--frr",
        }
    }

    fn speaker(self) -> &'static str {
        match self {
            Daemon::Bird => "bird",
            Daemon::Frr => "frr",
        }
    }
}

impl Protocol {
    fn flag(self) -> &'static str {
        match self {
            Protocol::Bgp => "--bgp",
            Protocol::Ospf => "--ospf",
        }
    }
}

/// Why no config can be written; each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("there is no [anycast.{name}] in the config{}", known_services(.known))]
    UnknownService { name: String, known: Vec<String> },
    #[error(
        "`{0}` cannot be written into a routing daemon's config; use only letters, digits, `_`, `.` and `-`"
    )]
    UnsafeName(String),
    #[error("[anycast.{service}] names namespace `{namespace}`, which the config does not define")]
    UnknownNamespace { service: String, namespace: String },
    #[error("[anycast.{service}] has no prefixes to announce")]
    NoPrefixes { service: String },
    #[error(
        "[anycast.{service}] has speaker = \"{speaker}\": {reason}; set speaker = \"{wanted}\" \
         ({change}) to run {wanted_name}, or ask for `{flag}`"
    )]
    WrongSpeaker {
        service: String,
        speaker: &'static str,
        reason: &'static str,
        wanted: &'static str,
        change: &'static str,
        wanted_name: &'static str,
        flag: &'static str,
    },
    #[error(
        "[anycast.{service}] has no [anycast.{service}.{protocol}] section; add one, or ask for `{other}`"
    )]
    NoProtocol {
        service: String,
        protocol: &'static str,
        other: &'static str,
    },
    #[error(
        "namespace `{namespace}` has no IPv4 interface address to take the router id from; \
         set router_id in [anycast.{service}]"
    )]
    NoRouterId { service: String, namespace: String },
    #[error("[anycast.{service}.bgp] lists no neighbors")]
    NoNeighbors { service: String },
    #[error(
        "neighbor {neighbor} of [anycast.{service}.bgp] is in none of the subnets of namespace \
         `{namespace}`'s interfaces; a session needs a directly connected neighbor"
    )]
    NeighborNotConnected {
        service: String,
        namespace: String,
        neighbor: IpAddr,
    },
    #[error(
        "neighbor {neighbor} of [anycast.{service}.bgp] is an address of namespace `{namespace}` itself"
    )]
    NeighborIsLocal {
        service: String,
        namespace: String,
        neighbor: IpAddr,
    },
    #[error(
        "neighbor {neighbor} of [anycast.{service}.bgp] is {family}, but the service has no \
         {family} prefix to announce to it"
    )]
    NothingForNeighbor {
        service: String,
        neighbor: IpAddr,
        family: &'static str,
    },
    #[error("[anycast.{service}.ospf] lists no interfaces")]
    NoOspfInterfaces { service: String },
    #[error(
        "interface `{interface}` of [anycast.{service}.ospf] is not an interface of namespace `{namespace}`"
    )]
    UnknownInterface {
        service: String,
        namespace: String,
        interface: String,
    },
    #[error(
        "OSPFv2 announces the IPv4 prefixes over `{namespace}/{interface}`, which has no IPv4 address; \
         give it one, or leave it out of [anycast.{service}.ospf] interfaces"
    )]
    NoOspfV2Address {
        service: String,
        namespace: String,
        interface: String,
    },
    #[error(
        "OSPFv3 announces the IPv6 prefixes over `{namespace}/{interface}`, which has no IPv6 \
         link-local address; give it an IPv6 address or ipv6_link_local = true"
    )]
    NoOspfV3LinkLocal {
        service: String,
        namespace: String,
        interface: String,
    },
}

fn known_services(known: &[String]) -> String {
    if known.is_empty() {
        "; it has no [anycast.NAME] sections".to_string()
    } else {
        format!(" (services: {})", known.join(", "))
    }
}

/// The complete config of `daemon` for the anycast service `service`, to
/// run in the service's namespace.
pub fn render(
    desired: &Desired,
    service: &str,
    daemon: Daemon,
    protocol: Protocol,
) -> Result<String, RenderError> {
    let setup = setup::Setup::resolve(desired, service, daemon, protocol)?;
    Ok(match daemon {
        Daemon::Bird => bird::render(&setup),
        Daemon::Frr => frr::render(&setup),
    })
}

/// The command that writes the config, for the header comment.
fn command_line(service: &str, daemon: Daemon, protocol: Protocol) -> String {
    format!(
        "netd anycast config {service} {} {}",
        daemon.flag(),
        protocol.flag()
    )
}

/// Where the header comments suggest keeping the file.
fn suggested_path(service: &str) -> String {
    format!("/etc/netd/anycast-{service}.conf")
}
