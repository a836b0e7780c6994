//! `netd destroy NAME|--all`: remove what netd owns, never anything else.
//! Built on the planner: the plan for "nothing configured, prune", narrowed
//! to the namespace asked for.

use super::converge::{apply_plan, conflicts_error, open_session};
use super::{Cli, CliError, dirs};
use crate::model::Desired;
use crate::plan::{self, Change, Scope};
use crate::state::State;

pub async fn run(cli: &Cli, name: Option<&str>, all: bool, json: bool) -> Result<u8, CliError> {
    let (netns_dir, state_dir) = dirs(cli);
    if let Some(name) = name {
        crate::model::check_namespace_name(name).map_err(CliError::Usage)?;
    }
    let desired = Desired::empty(netns_dir, state_dir.clone());
    let _lock = super::writer_lock(cli, &state_dir)?;
    let mut session = open_session(&desired).await?;
    let mut plan =
        plan::plan(&desired, &session.observed, &session.state, true).map_err(conflicts_error)?;
    if !all {
        let name = name.unwrap_or_default();
        if !session.state.namespaces.contains_key(name) {
            return Err(CliError::Runtime(format!(
                "namespace {name} is not netd's (not recorded in {}); netd only destroys what it created or adopted",
                State::path(&state_dir).display()
            )));
        }
        let host_alias = format!("{}{name}/", crate::model::VETH_ALIAS_PREFIX);
        let host = &session.observed.host;
        plan.changes.retain(|c| match c {
            Change::DeleteLink {
                scope: Scope::Host,
                name: link,
                ..
            } => host
                .link(link)
                .and_then(|l| l.alias.as_deref())
                .is_some_and(|a| a.starts_with(&host_alias)),
            other => other.summary().ns.as_deref() == Some(name),
        });
    }
    plan.orphans.clear();
    let code = apply_plan(&mut session, &desired, &plan, json).await?;
    if all && code == 0 {
        State::remove(&state_dir).map_err(CliError::runtime)?;
    }
    Ok(code)
}
