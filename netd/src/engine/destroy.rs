//! `destroy`: the plan for "nothing configured, prune", narrowed to one
//! namespace when asked.

use super::{Engine, EngineError, Session};
use crate::model::{Desired, VETH_ALIAS_PREFIX};
use crate::plan::{self, Change, Plan, Scope};
use crate::state::State;

impl Engine {
    /// The config that owns nothing: destroying is converging to it.
    pub fn nothing(&self) -> Desired {
        Desired::empty(
            self.netns_dir().to_path_buf(),
            self.state_dir().to_path_buf(),
        )
    }

    /// Removes everything netd owns (`name` None) or one namespace of it.
    /// A name netd did not record is refused: netd only destroys what it
    /// created or adopted.
    pub fn destroy_plan(&self, session: &Session, name: Option<&str>) -> Result<Plan, EngineError> {
        let mut plan = plan::plan(&self.nothing(), &session.observed, &session.state, true)
            .map_err(EngineError::Conflicts)?;
        plan.orphans.clear();
        let Some(name) = name else {
            return Ok(plan);
        };
        if !session.state.namespaces.contains_key(name) {
            return Err(EngineError::NotOwned(format!(
                "namespace {name} is not netd's (not recorded in {}); netd only destroys what it created or adopted",
                State::path(self.state_dir()).display()
            )));
        }
        let host_alias = format!("{VETH_ALIAS_PREFIX}{name}/");
        let host = &session.observed.host;
        plan.changes.retain(|c| match c {
            Change::DeleteLink {
                scope: Scope::Host,
                name: link,
            } => host
                .link(link)
                .and_then(|l| l.alias.as_deref())
                .is_some_and(|a| a.starts_with(&host_alias)),
            other => other.summary().ns.as_deref() == Some(name),
        });
        Ok(plan)
    }
}
