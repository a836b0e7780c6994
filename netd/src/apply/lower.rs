//! The applier: groups a plan into phases (namespaces, host, each namespace,
//! prune), lowers each change to requests and runs them through a [`Kernel`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicU32;

use super::batch::{Batch, Indexes, alias_only};
use super::create::{NewLink, create_links};
use super::namespace::apply_ns;

use futures::{StreamExt, stream};

use super::{Kernel, Report};
use super::{order, records};
use crate::model::{bridge_alias, bridge_mac};
use crate::netlink::{BridgePortFlags, LinkChange, Request};
use crate::observe::Observed;
use crate::plan::{Change, Plan, Scope};
use crate::state::{PinId, State};

/// Namespaces configured at once. Each waits on a few round trips; more in
/// flight than this buys nothing on two cores.
const PARALLEL: usize = 16;

pub(super) fn link_request(
    change: &Change,
    idx: &Indexes,
    host: &Indexes,
) -> Result<Request, String> {
    match change {
        Change::SetLink { name, settings, .. } => {
            let master = match &settings.master {
                Some(bridge) => Some(host.get(bridge)?),
                None => None,
            };
            Ok(Request::set_link(
                idx.get(name)?,
                None,
                &LinkChange {
                    up: settings.up,
                    mtu: settings.mtu,
                    mac: settings.mac,
                    master,
                    alias: settings.alias.clone(),
                    port: settings.isolated.map(|isolated| BridgePortFlags {
                        hairpin: true,
                        isolated,
                    }),
                    ipv6_link_local: settings.ipv6_link_local,
                },
            ))
        }
        Change::DeleteLink { name, .. } => Ok(Request::delete_link(idx.get(name)?)),
        Change::AddAddress { link, addr, .. } => Ok(Request::add_address(idx.get(link)?, addr)),
        Change::DeleteAddress { link, addr, .. } => {
            Ok(Request::delete_address(idx.get(link)?, addr))
        }
        Change::AddRoute { route, .. } | Change::DeleteRoute { route, .. } => {
            let oif = match &route.device {
                Some(dev) => Some(idx.get(dev)?),
                None => None,
            };
            Ok(if matches!(change, Change::AddRoute { .. }) {
                Request::add_route(route, oif)
            } else {
                Request::delete_route(route, oif)
            })
        }
        other => Err(format!("internal: {other} is not a link change")),
    }
}

/// Like [`link_request`], but a link that comes up and changes its IPv6
/// link-local setting takes two requests: the kernel applies the setting
/// after the up flag, and by then the link-local address exists.
pub(super) fn link_requests(
    change: &Change,
    idx: &Indexes,
    host: &Indexes,
) -> Result<Vec<Request>, String> {
    match change {
        Change::SetLink {
            scope,
            name,
            kind,
            settings,
        } if settings.up == Some(true) && settings.ipv6_link_local.is_some() => {
            let first = Change::SetLink {
                scope: scope.clone(),
                name: name.clone(),
                kind: *kind,
                settings: crate::plan::LinkSettings {
                    up: None,
                    ..settings.clone()
                },
            };
            let up = Request::set_link(
                idx.get(name)?,
                None,
                &LinkChange {
                    up: Some(true),
                    ..LinkChange::default()
                },
            );
            Ok(vec![link_request(&first, idx, host)?, up])
        }
        other => link_request(other, idx, host).map(|r| vec![r]),
    }
}

/// (key, value) of the sysctl changes among `changes`, in order.
pub(super) fn sysctl_values(changes: &[&Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::SetSysctl { key, value, .. }
            | Change::RestoreSysctl { key, value, .. }
            | Change::SetHostSysctl { key, value, .. } => Some((key.clone(), value.clone())),
            _ => None,
        })
        .collect()
}

fn scope_of(change: &Change) -> Option<Scope> {
    match change {
        Change::SetLink { scope, .. }
        | Change::DeleteLink { scope, .. }
        | Change::AddAddress { scope, .. }
        | Change::DeleteAddress { scope, .. } => Some(scope.clone()),
        Change::CreateVeth { ns, .. }
        | Change::CreateDummy { ns, .. }
        | Change::AddRoute { ns, .. }
        | Change::DeleteRoute { ns, .. }
        | Change::SetSysctl { ns, .. }
        | Change::RestoreSysctl { ns, .. } => Some(Scope::Ns(ns.clone())),
        Change::CreateNamespace { ns }
        | Change::AdoptNamespace { ns }
        | Change::RecordNamespace { ns } => Some(Scope::Ns(ns.clone())),
        Change::CreateBridge { .. } => Some(Scope::Host),
        _ => None,
    }
}

/// A host change that waits until the namespaces are done: a link deletion
/// that frees no name for a new link (routes move off it first), and a
/// bridge MTU that its new ports would otherwise lower.
fn host_late(change: &Change, recreated: &BTreeSet<(Scope, String)>) -> bool {
    match change {
        Change::DeleteLink { .. } => !order::is_early_delete(change, recreated),
        Change::SetLink { settings, .. } => settings.after_ports,
        _ => false,
    }
}

async fn apply_host<K: Kernel>(
    kernel: &K,
    changes: &[&Change],
    observed: &Observed,
    recreated: &BTreeSet<(Scope, String)>,
    report: &mut Report,
) -> Indexes {
    let mut host = Indexes::from_observed(&observed.host);
    let mut first = Batch::new();
    for c in changes
        .iter()
        .filter(|c| order::is_early_delete(c, recreated))
    {
        first.add(c, link_request(c, &host, &host), report);
    }
    first.run(kernel, &Scope::Host, report).await;
    let bridges = changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateBridge { name, mtu } => Some(NewLink {
                change: (*c).clone(),
                request: Request::create_bridge(name, bridge_mac(name), *mtu),
                fallback: None,
                names: vec![(Scope::Host, name.clone())],
            }),
            _ => None,
        })
        .collect();
    let bridges = create_links(kernel, &Scope::Host, bridges, report).await;
    // The mark, by name, only on bridges netd just created: never on a
    // link another program made under the name meanwhile.
    let mut marks = Batch::new();
    for c in &bridges.ok {
        if let Change::CreateBridge { name, .. } = c {
            let alias = Request::set_link(0, Some(name), &alias_only(bridge_alias(name)));
            marks.add(c, Ok(alias), report);
        }
    }
    marks.run(kernel, &Scope::Host, report).await;
    let created = !bridges.ok.is_empty();
    if created {
        match kernel.links(&Scope::Host).await {
            Ok(links) => {
                host.next = links.iter().map(|l| l.index + 1).max().unwrap_or(host.next);
                host.by_name = links.into_iter().map(|l| (l.name, l.index)).collect();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-read host links after creating bridges")
            }
        }
    }
    // Bridge addresses: the new one before the old one goes, and stays
    // when the old primary goes (see order::promote_secondaries).
    let owned: Vec<Change> = changes.iter().map(|c| (*c).clone()).collect();
    // Host sysctls are written by path (net/ipv4/conf/LINK/...).
    let promote: Vec<(String, String)> = order::promote_secondaries(&owned)
        .into_iter()
        .map(|(key, value)| (key.replace('.', "/"), value))
        .collect();
    if !promote.is_empty()
        && let Err(e) = kernel.write_host_sysctls(promote).await
    {
        tracing::warn!(error = %e, "cannot keep secondary addresses of bridges on address changes");
    }
    let rank = |c: &&&Change| match c {
        Change::SetLink { .. } => 0,
        Change::AddAddress { .. } => 1,
        _ => 2,
    };
    let mut rest: Vec<&&Change> = changes
        .iter()
        .filter(|c| !matches!(c, Change::DeleteLink { .. } | Change::CreateBridge { .. }))
        .collect();
    rest.sort_by_key(rank);
    let mut batch = Batch::new();
    for c in rest {
        batch.add_all(c, link_requests(c, &host, &host), report);
    }
    batch.run(kernel, &Scope::Host, report).await;
    host
}

/// Applies `plan`. Namespaces to create are recorded in the state before they
/// exist, so that a crash half-way leaves nothing netd has forgotten about.
pub async fn apply<K: Kernel>(
    kernel: &K,
    plan: &Plan,
    observed: &Observed,
    state: &mut State,
) -> Report {
    let mut report = Report::default();
    let started = std::time::Instant::now();

    if records::before(plan, observed, state)
        && let Err(e) = kernel.save_state(state)
    {
        // Without the record a crash could leak namespaces: stop here.
        for c in &plan.changes {
            report.push(c.clone(), Err(format!("not attempted: {e}")));
        }
        return report;
    }

    let recreated = order::recreated_names(&plan.changes);
    let (late, host_changes): (Vec<&Change>, Vec<&Change>) = plan
        .changes
        .iter()
        .filter(|c| scope_of(c) == Some(Scope::Host))
        .partition(|c| host_late(c, &recreated));
    let host = apply_host(kernel, &host_changes, observed, &recreated, &mut report).await;
    // Bridges exist now; their sysctls can be set.
    let host_sysctls: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c, Change::SetHostSysctl { .. }))
        .collect();
    if !host_sysctls.is_empty() {
        let result = kernel
            .write_host_sysctls(sysctl_values(&host_sysctls))
            .await;
        for c in host_sysctls {
            report.push(c.clone(), result.clone());
        }
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "host done"
    );

    let mut per_ns: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for c in &plan.changes {
        if let Some(Scope::Ns(ns)) = scope_of(c) {
            per_ns.entry(ns).or_default().push(c.clone());
        }
    }
    let host_next = &AtomicU32::new(host.next);
    let host = &host;
    let reports: Vec<(Report, Option<PinId>, String)> = stream::iter(per_ns)
        .map(|(ns, changes)| async move {
            let obs = observed.namespaces.get(&ns);
            let reuse = records::reuse_empty(observed, &ns);
            let (report, created) =
                apply_ns(kernel, &ns, changes, (obs, reuse), host, host_next).await;
            kernel.release(&ns);
            (report, created, ns)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut created = Vec::new();
    for (r, id, ns) in reports {
        report.outcomes.extend(r.outcomes);
        if let Some(id) = id {
            created.push((ns, id));
        }
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "namespaces configured"
    );

    let mut batch = Batch::new();
    for c in late {
        batch.add(c, link_request(c, host, host), &mut report);
    }
    batch.run(kernel, &Scope::Host, &mut report).await;

    // The table last: its DNAT targets exist by now.
    for c in &plan.changes {
        match c {
            Change::ReplaceTable { commands, .. } => {
                let nft_started = std::time::Instant::now();
                let result = kernel.nft(commands.clone()).await;
                tracing::debug!(
                    elapsed_ms = nft_started.elapsed().as_millis() as u64,
                    "nft transaction"
                );
                report.push(c.clone(), result);
            }
            Change::HostRules { commands, .. } => {
                report.push(c.clone(), kernel.nft(commands.clone()).await);
            }
            Change::DeleteTable => {
                let commands = crate::nft::delete_commands().to_string();
                report.push(c.clone(), kernel.nft(commands).await);
            }
            _ => {}
        }
    }

    for c in &plan.changes {
        let result = match c {
            Change::DeleteNamespace { ns } => {
                let expected = records::expected_pin(state, observed, ns);
                kernel.delete_namespace(ns, expected).await
            }
            Change::ReleaseNamespace { .. } | Change::ForgetNamespace { .. } => Ok(()),
            _ => continue,
        };
        report.push(c.clone(), result);
    }
    if records::after(&report, &created, state)
        && let Err(e) = kernel.save_state(state)
    {
        tracing::warn!(error = %e, "cannot record what this apply did");
    }
    report
}
