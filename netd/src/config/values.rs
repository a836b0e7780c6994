//! Checks on single values: names, addresses, numbers. Each reports its own
//! error and returns `None` (or `false`) so the caller can carry on and find
//! the next problem.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use super::report::{Loc, Report};
use super::schema::{PortSpec, TableRef};
use crate::model::{MacAddr, PortRange};

/// Link names as the kernel's `dev_valid_name` accepts them.
pub(super) fn link_name(report: &mut Report<'_>, loc: &Loc, name: &str) -> bool {
    reported(report, loc, crate::model::check_link_name(name))
}

fn reported(report: &mut Report<'_>, loc: &Loc, checked: Result<(), String>) -> bool {
    match checked {
        Ok(()) => true,
        Err(problem) => {
            report.error(loc, problem);
            false
        }
    }
}

/// Names become files under the netns dir, so they are kept to a safe set.
pub(super) fn namespace_name(report: &mut Report<'_>, loc: &Loc, name: &str) -> bool {
    reported(report, loc, crate::model::check_namespace_name(name))
}

/// An interface address: `address/prefix`, host bits allowed.
pub(super) fn cidr(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<IpNet> {
    if let Ok(net) = text.parse() {
        return Some(net);
    }
    let message = match text.parse::<IpAddr>() {
        Ok(ip) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            format!(
                "`{text}` has no prefix length; write address/prefix, e.g. `{text}/{}` for a \
                 subnet or `{text}/{max}` for a single address",
                if ip.is_ipv4() { 24 } else { 64 }
            )
        }
        Err(_) => format!(
            "`{text}` is not a valid CIDR address; write address/prefix, e.g. `10.88.0.2/24` \
             or `fd88::2/64`"
        ),
    };
    report.error(loc, message);
    None
}

/// One address; `what` names it in the error ("a gateway").
pub(super) fn ip(report: &mut Report<'_>, loc: &Loc, text: &str, what: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    let message = match text.split_once('/') {
        Some((addr, _)) if addr.parse::<IpAddr>().is_ok() => {
            format!("`{text}` is a network; {what} is one address: write `{addr}`")
        }
        _ => format!("`{text}` is not a valid IP address (e.g. `10.88.0.1` or `fd88::1`)"),
    };
    report.error(loc, message);
    None
}

/// A route destination: a network without host bits, or `default`.
/// `default` follows the gateway's family; with no gateway it is the IPv4
/// default (write `::/0` for an IPv6 default route through a device).
pub(super) fn destination(
    report: &mut Report<'_>,
    loc: &Loc,
    text: &str,
    gateway: Option<IpAddr>,
) -> Option<IpNet> {
    if text == "default" {
        return Some(match gateway {
            Some(IpAddr::V6(_)) => "::/0".parse().expect("literal"),
            _ => "0.0.0.0/0".parse().expect("literal"),
        });
    }
    let net = cidr(report, loc, text)?;
    if net != net.trunc() {
        report.error(
            loc,
            format!(
                "`{text}` has host bits set; a route destination is a network: write `{}`",
                net.trunc()
            ),
        );
        return None;
    }
    Some(net)
}

pub(super) fn mac(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<MacAddr> {
    text.parse().map_err(|e: String| report.error(loc, e)).ok()
}

pub(super) fn mtu(report: &mut Report<'_>, loc: &Loc, n: i64) -> Option<u32> {
    if (68..=65535).contains(&n) {
        return u32::try_from(n).ok();
    }
    report.error(
        loc,
        format!("MTU {n} is out of range; use 68..=65535 (usually 1500)"),
    );
    None
}

pub(super) fn metric(report: &mut Report<'_>, loc: &Loc, n: i64) -> Option<u32> {
    let m = u32::try_from(n).ok();
    if m.is_none() {
        report.error(
            loc,
            format!("metric {n} is out of range; use 0..={}", u32::MAX),
        );
    }
    m
}

/// A port or port range as `port` and `to_port` take it.
pub(super) fn port_range(report: &mut Report<'_>, loc: &Loc, spec: &PortSpec) -> Option<PortRange> {
    let parsed = match spec {
        PortSpec::Number(n) => match u16::try_from(*n) {
            Ok(port) if port != 0 => Ok(PortRange::single(port)),
            _ => Err(port_out_of_range(&n.to_string())),
        },
        PortSpec::Text(text) => parse_port_range(text),
    };
    parsed.map_err(|message| report.error(loc, message)).ok()
}

/// `8080` or `8000-8010`; the error is the message to report.
pub(super) fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let malformed = || {
        format!(
            "`{text}` is not a port or a port range; write one port (`8080`) or a range \
             (`8000-8010`)"
        )
    };
    let port = |s: &str| {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        match s.parse::<u16>() {
            Ok(p) if p != 0 => Ok(p),
            _ => Err(port_out_of_range(s)),
        }
    };
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => {
            let p = port(text)?;
            (p, p)
        }
    };
    if start > end {
        return Err(format!(
            "`{text}` starts after it ends; write `{end}-{start}`"
        ));
    }
    Ok(PortRange { start, end })
}

fn port_out_of_range(shown: &str) -> String {
    format!("port {shown} is out of range; use 1..=65535")
}

/// Routing table: a number or one of the names in `/etc/iproute2/rt_tables`
/// that every system has.
pub(super) fn table(report: &mut Report<'_>, loc: &Loc, table: &TableRef) -> Option<u32> {
    let message = match table {
        TableRef::Name(name) => match name.as_str() {
            "main" => return Some(254),
            "local" => return Some(255),
            "default" => return Some(253),
            _ => format!(
                "unknown table name `{name}`; use a number (1..={}) or \"main\", \"local\", \
                 \"default\"",
                u32::MAX
            ),
        },
        TableRef::Id(0) => format!(
            "table 0 is reserved (the kernel reads it as \"unspecified\"); use 1..={} or \"main\"",
            u32::MAX
        ),
        TableRef::Id(n) => match u32::try_from(*n) {
            Ok(id) => return Some(id),
            Err(_) => format!("table {n} is out of range; use 1..={}", u32::MAX),
        },
    };
    report.error(loc, message);
    None
}

/// Only `net.*` sysctls are per network namespace; anything else would be
/// written to the host's value, behind the user's back.
pub(super) fn sysctl_key(report: &mut Report<'_>, loc: &Loc, key: &str) -> bool {
    reported(report, loc, crate::model::check_sysctl_key(key))
}

pub(super) fn absolute_path(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<PathBuf> {
    let path = PathBuf::from(text);
    if path.is_absolute() {
        return Some(path);
    }
    report.error(
        loc,
        format!("`{text}` is not an absolute path; write it from `/`"),
    );
    None
}
