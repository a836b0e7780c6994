//! One namespace's part of an apply: delete, create (veths from the host
//! side), configure links, sysctls, then addresses and routes, each step a
//! pipelined batch on the right socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use super::batch::{Batch, Indexes};
use super::create::{NewLink, create_links};
use super::lower::{link_request, link_requests, sysctl_values};
use super::{Kernel, Report};
use crate::model::{host_link_alias, ns_link_alias};
use crate::netlink::{BridgePortFlags, Request, VethSpec};
use crate::observe::NsObserved;
use crate::plan::{Change, Scope};
use crate::state::PinId;

pub(super) async fn apply_ns<K: Kernel>(
    kernel: &K,
    ns: &str,
    changes: Vec<Change>,
    (observed, reuse_empty): (Option<&NsObserved>, bool),
    host: &Indexes,
    host_next: &AtomicU32,
) -> (Report, Option<PinId>) {
    let mut report = Report::default();
    let mut created = None;
    let scope = Scope::Ns(ns.to_string());
    // Namespaces are created here rather than all up front, so that creating
    // one overlaps with configuring others.
    for c in &changes {
        match c {
            Change::CreateNamespace { .. } => {
                let result = kernel.create_namespace(ns, reuse_empty).await;
                let failed = result.is_err();
                created = result.as_ref().ok().copied();
                report.push(c.clone(), result.map(drop));
                if failed {
                    for rest in changes
                        .iter()
                        .filter(|r| !matches!(r, Change::CreateNamespace { .. }))
                    {
                        let why = format!("not attempted: namespace {ns} could not be created");
                        report.push(rest.clone(), Err(why));
                    }
                    return (report, None);
                }
            }
            Change::AdoptNamespace { .. } | Change::RecordNamespace { .. } => {
                report.push(c.clone(), Ok(()))
            }
            _ => {}
        }
    }
    let mut idx = observed.map(Indexes::from_observed).unwrap_or(Indexes {
        by_name: HashMap::from([("lo".to_string(), 1)]),
        next: 2,
    });

    // Only a link whose name is about to be taken again goes first; every
    // other deletion waits until routes have moved off it.
    let recreated = super::order::recreated_names(&changes);
    let mut deletes = Batch::new();
    for c in changes
        .iter()
        .filter(|c| super::order::is_early_delete(c, &recreated))
    {
        deletes.add(c, link_request(c, &idx, host), &mut report);
    }
    deletes.run(kernel, &scope, &mut report).await;

    let needs_fd = changes
        .iter()
        .any(|c| matches!(c, Change::CreateVeth { .. }));
    let fd = if needs_fd {
        Some(kernel.ns_fd(ns).await)
    } else {
        None
    };
    let mut veths = Vec::new();
    let mut dummies = Vec::new();
    for c in &changes {
        match c {
            Change::CreateVeth {
                name,
                host_name,
                bridge,
                mac,
                host_mac,
                mtu,
                ..
            } => match (&fd, host.get(bridge)) {
                (Some(Ok(fd)), Ok(bridge_index)) => {
                    let mut spec = VethSpec {
                        host_name,
                        host_index: host_next.fetch_add(1, Ordering::Relaxed),
                        host_mac: *host_mac,
                        bridge_index,
                        peer_name: name,
                        peer_mac: *mac,
                        peer_index: idx.allocate(name),
                        peer_netns: *fd,
                        mtu: *mtu,
                    };
                    let request = Request::create_veth(&spec);
                    (spec.host_index, spec.peer_index) = (0, 0);
                    veths.push(NewLink {
                        change: c.clone(),
                        request,
                        fallback: Some(Request::create_veth(&spec)),
                        names: vec![
                            (Scope::Host, host_name.clone()),
                            (scope.clone(), name.clone()),
                        ],
                    });
                }
                (Some(Err(e)), _) => report.push(c.clone(), Err(e.clone())),
                (_, Err(e)) => report.push(c.clone(), Err(e)),
                (None, _) => report.push(c.clone(), Err("internal: no namespace fd".into())),
            },
            Change::CreateDummy { name, mac, mtu, .. } => {
                let index = idx.allocate(name);
                dummies.push(NewLink {
                    change: c.clone(),
                    request: Request::create_dummy(name, *mac, *mtu, index),
                    fallback: Some(Request::create_dummy(name, *mac, *mtu, 0)),
                    names: vec![(scope.clone(), name.clone())],
                });
            }
            _ => {}
        }
    }
    let veths = create_links(kernel, &Scope::Host, veths, &mut report).await;
    let dummies = create_links(kernel, &scope, dummies, &mut report).await;
    // A link that could not be created is not named by later requests:
    // they fail at once as "does not exist", not on a guessed index.
    for c in &changes {
        if let Change::CreateVeth { name, .. } | Change::CreateDummy { name, .. } = c
            && !veths.ok.contains(c)
            && !dummies.ok.contains(c)
        {
            idx.by_name.remove(name);
        }
    }
    if veths.kernel_chose || dummies.kernel_chose {
        // Some new link's index is the kernel's: learn the real ones before
        // any request names them.
        match kernel.links(&scope).await {
            Ok(links) => idx = Indexes::from_links(links),
            Err(e) => tracing::warn!(ns, error = %e, "cannot re-read links after a retry"),
        }
    }

    // The host ends get their mark and come up, by name: only links that
    // exist now, which netd just created, are named.
    let mut host_setup = Batch::new();
    let mut links = Batch::new();
    for c in &veths.ok {
        let Change::CreateVeth {
            name,
            host_name,
            ipv6_link_local,
            isolated,
            ..
        } = c
        else {
            continue;
        };
        let [mark, up] = Request::bring_up_new_link(
            0,
            Some(host_name),
            host_link_alias(ns, name),
            false,
            Some(BridgePortFlags {
                hairpin: true,
                isolated: *isolated,
            }),
        );
        host_setup.add_all(c, Ok(vec![mark, up]), &mut report);
        // The inner end comes up (and gets its mark) first in the
        // namespace's own batch.
        match idx.get(name) {
            Ok(index) => {
                let peer = Request::bring_up_new_link(
                    index,
                    None,
                    ns_link_alias(ns, name),
                    *ipv6_link_local,
                    None,
                );
                for req in peer {
                    links.follow_up(c, req);
                }
            }
            Err(e) => tracing::warn!(ns, error = %e, "a new veth's inner end is not there"),
        }
    }
    host_setup.run(kernel, &Scope::Host, &mut report).await;
    for c in &dummies.ok {
        if let Change::CreateDummy {
            name,
            ipv6_link_local,
            ..
        } = c
        {
            let setup = idx.get(name).map(|index| {
                Request::bring_up_new_link(
                    index,
                    None,
                    ns_link_alias(ns, name),
                    *ipv6_link_local,
                    None,
                )
                .to_vec()
            });
            links.add_all(c, setup, &mut report);
        }
    }
    for c in changes
        .iter()
        .filter(|c| matches!(c, Change::SetLink { .. }))
    {
        links.add_all(c, link_requests(c, &idx, host), &mut report);
    }
    let sysctls: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::SetSysctl { .. } | Change::RestoreSysctl { .. }))
        .collect();
    let promote = super::order::promote_secondaries(&changes);
    if !sysctls.is_empty() || !promote.is_empty() {
        links.run(kernel, &scope, &mut report).await;
        links = Batch::new();
    }
    if !sysctls.is_empty() {
        let result = kernel.write_sysctls(ns, sysctl_values(&sysctls)).await;
        for c in sysctls {
            report.push(c.clone(), result.clone());
        }
    }
    if !promote.is_empty()
        && let Err(e) = kernel.write_sysctls(ns, promote).await
    {
        // Without it, removing the old primary address takes the new one
        // (and every route through the link) with it; the re-check puts
        // them back.
        tracing::warn!(ns, error = %e, "cannot keep secondary addresses on address changes");
    }
    super::order::make_before_break(&changes, &recreated, &mut links, (&idx, host), &mut report);
    links.run(kernel, &scope, &mut report).await;
    (report, created)
}
