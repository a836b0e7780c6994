//! What `netd status` counts as missing or drifted: the part of the plan
//! that concerns objects netd already owns. A namespace the config adds,
//! or a bridge not yet created, is a pending change for `plan`, not drift:
//! nothing says netd ever had it.

use serde::Serialize;

use crate::observe::Observed;
use crate::plan::{Change, ChangeSummary, Plan, Scope};
use crate::state::State;

/// A namespace netd recorded whose pin is gone or holds something else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub kind: &'static str,
    pub name: String,
    /// What is at the pin path instead (`nothing`, `a symlink`, ...).
    pub found: String,
}

/// Recorded namespaces that are not pinned, or not pinned by netd.
pub fn missing(state: &State, observed: &Observed) -> Vec<Missing> {
    state
        .namespaces
        .keys()
        .filter(|name| !observed.pinned.contains(*name))
        .map(|name| Missing {
            kind: "namespace",
            name: name.clone(),
            found: observed
                .pins
                .get(name)
                .map_or_else(|| "nothing".to_string(), ToString::to_string),
        })
        .collect()
}

/// A host link netd marked as its own (a bridge or a veth's host end).
fn owned_host_link(observed: &Observed, name: &str) -> bool {
    observed.host.link(name).is_some_and(|l| l.owned_by_netd())
}

/// Whether `change` would repair something netd already owns.
fn repairs_owned(change: &Change, state: &State, observed: &Observed) -> bool {
    let live_ns = |ns: &str| state.namespaces.contains_key(ns) && observed.pinned.contains(ns);
    match change {
        Change::SetLink {
            scope: Scope::Host,
            name,
            ..
        }
        | Change::DeleteLink {
            scope: Scope::Host,
            name,
            ..
        }
        | Change::AddAddress {
            scope: Scope::Host,
            link: name,
            ..
        }
        | Change::DeleteAddress {
            scope: Scope::Host,
            link: name,
            ..
        } => owned_host_link(observed, name),
        Change::SetHostSysctl { key, .. } => {
            key.split('.').any(|part| owned_host_link(observed, part))
        }
        Change::ReplaceTable { .. } | Change::DeleteTable | Change::HostRules { .. } => {
            state.nft_table
        }
        Change::CreateBridge { .. } => false,
        other => other.summary().ns.as_deref().is_some_and(live_ns),
    }
}

/// The changes of `plan` that put back or correct what netd owns.
pub fn drift(plan: &Plan, state: &State, observed: &Observed) -> Vec<ChangeSummary> {
    plan.changes
        .iter()
        .filter(|c| repairs_owned(c, state, observed))
        .map(Change::summary)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{converged, recorded};

    fn topology() -> crate::model::Desired {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/plan/topology.toml");
        crate::config::load(std::path::Path::new(path)).expect("valid test config")
    }

    #[test]
    fn a_converged_host_has_no_drift_and_nothing_missing() {
        let d = topology();
        let (o, s) = (converged(&d), recorded(&d));
        let p = crate::plan::plan(&d, &o, &s, false).unwrap();
        assert!(drift(&p, &s, &o).is_empty());
        assert!(missing(&s, &o).is_empty());
    }

    #[test]
    fn an_address_removed_by_hand_is_drift() {
        let d = topology();
        let (mut o, s) = (converged(&d), recorded(&d));
        let web = o.namespaces.get_mut("web").unwrap();
        web.addrs.retain(|a| a.net.to_string() != "10.88.0.2/24");
        let p = crate::plan::plan(&d, &o, &s, false).unwrap();
        let found = drift(&p, &s, &o);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].kind, found[0].prefix_len), ("address", Some(24)));
    }

    #[test]
    fn a_namespace_not_yet_applied_is_pending_not_drift() {
        let d = topology();
        let p = crate::plan::plan(&d, &Observed::default(), &State::default(), false).unwrap();
        assert!(!p.is_empty());
        assert!(drift(&p, &State::default(), &Observed::default()).is_empty());
    }

    #[test]
    fn a_recorded_namespace_without_its_pin_is_missing() {
        let d = topology();
        let (mut o, s) = (converged(&d), recorded(&d));
        o.pinned.remove("db");
        o.pins.insert("db".into(), crate::netns::PinKind::Symlink);
        let m = missing(&s, &o);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(
            (m[0].name.as_str(), m[0].found.as_str()),
            ("db", "a symlink")
        );
    }
}
