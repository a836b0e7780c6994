//! After an apply: read again what it touched and repair what the kernel
//! changed on its own (a bridge MTU that followed a port, routes dropped
//! with an address, a link-local address that came back), in a bounded
//! number of rounds. What still differs after them is an error.

use std::collections::BTreeSet;

use super::{Engine, EngineError, Session};
use crate::apply::Report;
use crate::model::Desired;
use crate::observe::Scope as ObserveScope;
use crate::plan::{Change, Plan, Scope};

/// Re-checks after the first apply. One is enough for every side effect
/// netd knows of; the others are for whatever the kernel does in reply to
/// the repairs.
pub const ROUNDS: usize = 3;

/// What a round touched, and so must read again.
struct Touched {
    namespaces: BTreeSet<String>,
    host: bool,
    nft: bool,
}

/// Whether a change can change the host's links or addresses: everything
/// but what stays inside one namespace. A veth has an end on the host.
fn touches_host(c: &Change) -> bool {
    !matches!(
        c,
        Change::AddAddress {
            scope: Scope::Ns(_),
            ..
        } | Change::DeleteAddress {
            scope: Scope::Ns(_),
            ..
        } | Change::SetLink {
            scope: Scope::Ns(_),
            ..
        } | Change::AddRoute { .. }
            | Change::DeleteRoute { .. }
            | Change::SetSysctl { .. }
            | Change::RestoreSysctl { .. }
    )
}

/// What `changes` did something to; None when there are no changes at all.
fn touched(changes: &[Change]) -> Option<Touched> {
    if changes.is_empty() {
        return None;
    }
    let namespaces = changes.iter().filter_map(|c| c.summary().ns).collect();
    let nft = changes.iter().any(|c| {
        matches!(
            c,
            Change::ReplaceTable { .. } | Change::DeleteTable | Change::HostRules { .. }
        )
    });
    let host = changes.iter().any(touches_host);
    Some(Touched {
        namespaces,
        host,
        nft,
    })
}

impl Engine {
    /// Re-reads and repairs after `plan` was applied with `report`. Only a
    /// clean apply is re-checked: a failed change would only fail again,
    /// and the run reports it already.
    pub async fn recheck(
        &self,
        session: &mut Session,
        (desired, prune): (&Desired, bool),
        plan: &Plan,
        report: &mut Report,
    ) -> Result<(), EngineError> {
        // What the last round touched; the changes themselves are not kept
        // (a first apply has thousands).
        let mut last = touched(&plan.changes);
        for round in 1..=ROUNDS {
            let Some(t) = last.take() else {
                return Ok(());
            };
            if !report.is_ok() {
                return Ok(());
            }
            let scope = ObserveScope {
                namespaces: &t.namespaces,
                host: t.host,
                nft: t.nft,
            };
            self.refresh(session, desired, scope).await?;
            let again = self.plan(session, desired, prune)?;
            if again.is_empty() {
                return Ok(());
            }
            if round == ROUNDS {
                for c in again.changes {
                    let why = format!("still differs from the config after {ROUNDS} re-checks");
                    report.push(c, Err(why));
                }
                return Ok(());
            }
            tracing::info!(
                round,
                changes = again.changes.len(),
                "repairing what the kernel changed"
            );
            let repaired = self.apply(session, &again).await;
            report.outcomes.extend(repaired.outcomes);
            last = touched(&again.changes);
        }
        Ok(())
    }
}
