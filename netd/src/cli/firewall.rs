//! `netd firewall show|explain|check`: the host's nftables ruleset, and what
//! it does to connections to netd's published ports. Read-only: the
//! ruleset comes from one `nft -j list ruleset`, the rest from the config
//! and the host's addresses and routes.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::hostnet::HostNet;
use super::{Cli, CliError, load_config};
use crate::firewall::{
    Explanation, Flow, FlowVerdict, HostAddr, Iface, Outcome, Ruleset, explain, show,
};
use crate::model::{Desired, Proto, Publish};

/// Inspect the host firewall against netd's published ports.
#[derive(Debug, clap::Subcommand)]
pub enum FirewallCommand {
    /// Show the host's nftables tables, their owners and base chains
    ///
    /// For each table: who owns it (netd, Docker, podman, firewalld, ufw,
    /// iptables-nft, the admin), its base chains with hook, type, priority
    /// and policy, and the expressions netd cannot evaluate; then the order
    /// in which packets meet the base chains at each hook.
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
    /// undetermined, 2 for an unknown namespace or port.
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
    /// Exit 1 if the host firewall drops any, or if any cannot be determined.
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
            let s = show(&read_ruleset()?);
            if *json {
                print_json(&s)?;
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
            if *json {
                print_json(&serde_json::json!({ "explanations": explanations }))?;
            } else {
                let texts: Vec<String> = explanations.iter().map(Explanation::text).collect();
                print!("{}", texts.join("\n"));
            }
            Ok(exit_code(&explanations))
        }
        FirewallCommand::Check { config, json } => {
            let desired = load_config(cli, config)?;
            check(&desired, config, *json)
        }
    }
}

fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Runtime(format!("cannot render JSON: {e}")))?;
    println!("{s}");
    Ok(())
}

fn exit_code(explanations: &[Explanation]) -> u8 {
    u8::from(
        explanations
            .iter()
            .any(|e| e.verdict != FlowVerdict::Accepted),
    )
}

/// The host's ruleset, from `nft -j list ruleset` (through the nftables
/// crate's raw helper: the JSON is parsed by netd's tolerant parser, since
/// foreign tables hold expressions the crate's strict schema may refuse).
pub(crate) fn read_ruleset() -> Result<Ruleset, CliError> {
    let text = nftables::helper::get_current_ruleset_raw(None::<&str>, &["list", "ruleset"])
        .map_err(|e| {
            CliError::Runtime(format!(
                "cannot read the host's ruleset with `nft -j list ruleset`: {e} (netd firewall needs nft and root or CAP_NET_ADMIN)"
            ))
        })?;
    if text.trim().is_empty() {
        return Ok(Ruleset::default());
    }
    Ruleset::from_json_str(&text)
        .map_err(|e| CliError::Runtime(format!("cannot parse `nft -j list ruleset` output: {e}")))
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

pub(crate) fn explain_publish(
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
    let mut e = explain(rs, &flow);
    e.notes.extend(note);
    e
}

#[derive(Serialize)]
pub(crate) struct CheckedPublish<'a> {
    ns: &'a str,
    proto: Proto,
    port: String,
    to_port: String,
    host_address: Option<IpAddr>,
    target: IpAddr,
    explanations: Vec<Explanation>,
}

impl<'a> CheckedPublish<'a> {
    pub(crate) fn new(p: &'a Publish, explanations: Vec<Explanation>) -> Self {
        CheckedPublish {
            ns: &p.ns,
            proto: p.proto,
            port: p.port.to_string(),
            to_port: p.to_port.to_string(),
            host_address: p.host_address,
            target: p.target,
            explanations,
        }
    }
}

#[derive(Serialize)]
struct CheckReport<'a> {
    publishes: Vec<CheckedPublish<'a>>,
    accepted: usize,
    dropped: usize,
    undetermined: usize,
}

fn check(desired: &Desired, config: &Path, json: bool) -> Result<u8, CliError> {
    let rs = read_ruleset()?;
    let host = HostNet::read();
    let mut report = CheckReport {
        publishes: Vec::new(),
        accepted: 0,
        dropped: 0,
        undetermined: 0,
    };
    for p in desired.namespaces.values().flat_map(|ns| &ns.publish) {
        let mut ports = vec![p.port.start];
        if p.port.end != p.port.start {
            ports.push(p.port.end);
        }
        let explanations: Vec<Explanation> = ports
            .into_iter()
            .map(|port| explain_publish(&rs, desired, &host, p, port, None))
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
    let code = u8::from(report.dropped + report.undetermined > 0);
    if json {
        print_json(&report)?;
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
    }
    println!(
        "{}: {} accepted, {} dropped, {} undetermined",
        config.display(),
        report.accepted,
        report.dropped,
        report.undetermined
    );
    Ok(code)
}

/// One flow of `check`: the verdict and, when not accepted, what decided it
/// and how to allow it.
pub(crate) fn check_line(cp: &CheckedPublish<'_>, e: &Explanation) -> String {
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
    match (&e.verdict, e.decided_by.as_ref().map(|d| &d.outcome)) {
        (FlowVerdict::Accepted, _) => s.push_str("accepted\n"),
        (FlowVerdict::Dropped, Some(Outcome::Drop { decision })) => {
            s.push_str(&format!("DROPPED by {decision}\n"));
        }
        (_, Some(Outcome::Undetermined { at, reason, .. })) => {
            s.push_str(&format!("undetermined at {at}\n    ({reason})\n"));
            for d in e.decided_by.iter().flat_map(|d| d.outcome.drops()) {
                s.push_str(&format!("    may be dropped by {d}\n"));
            }
        }
        (v, _) => s.push_str(&format!("{v:?}\n")),
    }
    for fix in &e.fixes {
        s.push_str(&format!("    to allow it: {}\n", fix.command));
    }
    s
}
