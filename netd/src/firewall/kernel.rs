//! What decides a published connection outside the nftables ruleset: netd's
//! own table being loaded, the forwarding and localnet sysctls, IPv6
//! loopback, and iptables-legacy tables that `nft` cannot see.

use super::flow::{Flow, HostAddr, Iface};
use super::host::HostFacts;
use super::outcome::{FlowVerdict, HostEffect};
use super::ruleset::{Family, Ruleset};

fn effect(effect: FlowVerdict, reason: String, check: impl Into<String>) -> HostEffect {
    HostEffect {
        effect,
        reason,
        check: check.into(),
    }
}

/// Every effect outside the ruleset on `flow`.
pub(super) fn effects(rs: &Ruleset, flow: &Flow, host: &HostFacts) -> Vec<HostEffect> {
    let mut out = Vec::new();
    if rs.table(Family::Inet, "netd").is_none() {
        out.push(effect(
            FlowVerdict::Dropped,
            "table inet netd is not loaded (after `nft flush ruleset` or a firewall reload?): nothing DNATs the connection to the namespace".into(),
            "run `netd apply`, or let the running daemon restore it",
        ));
    }
    if flow.from_host && flow.is_ipv6() && touches_v6_loopback(flow) {
        out.push(effect(
            FlowVerdict::Dropped,
            "IPv6 has no route_localnet: the kernel never sends a packet from or to ::1 out of lo, so a connection to [::1] cannot be DNATed to a namespace".into(),
            "connect to one of the host's own IPv6 addresses, or to 127.0.0.1",
        ));
    }
    if !host.read {
        return out;
    }
    if !flow.from_host {
        out.extend(forwarding(flow, host));
    }
    if flow.masqueraded() {
        out.extend(localnet(flow, host));
    }
    let family = if flow.is_ipv6() {
        Family::Ip6
    } else {
        Family::Ip
    };
    for t in host.legacy.iter().filter(|t| t.family == family) {
        if t.is_inert() {
            continue;
        }
        out.push(effect(
            FlowVerdict::Undetermined,
            format!(
                "iptables-legacy table {} {} is active ({}): nft cannot see its rules, and they run as well",
                t.family,
                t.name,
                t.summary()
            ),
            format!(
                "list it with `{} -t {} -S`; move its rules to nftables or iptables-nft",
                t.tool(),
                t.name
            ),
        ));
    }
    out
}

fn touches_v6_loopback(flow: &Flow) -> bool {
    flow.source.is_loopback() || matches!(flow.host, HostAddr::Addr(a) if a.is_loopback())
}

/// Forwarding must be on for the client's interface (the first packet) and
/// the bridge (the reply): IPv4 per input interface, IPv6 for all.
fn forwarding(flow: &Flow, host: &HostFacts) -> Vec<HostEffect> {
    if flow.is_ipv6() {
        return match host.forwarding_v6 {
            Some(false) => vec![effect(
                FlowVerdict::Dropped,
                "IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0): the host does not forward the connection to the namespace".into(),
                "sysctl -w net.ipv6.conf.all.forwarding=1 (and set it in /etc/sysctl.d to keep it)",
            )],
            _ => Vec::new(),
        };
    }
    let mut out = Vec::new();
    for (iface, which) in [
        (&flow.iif, "the client's interface"),
        (&flow.bridge, "the bridge"),
    ] {
        match v4_forwarding(iface, host) {
            Some(true) => {}
            Some(false) => out.push(effect(
                FlowVerdict::Dropped,
                format!(
                    "IPv4 forwarding is off on {which} {iface} (net.ipv4.conf.{}.forwarding = 0): the host does not forward {}",
                    name_or_all(iface),
                    if which == "the bridge" { "the namespace's reply" } else { "the connection to the namespace" }
                ),
                "sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/sysctl.d to keep it)",
            )),
            None => out.push(effect(
                FlowVerdict::Undetermined,
                format!(
                    "IPv4 forwarding is off on some interfaces ({}), and {which} is not known",
                    off_devices(host).join(", ")
                ),
                "sysctl net.ipv4.conf.all.forwarding; explain with --from an address of the client",
            )),
        }
    }
    out
}

/// Forwarding on an interface: its own value, or, for an interface not
/// known by name, the value every candidate shares (None when they differ).
fn v4_forwarding(iface: &Iface, host: &HostFacts) -> Option<bool> {
    match iface {
        Iface::Named(n) => Some(
            host.forwarding_v4
                .get(n)
                .or_else(|| host.forwarding_v4.get("all"))
                .copied()
                .unwrap_or(true),
        ),
        Iface::Unknown { not } => {
            let mut candidates = host
                .forwarding_v4
                .iter()
                .filter(|(d, _)| {
                    !matches!(d.as_str(), "all" | "default" | "lo") && !not.contains(d)
                })
                .map(|(_, on)| *on);
            let Some(first) = candidates.next() else {
                return Some(host.forwarding_v4.get("all").copied().unwrap_or(true));
            };
            candidates.all(|on| on == first).then_some(first)
        }
    }
}

fn off_devices(host: &HostFacts) -> Vec<String> {
    host.forwarding_v4
        .iter()
        .filter(|(d, on)| !**on && !matches!(d.as_str(), "all" | "default"))
        .map(|(d, _)| d.clone())
        .collect()
}

fn name_or_all(iface: &Iface) -> &str {
    match iface {
        Iface::Named(n) => n,
        Iface::Unknown { .. } => "all",
    }
}

/// A connection from 127.0.0.1, DNATed to a namespace, leaves by the
/// bridge only with route_localnet on there (or on all).
fn localnet(flow: &Flow, host: &HostFacts) -> Vec<HostEffect> {
    let all = host.route_localnet.get("all").copied().unwrap_or(false);
    let on = match &flow.bridge {
        Iface::Named(b) => all || host.route_localnet.get(b).copied().unwrap_or(false),
        Iface::Unknown { .. } => all,
    };
    if on {
        return Vec::new();
    }
    vec![effect(
        FlowVerdict::Dropped,
        format!(
            "route_localnet is off on {} (net.ipv4.conf.{}.route_localnet = 0): the kernel drops a 127.0.0.1 connection DNATed out of lo",
            flow.bridge,
            name_or_all(&flow.bridge)
        ),
        "netd apply sets it on netd's bridges; something reset it",
    )]
}
