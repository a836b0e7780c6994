//! `netd status`: netd's namespaces and bridges as the kernel has them now.

use serde::Serialize;

use super::output::print_json;
use super::{Cli, CliError, dirs};
use crate::engine::{Engine, Session};
use crate::model::NETD_PROTO;
use crate::netns;
use crate::observe::{NsObserved, ObservedLink};
use crate::state::Origin;

#[derive(Serialize)]
struct LinkStatus {
    name: String,
    kind: Option<String>,
    up: bool,
    mac: Option<String>,
    mtu: u32,
    owned: bool,
    addresses: Vec<String>,
}

#[derive(Serialize)]
struct RouteStatus {
    destination: String,
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
    addresses: Vec<String>,
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
    namespaces: Vec<NamespaceStatus>,
    bridges: Vec<BridgeStatus>,
    nftables: NftStatus,
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
        addresses: o.addrs_of(l.index).map(|a| a.net.to_string()).collect(),
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
            addresses: host.addrs_of(b.index).map(|a| a.net.to_string()).collect(),
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
        namespaces,
        bridges,
        nftables,
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
            b.addresses.join(" ")
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
                l.addresses.join(" ")
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

pub async fn run(cli: &Cli, json: bool) -> Result<u8, CliError> {
    let (netns_dir, state_dir) = dirs(cli);
    let engine = Engine::open(&netns_dir, &state_dir)?;
    let session = engine.session(&engine.nothing()).await?;
    let status = collect(&session, &netns_dir);
    if json {
        print_json(&serde_json::to_value(&status).map_err(CliError::runtime)?);
    } else {
        print_text(&status);
    }
    Ok(0)
}
