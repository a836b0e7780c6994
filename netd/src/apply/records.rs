//! The state's part of an apply: what netd is about to create is recorded
//! before the kernel work (so an interrupted run leaves nothing it would not
//! recognise as its own), and completed or cleared after it.

use super::Report;
use crate::netns::PinKind;
use crate::observe::Observed;
use crate::plan::{Change, Plan};
use crate::state::{LinkIntent, NsRecord, Origin, PinId, State};

fn observed_pin(observed: &Observed, ns: &str) -> Option<PinId> {
    match observed.pins.get(ns) {
        Some(PinKind::Namespace { id }) => Some(*id),
        _ => None,
    }
}

fn link_intents(change: &Change) -> Vec<LinkIntent> {
    let intent = |ns: Option<&str>, name: &str| LinkIntent {
        ns: ns.map(str::to_string),
        name: name.to_string(),
    };
    match change {
        Change::CreateBridge { name, .. } => vec![intent(None, name)],
        Change::CreateVeth {
            ns,
            name,
            host_name,
            ..
        } => vec![intent(None, host_name), intent(Some(ns), name)],
        Change::CreateDummy { ns, name, .. } => vec![intent(Some(ns), name)],
        _ => Vec::new(),
    }
}

/// Records intents; returns whether the state changed and must be saved
/// before the first kernel change.
pub(super) fn before(plan: &Plan, observed: &Observed, state: &mut State) -> bool {
    let old = state.clone();
    for c in &plan.changes {
        match c {
            Change::CreateNamespace { ns } => {
                // Any earlier record (a namespace someone deleted) is
                // superseded: netd is creating a new one.
                state
                    .namespaces
                    .insert(ns.clone(), NsRecord::new(Origin::Created, None));
            }
            Change::AdoptNamespace { ns } => {
                let pin = observed_pin(observed, ns);
                state
                    .namespaces
                    .entry(ns.clone())
                    .or_insert_with(|| NsRecord::new(Origin::Adopted, pin));
            }
            Change::RecordNamespace { ns } => {
                if let Some(r) = state.namespaces.get_mut(ns) {
                    r.pin = observed_pin(observed, ns);
                }
            }
            // The value before netd is kept once, at the first change, so
            // that releasing an adopted namespace puts back the admin's.
            Change::SetSysctl { ns, key, was, .. } => {
                if let Some(r) = state.namespaces.get_mut(ns)
                    && r.origin == Origin::Adopted
                {
                    r.sysctls.entry(key.clone()).or_insert_with(|| was.clone());
                }
            }
            Change::ReplaceTable { .. } => state.nft_table = true,
            other => state.link_intents.extend(link_intents(other)),
        }
    }
    *state != old
}

/// Completes and clears records after the kernel work; returns whether the
/// state changed.
pub(super) fn after(report: &Report, created: &[(String, PinId)], state: &mut State) -> bool {
    let old = state.clone();
    for (ns, id) in created {
        if let Some(r) = state.namespaces.get_mut(ns) {
            r.pin = Some(*id);
        }
    }
    for c in report.done() {
        match c {
            Change::DeleteNamespace { ns }
            | Change::ReleaseNamespace { ns }
            | Change::ForgetNamespace { ns, .. } => {
                state.namespaces.remove(ns);
            }
            Change::RestoreSysctl { ns, key, .. } => {
                if let Some(r) = state.namespaces.get_mut(ns) {
                    r.sysctls.remove(key);
                }
            }
            Change::DeleteTable => state.nft_table = false,
            // The mark is set in the same change as the create (or is what
            // the change sets): once it succeeded, the link carries it.
            Change::SetLink {
                scope,
                name,
                settings,
                ..
            } if settings.alias.is_some() => {
                state.link_intents.remove(&LinkIntent {
                    ns: scope.ns().map(str::to_string),
                    name: name.clone(),
                });
            }
            other => {
                for intent in link_intents(other) {
                    state.link_intents.remove(&intent);
                }
            }
        }
    }
    // Intents for links in namespaces netd no longer has are moot.
    state.link_intents.retain(|i| {
        i.ns.as_ref()
            .is_none_or(|ns| state.namespaces.contains_key(ns))
    });
    *state != old
}

/// Whether a namespace's pin path held an empty file when planned: only
/// then may creation reuse a file it finds there.
pub(super) fn reuse_empty(observed: &Observed, ns: &str) -> bool {
    observed.pins.get(ns) == Some(&PinKind::EmptyFile)
}

/// The identity a namespace's pin must have to be removed: the recorded
/// one, or for an interrupted creation the one observed (None: an empty
/// leftover file).
pub(super) fn expected_pin(state: &State, observed: &Observed, ns: &str) -> Option<PinId> {
    state
        .namespaces
        .get(ns)
        .and_then(|r| r.pin)
        .or_else(|| observed_pin(observed, ns))
}
