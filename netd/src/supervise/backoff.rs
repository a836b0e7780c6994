//! When to start a process again after it exited.

use std::time::Duration;

use serde::Serialize;

/// `restart = always|on-failure|never` of a `[[namespace.N.process]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    /// Whether an exit that netd did not ask for calls for a new start.
    pub fn restarts_after(self, success: bool) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => !success,
            RestartPolicy::Never => false,
        }
    }
}

/// Exponential backoff between restarts: `initial`, doubled after each exit
/// that came sooner than `reset_after` after its start, up to `max`. A run
/// that lasted `reset_after` counts as healthy and starts the series over,
/// so a process that crashes once a day restarts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
            reset_after: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before start number `quick_exits + 1`, after `quick_exits`
    /// exits in a row that each came too soon.
    pub fn delay(&self, quick_exits: u32) -> Duration {
        if quick_exits == 0 {
            return Duration::ZERO;
        }
        let doublings = (quick_exits - 1).min(31);
        self.initial
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }
}
