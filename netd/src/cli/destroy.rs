//! `netd destroy NAME|--all`: remove what netd owns, never anything else.

use super::converge::print_outcome;
use super::{Cli, CliError, dirs};
use crate::engine::Engine;

pub async fn run(cli: &Cli, name: Option<&str>, all: bool, json: bool) -> Result<u8, CliError> {
    let (netns_dir, state_dir) = dirs(cli);
    if let Some(name) = name {
        crate::model::check_namespace_name(name).map_err(CliError::Usage)?;
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
