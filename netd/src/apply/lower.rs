//! The applier: groups a plan into phases (namespaces, host, each namespace,
//! prune), lowers each change to requests and runs them through a [`Kernel`].

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, stream};

use super::{Kernel, Report};
use crate::model::{bridge_alias, host_link_alias, ns_link_alias};
use crate::netlink::{LinkChange, NlError, Request, VethSpec};
use crate::observe::{NsObserved, Observed};
use crate::plan::{Change, Plan, Scope};
use crate::state::{Origin, State};

/// Namespaces configured at once. Each waits on a few round trips; more in
/// flight than this buys nothing on two cores.
const PARALLEL: usize = 4;

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const EADDRNOTAVAIL: i32 = 99;

/// Deleting what is already gone, or adding what is already there, is the
/// state we wanted: information, not failure.
fn settle(change: &Change, result: Result<(), NlError>) -> Result<(), String> {
    let errno = result.as_ref().err().and_then(NlError::errno);
    let harmless = match change {
        Change::DeleteLink { .. } | Change::DeleteAddress { .. } | Change::DeleteRoute { .. } => {
            matches!(errno, Some(ENOENT | ESRCH | ENODEV | EADDRNOTAVAIL))
        }
        Change::AddAddress { .. } | Change::AddRoute { .. } => errno == Some(EEXIST),
        _ => false,
    };
    if harmless {
        return Ok(());
    }
    result.map_err(|e| e.to_string())
}

/// Name → ifindex in one namespace, kept up to date as links come and go.
#[derive(Default, Clone)]
struct Indexes {
    by_name: HashMap<String, u32>,
    next: u32,
}

impl Indexes {
    fn from_observed(o: &NsObserved) -> Self {
        Indexes {
            by_name: o.links.iter().map(|l| (l.name.clone(), l.index)).collect(),
            next: o.next_free_index(),
        }
    }

    fn get(&self, name: &str) -> Result<u32, String> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| format!("link {name} does not exist"))
    }

    /// Picks the ifindex a new link will get, so that later requests in the
    /// same batch can name it before the kernel has answered.
    fn allocate(&mut self, name: &str) -> u32 {
        let index = self.next;
        self.next += 1;
        self.by_name.insert(name.to_string(), index);
        index
    }
}

/// Requests for changes whose lowering succeeded, each change with the one
/// or more requests it takes; a change whose lowering failed (an unknown
/// link, say) is reported at once.
struct Batch {
    changes: Vec<Change>,
    requests: Vec<Vec<Request>>,
}

impl Batch {
    fn new() -> Self {
        Batch {
            changes: Vec::new(),
            requests: Vec::new(),
        }
    }

    fn add(&mut self, change: &Change, lowered: Result<Request, String>, report: &mut Report) {
        self.add_all(change, lowered.map(|r| vec![r]), report);
    }

    fn add_all(
        &mut self,
        change: &Change,
        lowered: Result<Vec<Request>, String>,
        report: &mut Report,
    ) {
        match lowered {
            Ok(reqs) => {
                self.changes.push(change.clone());
                self.requests.push(reqs);
            }
            Err(e) => report.push(change.clone(), Err(e)),
        }
    }

    async fn run<K: Kernel>(self, kernel: &K, scope: &Scope, report: &mut Report) {
        if self.requests.is_empty() {
            return;
        }
        let counts: Vec<usize> = self.requests.iter().map(Vec::len).collect();
        let mut results = kernel
            .netlink(scope, self.requests.into_iter().flatten().collect())
            .await
            .into_iter();
        for (change, n) in self.changes.into_iter().zip(counts) {
            let mut outcome = Ok(());
            for _ in 0..n {
                let r = results.next().unwrap_or(Err(NlError::Closed));
                if outcome.is_ok() {
                    outcome = r;
                }
            }
            report.push(change.clone(), settle(&change, outcome));
        }
    }
}

fn alias_only(alias: String) -> LinkChange {
    LinkChange {
        alias: Some(alias),
        ..LinkChange::default()
    }
}

fn link_request(change: &Change, idx: &Indexes, host: &Indexes) -> Result<Request, String> {
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
                    alias: None,
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
        | Change::SetSysctl { ns, .. } => Some(Scope::Ns(ns.clone())),
        Change::CreateBridge { .. } => Some(Scope::Host),
        _ => None,
    }
}

async fn apply_host<K: Kernel>(
    kernel: &K,
    changes: &[Change],
    observed: &Observed,
    report: &mut Report,
) -> Indexes {
    let mut host = Indexes::from_observed(&observed.host);
    let mut first = Batch::new();
    for c in changes
        .iter()
        .filter(|c| matches!(c, Change::DeleteLink { .. }))
    {
        first.add(c, link_request(c, &host, &host), report);
    }
    for c in changes {
        if let Change::CreateBridge { name, mtu } = c {
            let alias = Request::set_link(0, Some(name), &alias_only(bridge_alias(name)));
            first.add_all(
                c,
                Ok(vec![Request::create_bridge(name, *mtu), alias]),
                report,
            );
        }
    }
    let created = changes
        .iter()
        .any(|c| matches!(c, Change::CreateBridge { .. }));
    first.run(kernel, &Scope::Host, report).await;
    if created {
        match kernel.links(&Scope::Host).await {
            Ok(links) => {
                host.by_name = links.into_iter().map(|l| (l.name, l.index)).collect();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-read host links after creating bridges")
            }
        }
    }
    let mut rest = Batch::new();
    for c in changes
        .iter()
        .filter(|c| !matches!(c, Change::DeleteLink { .. } | Change::CreateBridge { .. }))
    {
        rest.add(c, link_request(c, &host, &host), report);
    }
    rest.run(kernel, &Scope::Host, report).await;
    host
}

async fn apply_ns<K: Kernel>(
    kernel: &K,
    ns: &str,
    changes: Vec<Change>,
    observed: Option<&NsObserved>,
    host: &Indexes,
) -> Report {
    let mut report = Report::default();
    let scope = Scope::Ns(ns.to_string());
    let mut idx = observed.map(Indexes::from_observed).unwrap_or(Indexes {
        by_name: HashMap::from([("lo".to_string(), 1)]),
        next: 2,
    });

    let mut deletes = Batch::new();
    for c in changes
        .iter()
        .filter(|c| matches!(c, Change::DeleteLink { .. }))
    {
        deletes.add(c, link_request(c, &idx, host), &mut report);
    }
    deletes.run(kernel, &scope, &mut report).await;

    let mut creates = Batch::new();
    let mut dummies = Batch::new();
    let mut peer_setup = Vec::new();
    let needs_fd = changes
        .iter()
        .any(|c| matches!(c, Change::CreateVeth { .. }));
    let fd = if needs_fd {
        Some(kernel.ns_fd(ns).await)
    } else {
        None
    };
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
            } => {
                let lowered = match (&fd, host.get(bridge)) {
                    (Some(Ok(fd)), Ok(bridge_index)) => {
                        let peer_index = idx.allocate(name);
                        let create = Request::create_veth(&VethSpec {
                            host_name,
                            host_mac: *host_mac,
                            bridge_index,
                            peer_name: name,
                            peer_mac: *mac,
                            peer_index,
                            peer_netns: *fd,
                            mtu: *mtu,
                        });
                        let alias = alias_only(host_link_alias(ns, name));
                        // The peer comes up (and gets its mark) from inside.
                        let peer = LinkChange {
                            up: Some(true),
                            alias: Some(ns_link_alias(ns, name)),
                            ..LinkChange::default()
                        };
                        peer_setup.push((c.clone(), Request::set_link(peer_index, None, &peer)));
                        Ok(vec![create, Request::set_link(0, Some(host_name), &alias)])
                    }
                    (Some(Err(e)), _) => Err(e.clone()),
                    (_, Err(e)) => Err(e),
                    (None, _) => Err("internal: no namespace fd".into()),
                };
                creates.add_all(c, lowered, &mut report);
            }
            Change::CreateDummy { name, mac, mtu, .. } => {
                let index = idx.allocate(name);
                let create = Request::create_dummy(name, *mac, *mtu, index);
                let alias = Request::set_link(index, None, &alias_only(ns_link_alias(ns, name)));
                dummies.add_all(c, Ok(vec![create, alias]), &mut report);
            }
            _ => {}
        }
    }
    creates.run(kernel, &Scope::Host, &mut report).await;
    if !peer_setup.is_empty() {
        let (owners, reqs): (Vec<Change>, Vec<Request>) = peer_setup.into_iter().unzip();
        for (c, result) in owners.into_iter().zip(kernel.netlink(&scope, reqs).await) {
            if let Err(e) = result {
                report.push(
                    c,
                    Err(format!("created, but cannot bring it up inside: {e}")),
                );
            }
        }
    }

    let mut links = dummies;
    for c in changes
        .iter()
        .filter(|c| matches!(c, Change::SetLink { .. }))
    {
        links.add(c, link_request(c, &idx, host), &mut report);
    }
    let sysctls: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::SetSysctl { .. }))
        .collect();
    if !sysctls.is_empty() {
        links.run(kernel, &scope, &mut report).await;
        links = Batch::new();
        let values = sysctls
            .iter()
            .filter_map(|c| match c {
                Change::SetSysctl { key, value, .. } => Some((key.clone(), value.clone())),
                _ => None,
            })
            .collect();
        let result = kernel.write_sysctls(ns, values).await;
        for c in sysctls {
            report.push(c.clone(), result.clone());
        }
    }
    let order = |c: &Change| match c {
        Change::DeleteAddress { .. } => Some(0),
        Change::AddAddress { .. } => Some(1),
        Change::DeleteRoute { .. } => Some(2),
        Change::AddRoute { .. } => Some(3),
        _ => None,
    };
    let mut rest: Vec<&Change> = changes.iter().filter(|c| order(c).is_some()).collect();
    rest.sort_by_key(|c| order(c));
    for c in rest {
        links.add(c, link_request(c, &idx, host), &mut report);
    }
    links.run(kernel, &scope, &mut report).await;
    report
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
    let mut failed_ns = Vec::new();

    let mut recorded = false;
    for c in &plan.changes {
        match c {
            Change::CreateNamespace { ns } => {
                state.namespaces.insert(ns.clone(), Origin::Created);
                recorded = true;
            }
            Change::AdoptNamespace { ns } => {
                state
                    .namespaces
                    .entry(ns.clone())
                    .or_insert(Origin::Adopted);
                recorded = true;
            }
            _ => {}
        }
    }
    if recorded && let Err(e) = kernel.save_state(state) {
        // Without the record a crash could leak namespaces: stop here.
        for c in &plan.changes {
            report.push(c.clone(), Err(format!("not attempted: {e}")));
        }
        return report;
    }
    for c in &plan.changes {
        match c {
            Change::CreateNamespace { ns } => {
                let result = kernel.create_namespace(ns).await;
                if result.is_err() {
                    failed_ns.push(ns.clone());
                }
                report.push(c.clone(), result);
            }
            Change::AdoptNamespace { .. } => report.push(c.clone(), Ok(())),
            _ => {}
        }
    }

    let host_changes: Vec<Change> = plan
        .changes
        .iter()
        .filter(|c| scope_of(c) == Some(Scope::Host))
        .cloned()
        .collect();
    let host = apply_host(kernel, &host_changes, observed, &mut report).await;

    let mut per_ns: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for c in &plan.changes {
        if let Some(Scope::Ns(ns)) = scope_of(c) {
            per_ns.entry(ns).or_default().push(c.clone());
        }
    }
    for ns in &failed_ns {
        for c in per_ns.remove(ns).unwrap_or_default() {
            report.push(
                c,
                Err(format!(
                    "not attempted: namespace {ns} could not be created"
                )),
            );
        }
    }
    let host = &host;
    let reports: Vec<Report> = stream::iter(per_ns)
        .map(|(ns, changes)| async move {
            let obs = observed.namespaces.get(&ns);
            apply_ns(kernel, &ns, changes, obs, host).await
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    for r in reports {
        report.outcomes.extend(r.outcomes);
    }

    let mut forgotten = false;
    for c in &plan.changes {
        let result = match c {
            Change::DeleteNamespace { ns } => kernel.delete_namespace(ns).await.map(|()| ns),
            Change::ReleaseNamespace { ns } => Ok(ns),
            _ => continue,
        };
        if let Ok(ns) = result {
            state.namespaces.remove(ns);
            forgotten = true;
        }
        report.push(c.clone(), result.map(drop));
    }
    if forgotten && let Err(e) = kernel.save_state(state) {
        tracing::warn!(error = %e, "cannot record removed namespaces");
    }
    report
}
