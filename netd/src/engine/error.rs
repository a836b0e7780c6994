//! What can stop a cycle, kept typed so that a caller (the CLI, or a daemon
//! deciding between retry, resync and giving up) can tell the cases apart.

use crate::netns::RegistryError;
use crate::observe::ObserveError;
use crate::plan::Conflict;
use crate::state::{LockError, StateError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Another writer holds the lock (or the lock file is not trustworthy).
    #[error("{0}")]
    Lock(#[from] LockError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Observe(#[from] ObserveError),
    /// Objects in the way that netd does not own; nothing was changed.
    #[error("{}\nnothing was changed", conflict_lines(.0))]
    Conflicts(Vec<Conflict>),
    /// Publishes the strict policy refuses; nothing was changed.
    #[error("the strict policy refuses {} publish(es):\n{}\nnothing was changed", .0.len(), .0.join("\n"))]
    Refused(Vec<String>),
    /// The host's ruleset could not be read or parsed.
    #[error("{0}")]
    Firewall(String),
    /// The request names something netd does not own.
    #[error("{0}")]
    NotOwned(String),
}

fn conflict_lines(conflicts: &[Conflict]) -> String {
    conflicts
        .iter()
        .map(|c| format!("conflict: {c}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl EngineError {
    /// Whether running the same cycle again later may succeed without anyone
    /// changing the config or the host: a busy lock, or a namespace that
    /// vanished between reading and using it.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::Lock(LockError::Busy { .. }))
            || matches!(self, EngineError::Observe(_))
    }
}
