//! The observe → plan → apply → re-check cycle as a library, for the CLI and
//! for a daemon alike. It prints nothing: every step returns what it found
//! or did, and failures are typed ([`EngineError`]).
//!
//! An [`Engine`] is long-lived. It holds the namespace registry (whose
//! handles re-check a pin's identity before each use) and the directories;
//! each cycle opens a [`Session`] with the state and the kernel as they are
//! now.

mod destroy;
mod error;
mod foreign_dnat;
#[cfg(test)]
mod foreign_dnat_tests;
pub mod hostfacts;
pub mod hostnet;
mod iptables_save;
pub mod port_conflict;
pub mod port_warnings;
pub mod publish_check;
mod recheck;
pub mod sockdiag;
pub mod strict;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use error::EngineError;
pub use recheck::ROUNDS;

use crate::apply::{self, RealKernel, Report};
use crate::model::Desired;
use crate::netns::{self, Registry};
use crate::observe::{Observed, Scope, observe, refresh_scoped};
use crate::plan::{self, Plan};
use crate::state::{State, WriterLock};

/// One cycle's view: the state as the last writer left it and the kernel as
/// it is now.
pub struct Session {
    pub state: State,
    pub observed: Observed,
}

pub struct Engine {
    registry: Registry,
    state_dir: PathBuf,
}

impl Engine {
    /// Must be called from inside the tokio runtime.
    pub fn open(netns_dir: &Path, state_dir: &Path) -> Result<Engine, EngineError> {
        netns::raise_fd_limit();
        Ok(Engine {
            registry: Registry::new(netns_dir)?,
            state_dir: state_dir.to_path_buf(),
        })
    }

    pub fn netns_dir(&self) -> &Path {
        self.registry.netns_dir()
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The writer lock, waited for up to `wait`. A writer takes it before
    /// [`Engine::session`], so that the state it changes is the one the
    /// previous writer left.
    pub fn lock(&self, wait: Duration) -> Result<WriterLock, EngineError> {
        let started = Instant::now();
        let lock = WriterLock::acquire(&self.state_dir, wait)?;
        tracing::debug!(
            elapsed_us = started.elapsed().as_micros() as u64,
            "writer lock taken"
        );
        Ok(lock)
    }

    /// Reads the state and what the kernel has for `desired`.
    pub async fn session(&self, desired: &Desired) -> Result<Session, EngineError> {
        let started = Instant::now();
        let state = State::load(&self.state_dir)?;
        let observed = observe(&self.registry, desired, &state).await?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            namespaces = observed.namespaces.len(),
            "observed"
        );
        Ok(Session { state, observed })
    }

    /// Reads again what `scope` names, keeping the rest of the session's
    /// observation: a daemon's answer to an event in one namespace.
    pub async fn refresh(
        &self,
        session: &mut Session,
        desired: &Desired,
        scope: Scope<'_>,
    ) -> Result<(), EngineError> {
        let previous = std::mem::take(&mut session.observed);
        session.observed =
            refresh_scoped(&self.registry, (desired, &session.state), previous, scope).await?;
        Ok(())
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// What it takes to get from `session` to `desired`. Strict mode's
    /// refusals come first, so nothing surprises at apply time.
    pub fn plan(
        &self,
        session: &Session,
        desired: &Desired,
        prune: bool,
    ) -> Result<Plan, EngineError> {
        let refused = strict::refusals(desired)?;
        if !refused.is_empty() {
            return Err(EngineError::Refused(refused));
        }
        plan::plan(desired, &session.observed, &session.state, prune)
            .map_err(EngineError::Conflicts)
    }

    /// Carries out `plan`, recording in the session's state as it goes.
    /// Failures of single changes are in the report, not an error: the
    /// state stays consistent with what was done.
    pub async fn apply(&self, session: &mut Session, plan: &Plan) -> Report {
        let kernel = RealKernel {
            registry: &self.registry,
            state_dir: self.state_dir.clone(),
        };
        let started = Instant::now();
        let report = apply::apply(&kernel, plan, &session.observed, &mut session.state).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            changes = report.outcomes.len(),
            "applied"
        );
        report
    }

    /// One whole writer's cycle: lock, read, plan, apply, re-check.
    pub async fn converge(
        &self,
        desired: &Desired,
        prune: bool,
        wait: Duration,
    ) -> Result<(Plan, Report), EngineError> {
        let _lock = self.lock(wait)?;
        let mut session = self.session(desired).await?;
        let plan = self.plan(&session, desired, prune)?;
        port_warnings::warn_conflicts(desired);
        let mut report = self.apply(&mut session, &plan).await;
        let started = Instant::now();
        self.recheck(&mut session, (desired, prune), &plan, &mut report)
            .await?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "re-checked"
        );
        Ok((plan, report))
    }

    /// Forgets the state file once everything netd owned is gone.
    pub fn remove_state(&self) -> Result<(), EngineError> {
        Ok(State::remove(&self.state_dir)?)
    }
}
