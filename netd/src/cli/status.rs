//! `netd status`: netd's namespaces and bridges as the kernel has them now.

use serde::Serialize;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::drift::{Missing, drift, missing};
use super::output::print_json;
use super::{Cli, CliError, dirs, load_config};
use crate::engine::{Engine, Session};
use crate::model::{Desired, NETD_PROTO};
use crate::netns;
use crate::observe::{NsObserved, ObservedLink};
use crate::plan::{ChangeSummary, Conflict};
use crate::state::Origin;

/// An address as scripts want it: the address and its prefix length apart,
/// the length a number.
#[derive(Serialize)]
struct AddrStatus {
    address: IpAddr,
    prefix_len: u8,
}

impl AddrStatus {
    fn of(net: &IpNet) -> Self {
        AddrStatus {
            address: net.addr(),
            prefix_len: net.prefix_len(),
        }
    }
}

fn addr_text(addrs: &[AddrStatus]) -> String {
    let texts: Vec<String> = addrs
        .iter()
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect();
    texts.join(" ")
}

#[derive(Serialize)]
struct LinkStatus {
    name: String,
    kind: Option<String>,
    up: bool,
    mac: Option<String>,
    mtu: u32,
    owned: bool,
    addresses: Vec<AddrStatus>,
}

#[derive(Serialize)]
struct RouteStatus {
    destination: String,
    prefix_len: u8,
    gateway: Option<String>,
    device: Option<String>,
    table: u32,
    metric: Option<u32>,
    protocol: u8,
    owned: bool,
}

#[derive(Serialize)]
struct NamespaceStatus {
    name: String,
    path: String,
    origin: Origin,
    pinned: bool,
    links: Vec<LinkStatus>,
    routes: Vec<RouteStatus>,
}

#[derive(Serialize)]
struct BridgeStatus {
    name: String,
    up: bool,
    mtu: u32,
    addresses: Vec<AddrStatus>,
    ports: Vec<String>,
}

#[derive(Serialize)]
struct NftStatus {
    /// Whether `table inet netd` exists.
    table: bool,
    rules: usize,
    /// netd's tagged rules in host chains (integrate mode).
    host_rules: Vec<crate::nft::TaggedRule>,
}

#[derive(Serialize)]
struct Status {
    /// False when something netd owns is missing or has drifted (exit 3).
    ok: bool,
    /// The config compared against, if any.
    config: Option<String>,
    namespaces: Vec<NamespaceStatus>,
    bridges: Vec<BridgeStatus>,
    nftables: NftStatus,
    missing: Vec<Missing>,
    /// The changes `apply` would make to what netd already owns.
    drift: Vec<ChangeSummary>,
    /// Objects in the config's way that netd does not own.
    conflicts: Vec<Conflict>,
    /// The running daemon's view (pid, repairs, processes), when one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    daemon: Option<serde_json::Value>,
}

fn link_status(l: &ObservedLink, o: &NsObserved) -> LinkStatus {
    LinkStatus {
        name: l.name.clone(),
        kind: l
            .kind
            .clone()
            .or_else(|| (l.name == "lo").then(|| "loopback".into())),
        up: l.up,
        mac: l.mac.filter(|m| m.0 != [0; 6]).map(|m| m.to_string()),
        mtu: l.mtu,
        owned: l.owned_by_netd(),
        addresses: o
            .addrs_of(l.index)
            .map(|a| AddrStatus::of(&a.net))
            .collect(),
    }
}

/// Routes worth showing: netd's own in any table, and the main table.
fn route_status(o: &NsObserved) -> Vec<RouteStatus> {
    o.routes
        .iter()
        .filter(|r| r.owned_by_netd() || r.route.table == crate::model::MAIN_TABLE)
        .filter(|r| {
            !r.route.destination.addr().is_ipv6()
                || !r.route.destination.to_string().starts_with("fe80")
        })
        .map(|r| RouteStatus {
            destination: r.route.destination.to_string(),
            prefix_len: r.route.destination.prefix_len(),
            gateway: r.route.gateway.map(|g| g.to_string()),
            device: r
                .oif
                .and_then(|i| o.link_by_index(i))
                .map(|l| l.name.clone()),
            table: r.route.table,
            metric: r.route.metric,
            protocol: r.proto,
            owned: r.proto == NETD_PROTO,
        })
        .collect()
}

fn collect(session: &Session, netns_dir: &std::path::Path) -> Status {
    let empty = NsObserved::default();
    let namespaces = session
        .state
        .namespaces
        .iter()
        .map(|(name, origin)| {
            let o = session.observed.namespaces.get(name).unwrap_or(&empty);
            NamespaceStatus {
                name: name.clone(),
                path: netns::pin_path(netns_dir, name).display().to_string(),
                origin: origin.origin,
                pinned: session.observed.pinned.contains(name),
                links: o.links.iter().map(|l| link_status(l, o)).collect(),
                routes: route_status(o),
            }
        })
        .collect();
    let host = &session.observed.host;
    let bridges = host
        .links
        .iter()
        .filter(|l| {
            l.alias
                .as_deref()
                .is_some_and(|a| a.starts_with(crate::model::BRIDGE_ALIAS_PREFIX))
        })
        .map(|b| BridgeStatus {
            name: b.name.clone(),
            up: b.up,
            mtu: b.mtu,
            addresses: host
                .addrs_of(b.index)
                .map(|a| AddrStatus::of(&a.net))
                .collect(),
            ports: host
                .links
                .iter()
                .filter(|l| l.master == Some(b.index))
                .map(|l| l.name.clone())
                .collect(),
        })
        .collect();
    let nft = &session.observed.nft;
    let nftables = NftStatus {
        table: nft.table.is_some(),
        rules: nft.table.as_ref().map_or(0, |(_, n)| *n),
        host_rules: nft.tagged.clone(),
    };
    Status {
        ok: true,
        config: None,
        namespaces,
        bridges,
        nftables,
        missing: Vec::new(),
        drift: Vec::new(),
        conflicts: Vec::new(),
        daemon: None,
    }
}

fn print_text(status: &Status) {
    if status.namespaces.is_empty() && status.bridges.is_empty() {
        println!("netd owns nothing here yet (`netd apply` creates what the config describes)");
    }
    for b in &status.bridges {
        let state = if b.up { "up" } else { "DOWN" };
        println!(
            "bridge {} {state} mtu {} {}",
            b.name,
            b.mtu,
            addr_text(&b.addresses)
        );
        println!(
            "  ports: {}",
            if b.ports.is_empty() {
                "-".into()
            } else {
                b.ports.join(" ")
            }
        );
    }
    if status.nftables.table {
        println!(
            "nftables: table inet netd, {} rules; {} netd rules in host chains",
            status.nftables.rules,
            status.nftables.host_rules.len()
        );
    }
    for ns in &status.namespaces {
        let note = if ns.pinned {
            ""
        } else {
            " MISSING (run `netd apply`)"
        };
        println!("namespace {} ({}, {:?}){note}", ns.name, ns.path, ns.origin);
        for l in &ns.links {
            let state = if l.up { "up" } else { "DOWN" };
            println!(
                "  {:<15} {:<8} {:<4} {} mtu {} {}",
                l.name,
                l.kind.as_deref().unwrap_or("-"),
                state,
                l.mac.as_deref().unwrap_or("-"),
                l.mtu,
                addr_text(&l.addresses)
            );
        }
        for r in &ns.routes {
            let mut line = format!("  route {}", r.destination);
            if let Some(g) = &r.gateway {
                line.push_str(&format!(" via {g}"));
            }
            if let Some(d) = &r.device {
                line.push_str(&format!(" dev {d}"));
            }
            if r.table != crate::model::MAIN_TABLE {
                line.push_str(&format!(" table {}", r.table));
            }
            if r.owned {
                line.push_str(" (netd)");
            }
            println!("{line}");
        }
    }
}

/// The config to compare with: the one asked for, else the default one
/// if it exists.
fn config_path(config: Option<&Path>) -> Option<PathBuf> {
    match config {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let default = Path::new(super::args::DEFAULT_CONFIG);
            default.exists().then(|| default.to_path_buf())
        }
    }
}

fn print_problems(status: &Status) {
    for m in &status.missing {
        println!(
            "MISSING: {} {}: found {} at its pin",
            m.kind, m.name, m.found
        );
    }
    for c in &status.drift {
        let detail = if c.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.detail)
        };
        println!("DRIFT: {} {} {}{detail}", c.op, c.kind, c.target);
    }
    for c in &status.conflicts {
        println!("conflict: {c}");
    }
    if !status.ok {
        println!("`netd apply` repairs what netd owns");
    }
}

pub async fn run(cli: &Cli, config: Option<&Path>, json: bool) -> Result<u8, CliError> {
    let (netns_dir, state_dir) = dirs(cli);
    let daemon = super::daemon_status::ask(&state_dir).await;
    // Without -c, compare against what the daemon converges to.
    let from_daemon = daemon
        .as_ref()
        .and_then(|d| d["config"].as_str())
        .map(PathBuf::from);
    let config = config_path(config.or(from_daemon.as_deref()));
    let desired = match &config {
        Some(path) => load_config(cli, path)?,
        None => Desired::empty(netns_dir, state_dir),
    };
    let engine = Engine::open(&desired.netns_dir, &desired.state_dir)?;
    let session = engine.session(&desired).await?;
    let mut status = collect(&session, &desired.netns_dir);
    status.config = config.map(|p| p.display().to_string());
    status.missing = missing(&session.state, &session.observed);
    if status.config.is_some() {
        // Pure planning, without strict mode's reading of the ruleset: the
        // question is what differs, not what apply would be allowed to do.
        match crate::plan::plan(&desired, &session.observed, &session.state, false) {
            Ok(plan) => status.drift = drift(&plan, &session.state, &session.observed),
            Err(conflicts) => status.conflicts = conflicts,
        }
    }
    status.ok = status.missing.is_empty() && status.drift.is_empty();
    status.daemon = daemon;
    if json {
        print_json(&status);
    } else {
        if let Some(d) = &status.daemon {
            super::daemon_status::print(d);
        }
        print_text(&status);
        print_problems(&status);
    }
    Ok(if status.ok { 0 } else { super::EXIT_PENDING })
}
