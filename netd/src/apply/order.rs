//! Make-before-break: the order in which one namespace's addresses, routes
//! and link deletions reach the kernel, so that nothing present in both the
//! old and the new config disappears on the way.
//!
//! - A new address is added before the old one goes: the kernel flushes
//!   every route through a link that loses its last address.
//! - A route whose gateway or device changes is replaced in one request
//!   (`NLM_F_REPLACE`), never deleted and added.
//! - Links leave last, once routes have moved off them; only a link whose
//!   name a new link takes goes first.

use std::collections::BTreeSet;

use ipnet::IpNet;

use super::Report;
use super::batch::{Batch, Indexes};
use super::lower::link_request;
use crate::model::Route;
use crate::netlink::Request;
use crate::plan::{Change, Scope};

/// Names of links created by `changes`, in the scope they are created in.
pub(super) fn recreated_names(changes: &[Change]) -> BTreeSet<(Scope, String)> {
    let mut names = BTreeSet::new();
    for c in changes {
        match c {
            Change::CreateVeth {
                ns,
                name,
                host_name,
                ..
            } => {
                names.insert((Scope::Ns(ns.clone()), name.clone()));
                names.insert((Scope::Host, host_name.clone()));
            }
            Change::CreateDummy { ns, name, .. } => {
                names.insert((Scope::Ns(ns.clone()), name.clone()));
            }
            Change::CreateBridge { name, .. } => {
                names.insert((Scope::Host, name.clone()));
            }
            _ => {}
        }
    }
    names
}

/// A deletion that must happen before the creations: its name is reused.
pub(super) fn is_early_delete(change: &Change, recreated: &BTreeSet<(Scope, String)>) -> bool {
    match change {
        Change::DeleteLink { scope, name, .. } => {
            recreated.contains(&(scope.clone(), name.clone()))
        }
        _ => false,
    }
}

/// The key under which the kernel keeps one route: a route with the same
/// key but another gateway or device is replaced in place.
fn route_key(r: &Route) -> (IpNet, u32, u32) {
    let default_metric = if r.destination.addr().is_ipv6() {
        1024
    } else {
        0
    };
    (r.destination, r.table, r.metric.unwrap_or(default_metric))
}

/// `net.ipv4.conf.LINK.promote_secondaries = 1` for netd's links that lose
/// an IPv4 address: without promotion the kernel deletes every secondary
/// address of the same subnet with its primary, including one just added
/// to replace it, and the routes through them.
pub(super) fn promote_secondaries(changes: &[Change]) -> Vec<(String, String)> {
    let links: BTreeSet<&String> = changes
        .iter()
        .filter_map(|c| match c {
            // `lo` is not netd's, and its addresses are single hosts; a
            // dotted name would not name one file under /proc/sys.
            Change::DeleteAddress { link, addr, .. }
                if addr.addr().is_ipv4() && link != "lo" && !link.contains('.') =>
            {
                Some(link)
            }
            _ => None,
        })
        .collect();
    links
        .into_iter()
        .map(|l| (format!("net.ipv4.conf.{l}.promote_secondaries"), "1".into()))
        .collect()
}

/// Adds, in make-before-break order, the address, route and late link
/// changes of one namespace to `batch`.
pub(super) fn make_before_break(
    changes: &[Change],
    recreated: &BTreeSet<(Scope, String)>,
    batch: &mut Batch,
    (idx, host): (&Indexes, &Indexes),
    report: &mut Report,
) {
    for c in changes {
        if matches!(c, Change::AddAddress { .. }) {
            batch.add(c, link_request(c, idx, host), report);
        }
    }
    let deleted_routes: Vec<&Route> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DeleteRoute { route, .. } => Some(route),
            _ => None,
        })
        .collect();
    let mut replaced_keys = BTreeSet::new();
    for c in changes {
        let Change::AddRoute { route, .. } = c else {
            continue;
        };
        let key = route_key(route);
        if deleted_routes.iter().any(|d| route_key(d) == key) {
            replaced_keys.insert(key);
            let lowered = link_request(c, idx, host).map(Request::replacing);
            batch.add(c, lowered, report);
        } else {
            batch.add(c, link_request(c, idx, host), report);
        }
    }
    for c in changes {
        match c {
            // Taken over by the replacing route.
            Change::DeleteRoute { route, .. } if replaced_keys.contains(&route_key(route)) => {
                report.push(c.clone(), Ok(()));
            }
            Change::DeleteRoute { .. } => batch.add(c, link_request(c, idx, host), report),
            _ => {}
        }
    }
    for c in changes {
        let late_delete = matches!(c, Change::DeleteLink { .. }) && !is_early_delete(c, recreated);
        if matches!(c, Change::DeleteAddress { .. }) || late_delete {
            batch.add(c, link_request(c, idx, host), report);
        }
    }
}
