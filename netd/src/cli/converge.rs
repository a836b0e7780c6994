//! `netd plan` and `netd apply`: observe, diff, and (for apply) converge.

use std::path::Path;

use super::output::{print_json, print_plan, print_report};
use super::{Cli, CliError, load_config};
use crate::apply::{self, RealKernel};
use crate::model::Desired;
use crate::netns::{self, Registry};
use crate::observe::{Observed, observe};
use crate::plan::{self, Plan};
use crate::state::State;

pub(crate) struct Session {
    pub registry: Registry,
    pub state: State,
    pub observed: Observed,
}

/// Opens the kernel side and reads what is there for `desired`.
pub(crate) async fn open_session(desired: &Desired) -> Result<Session, CliError> {
    netns::raise_fd_limit();
    let started = std::time::Instant::now();
    let state = State::load(&desired.state_dir).map_err(CliError::runtime)?;
    let registry = Registry::new(&desired.netns_dir).map_err(CliError::runtime)?;
    let observed = observe(&registry, desired, &state)
        .await
        .map_err(CliError::runtime)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        namespaces = observed.namespaces.len(),
        "observed"
    );
    Ok(Session {
        registry,
        state,
        observed,
    })
}

pub(crate) fn conflicts_error(conflicts: Vec<plan::Conflict>) -> CliError {
    let lines: Vec<String> = conflicts.iter().map(|c| format!("conflict: {c}")).collect();
    CliError::Runtime(format!("{}\nnothing was changed", lines.join("\n")))
}

pub(crate) async fn apply_plan(
    session: &mut Session,
    desired: &Desired,
    plan: &Plan,
    json: bool,
) -> Result<u8, CliError> {
    let kernel = RealKernel {
        registry: &session.registry,
        state_dir: desired.state_dir.clone(),
    };
    let started = std::time::Instant::now();
    let report = apply::apply(&kernel, plan, &session.observed, &mut session.state).await;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        changes = report.outcomes.len(),
        "applied"
    );
    if json {
        let mut value = report.to_json();
        value["orphans"] = serde_json::json!(plan.orphans);
        print_json(&value);
    } else {
        print_report(&report, plan);
    }
    Ok(if report.is_ok() { 0 } else { 1 })
}

pub async fn run(
    cli: &Cli,
    config: &Path,
    json: bool,
    prune: bool,
    apply: bool,
) -> Result<u8, CliError> {
    let desired = load_config(cli, config)?;
    tracing::debug!(namespaces = desired.namespaces.len(), "config loaded");
    // Strict mode decides before anything is read or changed; `plan` shows
    // the refusals too, so nothing surprises at apply time.
    let refused = super::strict::refusals(&desired)?;
    if !refused.is_empty() {
        return Err(CliError::Runtime(format!(
            "the strict policy refuses {} publish(es):\n{}\nnothing was changed",
            refused.len(),
            refused.join("\n")
        )));
    }
    // The state is read under the lock, so what this run changes starts
    // from what the previous writer left.
    let _lock = if apply {
        Some(super::writer_lock(cli, &desired.state_dir)?)
    } else {
        None
    };
    let mut session = open_session(&desired).await?;
    let plan =
        plan::plan(&desired, &session.observed, &session.state, prune).map_err(conflicts_error)?;
    if !apply {
        if json {
            let changes: Vec<_> = plan.changes.iter().map(|c| c.summary()).collect();
            print_json(&serde_json::json!({ "changes": changes, "orphans": plan.orphans }));
        } else {
            print_plan(&plan);
        }
        return Ok(0);
    }
    apply_plan(&mut session, &desired, &plan, json).await
}
