//! Strict mode: before anything changes, refuse publishes that the host's
//! firewall would block, that the policy's allow-lists leave out, or whose
//! port a host socket or another table's DNAT already has.

use super::EngineError;
use super::hostnet::HostNet;
use super::port_conflict::{PublishedPort, add_conflicts, conflict_lines, on_published_port};
use super::publish_check::{check_line, check_publishes, read_ruleset};
use super::sockdiag::read_host_sockets;
use crate::firewall::FlowVerdict;
use crate::model::{Desired, Policy, PolicyMode, Publish};

/// Allow-list problems of one publish; pure.
pub fn allow_list_refusals(policy: &Policy, p: &Publish) -> Vec<String> {
    let mut out = Vec::new();
    let what = format!(
        "publish {} {}/{} ({})",
        p.ns,
        p.port,
        p.proto,
        if p.is_ipv6() { "ipv6" } else { "ipv4" }
    );
    if !policy.allow_ports.is_empty()
        && !policy.allow_ports.iter().any(|(proto, range)| {
            *proto == p.proto && range.contains(p.port.start) && range.contains(p.port.end)
        })
    {
        out.push(format!("{what}: port not in the policy's allow_ports"));
    }
    if !policy.allow_addresses.is_empty() {
        match p.host_address {
            None => out.push(format!(
                "{what}: publishes on every host address, but the policy allows only {}; set host_address",
                policy.allow_addresses.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )),
            Some(a) if !policy.allow_addresses.iter().any(|n| n.contains(&a)) => {
                out.push(format!("{what}: host address {a} not in the policy's allow_addresses"));
            }
            Some(_) => {}
        }
    }
    out
}

/// Everything strict mode refuses in `desired`, one line each; empty in
/// other modes. Reads the host's ruleset only when there is a publish.
pub fn refusals(desired: &Desired) -> Result<Vec<String>, EngineError> {
    if desired.policy.mode != PolicyMode::Strict {
        return Ok(Vec::new());
    }
    let publishes: Vec<&Publish> = desired
        .namespaces
        .values()
        .flat_map(|n| &n.publish)
        .collect();
    let mut out: Vec<String> = publishes
        .iter()
        .flat_map(|p| allow_list_refusals(&desired.policy, p))
        .collect();
    if publishes.is_empty() {
        return Ok(out);
    }
    // Judged against netd's table as this apply will load it.
    let rs = match crate::nft::render(desired) {
        Some(r) => read_ruleset()?.with_netd_table(&r.commands),
        None => read_ruleset()?,
    };
    let mut report = check_publishes(&rs, desired, &HostNet::read());
    let ports: Vec<PublishedPort> = publishes.iter().map(|p| PublishedPort::from(*p)).collect();
    let sockets = read_host_sockets(|s| on_published_port(&ports, s))?;
    add_conflicts(&mut report, &sockets, &rs);
    for checked in &report.publishes {
        for e in &checked.explanations {
            if e.verdict != FlowVerdict::Accepted {
                out.push(check_line(checked, e).trim_end().to_string());
            }
        }
        out.extend(conflict_lines(checked));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortRange, Proto};

    fn publish(port: u16, host_address: Option<&str>) -> Publish {
        Publish {
            ns: "web".into(),
            proto: Proto::Tcp,
            port: PortRange::single(port),
            to_port: PortRange::single(80),
            host_address: host_address.map(|a| a.parse().unwrap()),
            target: "10.88.0.2".parse().unwrap(),
        }
    }

    #[test]
    fn allow_lists_refuse_ports_and_addresses_outside_them() {
        let policy = Policy {
            mode: PolicyMode::Strict,
            allow_ports: vec![(
                Proto::Tcp,
                PortRange {
                    start: 8000,
                    end: 8100,
                },
            )],
            allow_addresses: vec!["192.0.2.0/24".parse().unwrap()],
            ..Policy::default()
        };
        assert!(allow_list_refusals(&policy, &publish(8080, Some("192.0.2.1"))).is_empty());
        let r = allow_list_refusals(&policy, &publish(9000, Some("198.51.100.1")));
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].contains("allow_ports") && r[1].contains("198.51.100.1"));
        let any = allow_list_refusals(&policy, &publish(8080, None));
        assert!(any[0].contains("every host address"), "{any:?}");
    }

    #[test]
    fn empty_allow_lists_restrict_nothing() {
        let policy = Policy {
            mode: PolicyMode::Strict,
            ..Policy::default()
        };
        assert!(allow_list_refusals(&policy, &publish(1, None)).is_empty());
    }
}
