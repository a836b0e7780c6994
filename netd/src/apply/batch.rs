//! Batches of requests on one socket, and the bookkeeping that maps their
//! results back to the changes they implement.

use std::collections::HashMap;

use super::{Kernel, Report};
use crate::netlink::{KernelError, LinkChange, NlError, Op, Request};
use crate::observe::NsObserved;
use crate::plan::{Change, Scope};

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const EADDRNOTAVAIL: i32 = 99;

/// Deleting what is already gone, or adding what is already there, is the
/// state we wanted: information, not failure. A real failure is told by its
/// cause, with the errno.
pub(super) fn settle(change: &Change, result: Result<(), NlError>) -> Result<(), String> {
    let Err(e) = result else {
        return Ok(());
    };
    let errno = e.errno();
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
    Err(KernelError::from_nl(op_of(change), change.to_string(), &e).cause())
}

fn op_of(change: &Change) -> Op {
    match change {
        Change::CreateBridge { .. } => Op::CreateLink,
        Change::CreateVeth { .. } | Change::CreateDummy { .. } => Op::CreateLinkAt,
        Change::DeleteLink { .. } => Op::DeleteLink,
        Change::AddAddress { .. } => Op::AddAddress,
        Change::DeleteAddress { .. } => Op::DeleteAddress,
        Change::AddRoute { .. } => Op::AddRoute,
        Change::DeleteRoute { .. } => Op::DeleteRoute,
        _ => Op::ChangeLink,
    }
}

/// Name → ifindex in one namespace, kept up to date as links come and go.
#[derive(Default, Clone)]
pub(super) struct Indexes {
    pub(super) by_name: HashMap<String, u32>,
    pub(super) next: u32,
}

impl Indexes {
    /// From a fresh read of the namespace's links.
    pub(super) fn from_links(links: Vec<crate::observe::ObservedLink>) -> Self {
        let next = links.iter().map(|l| l.index).max().unwrap_or(1) + 1;
        Indexes {
            by_name: links.into_iter().map(|l| (l.name, l.index)).collect(),
            next,
        }
    }

    pub(super) fn from_observed(o: &NsObserved) -> Self {
        Indexes {
            by_name: o.links.iter().map(|l| (l.name.clone(), l.index)).collect(),
            next: o.next_free_index(),
        }
    }

    pub(super) fn get(&self, name: &str) -> Result<u32, String> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| format!("link {name} does not exist"))
    }

    /// Picks the ifindex a new link will get, so that later requests in the
    /// same batch can name it before the kernel has answered.
    pub(super) fn allocate(&mut self, name: &str) -> u32 {
        let index = self.next;
        self.next += 1;
        self.by_name.insert(name.to_string(), index);
        index
    }
}

/// Requests for changes whose lowering succeeded, each change with the one
/// or more requests it takes; a change whose lowering failed (an unknown
/// link, say) is reported at once.
pub(super) struct Batch {
    changes: Vec<Change>,
    requests: Vec<Vec<Request>>,
    /// Requests that finish a change reported earlier (a new veth's inner
    /// end, set up from inside): only their failures are reported.
    follow_ups: Vec<(Change, Request)>,
}

impl Batch {
    pub(super) fn new() -> Self {
        Batch {
            changes: Vec::new(),
            requests: Vec::new(),
            follow_ups: Vec::new(),
        }
    }

    pub(super) fn add(
        &mut self,
        change: &Change,
        lowered: Result<Request, String>,
        report: &mut Report,
    ) {
        self.add_all(change, lowered.map(|r| vec![r]), report);
    }

    pub(super) fn add_all(
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

    pub(super) fn follow_up(&mut self, change: &Change, req: Request) {
        self.follow_ups.push((change.clone(), req));
    }

    pub(super) async fn run<K: Kernel>(self, kernel: &K, scope: &Scope, report: &mut Report) {
        if self.requests.is_empty() && self.follow_ups.is_empty() {
            return;
        }
        let counts: Vec<usize> = self.requests.iter().map(Vec::len).collect();
        let (owners, first): (Vec<Change>, Vec<Request>) = self.follow_ups.into_iter().unzip();
        let all = first
            .into_iter()
            .chain(self.requests.into_iter().flatten())
            .collect();
        let mut results = kernel.netlink(scope, all).await.into_iter();
        // A change is reported once: a failed follow-up makes it a failure,
        // so that its records stay for the next run to finish the job.
        let mut unfinished: Vec<(Change, String)> = Vec::new();
        for change in owners {
            if let Some(Err(e)) = results.next()
                && !unfinished.iter().any(|(c, _)| *c == change)
            {
                let why = format!("created, but cannot set it up inside: {e}");
                unfinished.push((change, why));
            }
        }
        for (change, n) in self.changes.into_iter().zip(counts) {
            let mut outcome = Ok(());
            for _ in 0..n {
                let r = results.next().unwrap_or(Err(NlError::Closed));
                if outcome.is_ok() {
                    outcome = r;
                }
            }
            let mut settled = settle(&change, outcome);
            if let Some(pos) = unfinished.iter().position(|(c, _)| *c == change) {
                let (_, why) = unfinished.remove(pos);
                settled = settled.and(Err(why));
            }
            report.push(change, settled);
        }
        for (change, why) in unfinished {
            report.fail_done(change, why);
        }
    }
}

pub(super) fn alias_only(alias: String) -> LinkChange {
    LinkChange {
        alias: Some(alias),
        ..LinkChange::default()
    }
}
