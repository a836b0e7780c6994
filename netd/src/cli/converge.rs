//! `netd plan` and `netd apply`: the engine's cycle, printed.

use std::path::Path;

use super::output::{print_json, print_plan, print_report};
use super::{Cli, CliError, load_config};
use crate::apply::Report;
use crate::daemon::protocol::{self, Command, Request};
use crate::engine::Engine;
use crate::plan::Plan;

/// Opens the engine on the directories `desired` names.
pub(crate) fn open_engine(desired: &crate::model::Desired) -> Result<Engine, CliError> {
    Ok(Engine::open(&desired.netns_dir, &desired.state_dir)?)
}

/// Prints what apply (or destroy) did; exit 1 if any change failed.
pub(crate) fn print_outcome(plan: &Plan, report: &Report, json: bool) -> u8 {
    if json {
        let mut value = report.to_json();
        value["orphans"] = serde_json::json!(plan.orphans);
        value["ok"] = serde_json::json!(report.is_ok());
        print_json(&value);
    } else {
        print_report(report, plan);
    }
    if report.is_ok() { 0 } else { 1 }
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
    if apply {
        // A running daemon holds the lock for its life: it applies.
        let mut request = Request::new(Command::Apply);
        request.prune = prune;
        request.config = Some(std::path::absolute(config).unwrap_or_else(|_| config.into()));
        if let Some(answer) = protocol::ask(&desired.state_dir, &request)
            .await
            .map_err(|e| CliError::Runtime(format!("cannot talk to the netd daemon: {e}")))?
        {
            return super::run::print_answer(&answer, json);
        }
    }
    let engine = open_engine(&desired)?;
    if apply {
        let (plan, report) = engine.converge(&desired, prune, cli.wait()).await?;
        return Ok(print_outcome(&plan, &report, json));
    }
    let session = engine.session(&desired).await?;
    let plan = engine.plan(&session, &desired, prune)?;
    // In respect and integrate modes a published port someone else has is
    // a warning (strict mode refused it above).
    crate::engine::port_warnings::warn_conflicts(&desired);
    if json {
        let changes: Vec<_> = plan.changes.iter().map(|c| c.summary()).collect();
        print_json(&serde_json::json!({ "changes": changes, "orphans": plan.orphans }));
    } else {
        print_plan(&plan);
    }
    Ok(if plan.is_empty() {
        0
    } else {
        super::EXIT_PENDING
    })
}
