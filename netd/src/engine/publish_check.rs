//! Publishes against the host's firewall: read the ruleset, explain the
//! first packet of each published flow, and word the verdict. Shared by
//! `netd firewall` and strict mode; prints nothing.

use std::net::IpAddr;

use serde::Serialize;

use super::EngineError;
use super::hostnet::HostNet;
use super::port_conflict::Conflict;
use crate::firewall::{
    Explanation, Flow, FlowVerdict, HostAddr, Iface, Outcome, Phase, Ruleset, explain,
};
use crate::model::{Desired, PortRange, Proto, Publish};

/// The host's ruleset, from `nft -j list ruleset` (through the nftables
/// crate's raw helper: the JSON is parsed by netd's tolerant parser, since
/// foreign tables hold expressions the crate's strict schema may refuse),
/// with the options of iptables matches from `iptables-nft-save`.
pub fn read_ruleset() -> Result<Ruleset, EngineError> {
    let text = nftables::helper::get_current_ruleset_raw(None::<&str>, &["list", "ruleset"])
        .map_err(|e| {
            EngineError::Firewall(format!(
                "cannot read the host's ruleset with `nft -j list ruleset`: {e} (netd firewall needs nft and root or CAP_NET_ADMIN)"
            ))
        })?;
    if text.trim().is_empty() {
        return Ok(Ruleset::default());
    }
    let mut rs = Ruleset::from_json_str(&text).map_err(|e| {
        EngineError::Firewall(format!("cannot parse `nft -j list ruleset` output: {e}"))
    })?;
    if rs.lacks_devices() {
        // nft -j (up to 1.0.6 at least) omits ingress chains' devices; its
        // text listing has them. Without it they stay unknown, and explain
        // says "undetermined" for such a chain.
        match std::process::Command::new("nft")
            .args(["list", "chains"])
            .output()
        {
            Ok(out) if out.status.success() => {
                rs.fill_devices(&String::from_utf8_lossy(&out.stdout));
            }
            _ => rs.warnings.push(
                "`nft list chains` failed: the devices of ingress chains are not known".into(),
            ),
        }
    }
    super::iptables_save::attach_iptables_options(&mut rs);
    Ok(rs)
}

pub fn explain_publish(
    rs: &Ruleset,
    desired: &Desired,
    host: &HostNet,
    p: &Publish,
    host_port: u16,
    from: Option<IpAddr>,
) -> Explanation {
    let mut flow = Flow::to_publish(desired, p, host_port);
    flow.source = from.unwrap_or(flow.source);
    flow.from_host = flow.source.is_loopback() || host.addrs.iter().any(|(_, a)| *a == flow.source);
    if flow.from_host {
        // The host's own connection from an address goes to that address
        // (a local route's source is its destination), unless the publish
        // names one.
        flow.iif = Iface::Unknown { not: Vec::new() };
        if p.host_address.is_none() {
            flow.host = HostAddr::Addr(flow.source);
        }
    }
    let bridges: Vec<String> = desired.bridges.keys().cloned().collect();
    if !flow.from_host
        && let Some(dev) = host.route_dev(flow.source)
        && !bridges.contains(&dev)
        && dev != "lo"
    {
        flow.iif = Iface::Named(dev);
    }
    // A client outside connects to an address of the link it comes in by;
    // without one, any local address (rules on a specific address then stay
    // unknown).
    let mut note = None;
    if let (HostAddr::AnyLocal, Iface::Named(dev), false) = (flow.host, &flow.iif, flow.from_host)
        && let Some(a) = host.addr_on(dev, p.is_ipv6())
    {
        note = Some(format!(
            "the publish has no host_address: assumed the client connects to {a}, the address of {dev}, the link its route comes in by"
        ));
        flow.host = HostAddr::Addr(a);
    }
    let mut e = explain(rs, &flow, &host.facts);
    e.notes.extend(note);
    e
}

#[derive(Serialize)]
pub struct CheckedPublish<'a> {
    pub ns: &'a str,
    pub proto: Proto,
    /// Host ports, `{"start", "end"}`: numbers, a single port has start == end.
    pub port: PortRange,
    pub to_port: PortRange,
    pub host_address: Option<IpAddr>,
    pub target: IpAddr,
    pub explanations: Vec<Explanation>,
    /// Host sockets and other tables' DNATs on the port (filled by
    /// [`super::port_conflict::add_conflicts`]).
    pub conflicts: Vec<Conflict>,
}

impl<'a> CheckedPublish<'a> {
    pub fn new(p: &'a Publish, explanations: Vec<Explanation>) -> Self {
        CheckedPublish {
            ns: &p.ns,
            proto: p.proto,
            port: p.port,
            to_port: p.to_port,
            host_address: p.host_address,
            target: p.target,
            explanations,
            conflicts: Vec::new(),
        }
    }
}

/// Every publish of a config against the host's ruleset.
#[derive(Serialize)]
pub struct CheckReport<'a> {
    pub publishes: Vec<CheckedPublish<'a>>,
    pub accepted: usize,
    pub dropped: usize,
    pub undetermined: usize,
    pub conflicts: usize,
}

impl CheckReport<'_> {
    /// Whether any publish is (or may be) blocked.
    pub fn any_blocked(&self) -> bool {
        self.dropped + self.undetermined > 0
    }
}

/// Explains each publish of `desired` (both ends of a range) against `rs`.
pub fn check_publishes<'d>(rs: &Ruleset, desired: &'d Desired, host: &HostNet) -> CheckReport<'d> {
    let mut report = CheckReport {
        publishes: Vec::new(),
        accepted: 0,
        dropped: 0,
        undetermined: 0,
        conflicts: 0,
    };
    for p in desired.namespaces.values().flat_map(|ns| &ns.publish) {
        let mut ports = vec![p.port.start];
        if p.port.end != p.port.start {
            ports.push(p.port.end);
        }
        let explanations: Vec<Explanation> = ports
            .into_iter()
            .map(|port| explain_publish(rs, desired, host, p, port, None))
            .collect();
        for e in &explanations {
            match e.verdict {
                FlowVerdict::Accepted => report.accepted += 1,
                FlowVerdict::Dropped => report.dropped += 1,
                FlowVerdict::Undetermined => report.undetermined += 1,
            }
        }
        report.publishes.push(CheckedPublish::new(p, explanations));
    }
    report
}

/// One flow of `check`: the verdict and, when not accepted, what decided it
/// and how to allow it.
pub fn check_line(cp: &CheckedPublish<'_>, e: &Explanation) -> String {
    let f = &e.flow;
    let target = if f.target.is_ipv6() {
        format!("[{}]:{}", f.target, f.target_port)
    } else {
        format!("{}:{}", f.target, f.target_port)
    };
    let mut s = format!(
        "{} {}->{target}/{} ({}): ",
        cp.ns, f.host_port, f.proto, f.host
    );
    let phase = match e.decided_by.as_ref().map(|d| d.packet) {
        Some(p) if p != Phase::First => format!(" ({p})"),
        _ => String::new(),
    };
    let host_effect = |v: FlowVerdict| e.host.iter().find(|h| h.effect == v);
    match (&e.verdict, e.decided_by.as_ref().map(|d| &d.outcome)) {
        (FlowVerdict::Accepted, _) => s.push_str("accepted\n"),
        (FlowVerdict::Dropped, Some(Outcome::Drop { decision })) => {
            s.push_str(&format!("DROPPED{phase} by {decision}\n"));
        }
        (_, Some(Outcome::Undetermined { at, reason, .. })) => {
            s.push_str(&format!("undetermined{phase} at {at}\n    ({reason})\n"));
            for d in e.decided_by.iter().flat_map(|d| d.outcome.drops()) {
                s.push_str(&format!("    may be dropped by {d}\n"));
            }
        }
        (v, _) => match host_effect(*v) {
            Some(h) => s.push_str(&format!(
                "{} by the host: {}\n    check: {}\n",
                if *v == FlowVerdict::Dropped {
                    "DROPPED"
                } else {
                    "undetermined"
                },
                h.reason,
                h.check
            )),
            None => s.push_str(&format!("{v:?}\n")),
        },
    }
    // Host effects the line above does not already name.
    for h in &e.host {
        if host_effect(e.verdict) != Some(h) || e.decided_by.is_some() {
            s.push_str(&format!("    also: {} ({})\n", h.reason, h.check));
        }
    }
    for fix in &e.fixes {
        s.push_str(&format!("    to allow it: {}\n", fix.command));
    }
    s
}
