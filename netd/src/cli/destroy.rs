//! `netd destroy NAME|--all`: remove what netd owns, never anything else.

use super::converge::print_outcome;
use super::{Cli, CliError, dirs};
use crate::engine::Engine;

pub async fn run(cli: &Cli, name: Option<&str>, all: bool, json: bool) -> Result<u8, CliError> {
    let (netns_dir, state_dir) = dirs(cli);
    if let Some(name) = name {
        crate::model::check_namespace_name(name).map_err(CliError::Usage)?;
    }
    // A daemon holds the lock for its life and would recreate what is
    // destroyed: say so at once rather than wait for the lock.
    if let Some(answer) = super::daemon_status::ask(&state_dir).await {
        return Err(CliError::Busy {
            pid: answer["pid"].as_u64().map(|p| p as u32),
            message: format!(
                "netd run (pid {}) manages these namespaces; remove them from its config and run `netd apply --prune`, or stop the daemon first",
                answer["pid"]
            ),
        });
    }
    let engine = Engine::open(&netns_dir, &state_dir)?;
    let _lock = engine.lock(cli.wait())?;
    let mut session = engine.session(&engine.nothing()).await?;
    let plan = engine.destroy_plan(&session, if all { None } else { name })?;
    let report = engine.apply(&mut session, &plan).await;
    let code = print_outcome(&plan, &report, json);
    if all && code == 0 {
        engine.remove_state()?;
    }
    Ok(code)
}
