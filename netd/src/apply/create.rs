//! Creating links when other software creates links too. netd picks the
//! ifindex of a new veth or dummy so that later requests can name it before
//! the kernel answers; another program may take that index (or the name)
//! meanwhile. A taken index is retried with the kernel's choice, and the
//! caller learns the real index from the namespace afterwards; a taken name
//! is a conflict that names the link. The requests that mark and configure a
//! new link are only sent for links that now exist, so they can never
//! touch a link another program made under the same name.

use super::{Kernel, Report};
use crate::netlink::{KernelError, Op, Recovery, Request};
use crate::plan::{Change, Scope};

/// One link to create.
pub(super) struct NewLink {
    pub change: Change,
    /// The creation request, with netd's chosen ifindex if any.
    pub request: Request,
    /// The same creation with the index left to the kernel; None when the
    /// request already leaves it to the kernel.
    pub fallback: Option<Request>,
    /// The names the link takes, each with where it lives: what a taken
    /// name is looked up as.
    pub names: Vec<(Scope, String)>,
}

/// What happened to a set of creations (failures are already reported).
#[derive(Default)]
pub(super) struct Created {
    /// The changes whose link now exists, in the order given.
    pub ok: Vec<Change>,
    /// Whether any link got an index the kernel chose rather than netd's.
    pub kernel_chose: bool,
}

fn op(new: &NewLink) -> Op {
    if new.fallback.is_some() {
        Op::CreateLinkAt
    } else {
        Op::CreateLink
    }
}

/// Sends every creation on `scope`'s socket, pipelined; retries those whose
/// chosen index was taken, in one more batch.
pub(super) async fn create_links<K: Kernel>(
    kernel: &K,
    scope: &Scope,
    links: Vec<NewLink>,
    report: &mut Report,
) -> Created {
    let mut created = Created::default();
    if links.is_empty() {
        return created;
    }
    let requests = links.iter().map(|l| l.request.clone()).collect();
    let results = kernel.netlink(scope, requests).await;
    let mut retry = Vec::new();
    for (new, result) in links.into_iter().zip(results) {
        let Err(e) = result else {
            created.ok.push(new.change);
            continue;
        };
        let failure = KernelError::from_nl(op(&new), new.change.to_string(), &e);
        match (failure.recovery(), &new.fallback) {
            (Recovery::Retry, Some(_)) => retry.push(new),
            _ => settle_failure(kernel, new, failure, report).await,
        }
    }
    if retry.is_empty() {
        return created;
    }
    tracing::info!(
        links = retry.len(),
        "another program took ifindexes netd had chosen; letting the kernel choose"
    );
    let requests = retry.iter().filter_map(|l| l.fallback.clone()).collect();
    let results = kernel.netlink(scope, requests).await;
    for (new, result) in retry.into_iter().zip(results) {
        match result {
            Ok(()) => {
                created.kernel_chose = true;
                created.ok.push(new.change);
            }
            Err(e) => {
                let failure = KernelError::from_nl(Op::CreateLink, new.change.to_string(), &e);
                settle_failure(kernel, new, failure, report).await;
            }
        }
    }
    created
}

/// Reports a failed creation by its real cause: for a taken name, which
/// link holds it.
async fn settle_failure<K: Kernel>(
    kernel: &K,
    new: NewLink,
    failure: KernelError,
    report: &mut Report,
) {
    let message = if failure.op == Op::CreateLink && failure.errno == Some(EEXIST) {
        match taken_name(kernel, &new.names).await {
            Some((scope, name)) => format!(
                "link {name} {} already exists and netd did not create it (another program \
                 made it); rename or remove it, or name the link differently in the config",
                where_(&scope)
            ),
            None => failure.cause(),
        }
    } else {
        failure.cause()
    };
    report.push(new.change, Err(message));
}

const EEXIST: i32 = 17;

fn where_(scope: &Scope) -> String {
    match scope {
        Scope::Host => "in the host namespace".to_string(),
        Scope::Ns(ns) => format!("in namespace {ns}"),
    }
}

/// The first of `names` that a link holds now.
async fn taken_name<K: Kernel>(kernel: &K, names: &[(Scope, String)]) -> Option<(Scope, String)> {
    for (scope, name) in names {
        if let Ok(links) = kernel.links(scope).await
            && links.iter().any(|l| &l.name == name)
        {
            return Some((scope.clone(), name.clone()));
        }
    }
    None
}

#[cfg(test)]
mod tests;
