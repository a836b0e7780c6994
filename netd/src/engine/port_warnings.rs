//! Port conflicts in the `respect` and `integrate` modes: a warning, and
//! the apply goes on. Each conflict is logged once, when it appears: a
//! daemon plans again and again, and a re-check plans again at once.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::EngineError;
use super::port_conflict::{PublishedPort, conflicts, on_published_port, publish_label};
use super::publish_check::read_ruleset;
use super::sockdiag::read_host_sockets;
use crate::model::{Desired, PolicyMode};

/// The conflict lines logged last time.
static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Logs the conflicts of `desired`'s publishes that were not logged last
/// time; nothing in strict mode (its refusals name them) or without
/// publishes.
pub fn warn_conflicts(desired: &Desired) {
    if desired.policy.mode == PolicyMode::Strict {
        return;
    }
    let lines = match conflict_lines(desired) {
        Ok(lines) => lines,
        Err(e) => vec![format!(
            "cannot check the published ports for conflicts: {e}"
        )],
    };
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    for line in remember(&mut warned, lines) {
        tracing::warn!("{line}");
    }
}

/// The lines not in `warned`, which becomes `lines`: a conflict that goes
/// away and comes back is logged again.
fn remember(warned: &mut BTreeSet<String>, lines: Vec<String>) -> Vec<String> {
    let new = lines
        .iter()
        .filter(|l| !warned.contains(*l))
        .cloned()
        .collect();
    *warned = lines.into_iter().collect();
    new
}

/// `LABEL: conflict: TEXT` for every conflict of every publish.
fn conflict_lines(desired: &Desired) -> Result<Vec<String>, EngineError> {
    let publishes: Vec<_> = desired
        .namespaces
        .values()
        .flat_map(|n| &n.publish)
        .collect();
    if publishes.is_empty() {
        return Ok(Vec::new());
    }
    let ports: Vec<PublishedPort> = publishes.iter().map(|p| PublishedPort::from(*p)).collect();
    let rs = read_ruleset()?;
    let sockets = read_host_sockets(|s| on_published_port(&ports, s))?;
    let mut out = Vec::new();
    for (p, pp) in publishes.iter().zip(&ports) {
        let label = publish_label(&p.ns, pp);
        out.extend(
            conflicts(pp, &sockets, &rs)
                .iter()
                .map(|c| format!("{label}: conflict: {}", c.text())),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_is_logged_when_it_appears_and_not_while_it_stays() {
        let mut warned = BTreeSet::new();
        let a = || "publish web 80/tcp (ipv4): conflict: a".to_string();
        let b = || "publish web 81/tcp (ipv4): conflict: b".to_string();
        assert_eq!(remember(&mut warned, vec![a()]), [a()]);
        assert!(remember(&mut warned, vec![a()]).is_empty());
        assert_eq!(remember(&mut warned, vec![a(), b()]), [b()]);
        assert!(remember(&mut warned, vec![b()]).is_empty());
        assert_eq!(remember(&mut warned, vec![a(), b()]), [a()]);
    }
}
