//! `netd firewall show|explain|check`: the host's nftables ruleset, and what
//! it does to connections to netd's published ports. Read-only: the
//! ruleset comes from one `nft -j list ruleset`, the rest from the config
//! and the host's addresses and routes.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::output::print_json;

use super::{Cli, CliError, load_config};
use crate::engine::hostfacts::read_host_facts;
use crate::engine::hostnet::HostNet;
use crate::engine::port_conflict::{
    Conflict, PublishedPort, add_conflicts, conflict_lines, conflicts, on_published_port,
};
use crate::engine::publish_check::{check_line, check_publishes, explain_publish, read_ruleset};
use crate::engine::sockdiag::read_host_sockets;
use crate::firewall::{Explanation, FlowVerdict, show};
use crate::model::{Desired, PortRange, Proto, Publish};

/// Inspect the host firewall against netd's published ports.
#[derive(Debug, clap::Subcommand)]
pub enum FirewallCommand {
    /// Show the host's nftables tables, their owners and base chains
    ///
    /// For each table: who owns it (netd, Docker, podman, firewalld, ufw,
    /// iptables-nft, the admin), its base chains with hook, type, priority
    /// and policy, and the expressions netd cannot evaluate; then the order
    /// in which packets meet the base chains at each hook, and the
    /// iptables-legacy tables, which nft cannot see.
    #[command(
        after_help = "Examples:\n  netd firewall show\n  netd firewall show --json | jq '.tables[] | select(.owner == \"ufw\")'"
    )]
    Show {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Explain what the host firewall does to a published port's connections
    ///
    /// Follows the first packet of a connection through every hook and base
    /// chain: the rule or policy that accepts or drops it, and the command
    /// that would allow it. Exit 0 when accepted, 1 when dropped or
    /// undetermined or when a host socket or another table's DNAT already
    /// has the port (a `conflict:` line), 2 for an unknown namespace or
    /// port.
    #[command(
        after_help = "Examples:\n  netd firewall explain web:80\n  netd firewall explain web:8080/tcp --from 198.51.100.4\n  netd firewall explain web:53/udp --from 127.0.0.1 --json"
    )]
    Explain {
        /// NS:PORT[/PROTO]: a namespace and a port it publishes, on the host
        /// side or the namespace side
        target: String,
        /// The client's address (default: a documentation address outside
        /// every local subnet); a local or loopback address means a
        /// connection from the host itself
        #[arg(long)]
        from: Option<IpAddr>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        #[arg(short, long, default_value = "/etc/netd/netd.toml")]
        config: PathBuf,
    },
    /// Explain every published port of the config
    ///
    /// Exit 1 if the host firewall drops any, if any cannot be determined,
    /// or if a host socket or another table's DNAT already has a published
    /// port (a conflict).
    #[command(
        after_help = "Examples:\n  netd firewall check\n  netd firewall check -c /etc/netd/netd.toml --json"
    )]
    Check {
        #[arg(short, long, default_value = "/etc/netd/netd.toml")]
        config: PathBuf,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cli: &Cli, cmd: &FirewallCommand) -> Result<u8, CliError> {
    match cmd {
        FirewallCommand::Show { json } => {
            let s = show(&read_ruleset()?, &read_host_facts());
            if *json {
                print_json(&s);
            } else {
                print!("{}", s.text());
            }
            Ok(0)
        }
        FirewallCommand::Explain {
            target,
            from,
            json,
            config,
        } => {
            let desired = load_config(cli, config)?;
            let flows = target_flows(&desired, config, target, *from)?;
            let rs = read_ruleset()?;
            let host = HostNet::read();
            let explanations: Vec<Explanation> = flows
                .iter()
                .map(|(p, port)| explain_publish(&rs, &desired, &host, p, *port, *from))
                .collect();
            let conflicts = flow_conflicts(&flows, &rs)?;
            if *json {
                print_json(&serde_json::json!({
                    "explanations": explanations,
                    "conflicts": conflicts,
                }));
            } else {
                let texts: Vec<String> = explanations.iter().map(Explanation::text).collect();
                print!("{}", texts.join("\n"));
                for c in &conflicts {
                    println!("conflict: {}", c.text());
                }
            }
            Ok(exit_code(&explanations).max(u8::from(!conflicts.is_empty())))
        }
        FirewallCommand::Check { config, json } => {
            let desired = load_config(cli, config)?;
            check(&desired, config, *json)
        }
    }
}

impl FirewallCommand {
    pub(crate) fn json(&self) -> bool {
        match self {
            FirewallCommand::Show { json }
            | FirewallCommand::Explain { json, .. }
            | FirewallCommand::Check { json, .. } => *json,
        }
    }
}

/// The conflicts on the ports explained, each once.
fn flow_conflicts(
    flows: &[(&Publish, u16)],
    rs: &crate::firewall::Ruleset,
) -> Result<Vec<Conflict>, CliError> {
    let ports: Vec<PublishedPort> = flows
        .iter()
        .map(|(p, port)| PublishedPort {
            port: PortRange::single(*port),
            ..PublishedPort::from(*p)
        })
        .collect();
    let sockets = read_host_sockets(|s| on_published_port(&ports, s))?;
    let mut out: Vec<Conflict> = Vec::new();
    for pp in &ports {
        for c in conflicts(pp, &sockets, rs) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

fn exit_code(explanations: &[Explanation]) -> u8 {
    u8::from(
        explanations
            .iter()
            .any(|e| e.verdict != FlowVerdict::Accepted),
    )
}

/// Parses `NS:PORT[/PROTO]` and finds the publishes it names, with the host
/// port of each.
fn target_flows<'d>(
    desired: &'d Desired,
    config: &Path,
    target: &str,
    from: Option<IpAddr>,
) -> Result<Vec<(&'d Publish, u16)>, CliError> {
    let usage = |m: String| CliError::Usage(m);
    let (ns, rest) = target.split_once(':').ok_or_else(|| {
        usage(format!(
            "{target}: want NS:PORT[/PROTO], e.g. web:80 or web:53/udp"
        ))
    })?;
    let (port, proto) = match rest.split_once('/') {
        Some((p, "tcp")) => (p, Some(Proto::Tcp)),
        Some((p, "udp")) => (p, Some(Proto::Udp)),
        Some((_, other)) => {
            return Err(usage(format!(
                "{target}: protocol {other} is not tcp or udp"
            )));
        }
        None => (rest, None),
    };
    let port: u16 = port
        .parse()
        .map_err(|_| usage(format!("{target}: {port} is not a port number")))?;
    let namespace = desired.namespaces.get(ns).ok_or_else(|| {
        usage(format!(
            "{target}: there is no namespace {ns} in {}",
            config.display()
        ))
    })?;
    let matches: Vec<(&Publish, u16)> = namespace
        .publish
        .iter()
        .filter(|p| proto.is_none_or(|want| p.proto == want))
        .filter(|p| from.is_none_or(|f| f.is_ipv6() == p.is_ipv6()))
        .filter_map(|p| {
            if p.port.contains(port) {
                Some((p, port))
            } else if p.to_port.contains(port) {
                Some((p, p.port.start + (port - p.to_port.start)))
            } else {
                None
            }
        })
        .collect();
    if matches.is_empty() {
        let published: BTreeSet<String> = namespace
            .publish
            .iter()
            .map(|p| format!("{}->{}/{}", p.port, p.to_port, p.proto))
            .collect();
        let published = if published.is_empty() {
            "nothing".to_string()
        } else {
            published.into_iter().collect::<Vec<_>>().join(", ")
        };
        let family = match from {
            Some(f) if f.is_ipv6() => " over IPv6",
            Some(_) => " over IPv4",
            None => "",
        };
        return Err(usage(format!(
            "{target}: namespace {ns} publishes no port {port}{}{family} (it publishes {published})",
            proto.map(|p| format!("/{p}")).unwrap_or_default()
        )));
    }
    Ok(matches)
}

fn check(desired: &Desired, config: &Path, json: bool) -> Result<u8, CliError> {
    let rs = read_ruleset().map_err(CliError::runtime)?;
    let mut report = check_publishes(&rs, desired, &HostNet::read());
    let ports: Vec<PublishedPort> = report.publishes.iter().map(PublishedPort::from).collect();
    let sockets = read_host_sockets(|s| on_published_port(&ports, s))?;
    add_conflicts(&mut report, &sockets, &rs);
    let code = u8::from(report.any_blocked() || report.conflicts > 0);
    if json {
        print_json(&report);
        return Ok(code);
    }
    if report.publishes.is_empty() {
        println!("{}: no published ports", config.display());
        return Ok(0);
    }
    for cp in &report.publishes {
        for e in &cp.explanations {
            print!("{}", check_line(cp, e));
        }
        for line in conflict_lines(cp) {
            println!("{line}");
        }
    }
    println!(
        "{}: {} accepted, {} dropped, {} undetermined, {} conflict(s)",
        config.display(),
        report.accepted,
        report.dropped,
        report.undetermined,
        report.conflicts
    );
    Ok(code)
}
