//! Rise and fall of one check: the state machine that turns probe results
//! into "up" and "down". Pure: the clock is passed in, so every transition
//! can be tested without waiting.

use std::fmt;
use std::time::{Duration, Instant};

use super::check::Probe;
use crate::model::Check;

/// The timing and thresholds of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Consecutive passes that make a down check up (at least 1).
    pub rise: u32,
    /// Consecutive failures that make an up check down (at least 1).
    pub fall: u32,
    pub interval: Duration,
    /// The interval while rising or falling, to settle sooner.
    pub interval_transition: Duration,
}

impl Schedule {
    pub fn of(check: &Check) -> Self {
        Schedule {
            rise: check.rise,
            fall: check.fall,
            interval: check.interval,
            interval_transition: check.interval_transition,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Down,
    /// Down, with this many consecutive passes (fewer than `rise`).
    Rising(u32),
    Up,
    /// Up, with this many consecutive failures (fewer than `fall`).
    Falling(u32),
}

impl State {
    /// Up or falling: the check does not hold the service back.
    pub fn is_up(self) -> bool {
        matches!(self, State::Up | State::Falling(_))
    }

    pub fn in_transition(self) -> bool {
        matches!(self, State::Rising(_) | State::Falling(_))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Down => f.write_str("down"),
            State::Rising(n) => write!(f, "rising({n})"),
            State::Up => f.write_str("up"),
            State::Falling(n) => write!(f, "falling({n})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// The check became up or down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub to: Direction,
    /// The detail of the probe that decided it, or why it was reset.
    pub reason: String,
    pub at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastProbe {
    pub ok: bool,
    pub latency: Duration,
    pub detail: String,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct Health {
    schedule: Schedule,
    state: State,
    passes: u32,
    failures: u32,
    last: Option<LastProbe>,
    last_change: Option<Change>,
    /// Why the check is not up: the latest failure's detail, or the reason
    /// of a reset.
    reason: String,
}

impl Health {
    /// A new check starts down: the service waits for `rise` passes.
    pub fn new(schedule: Schedule) -> Self {
        Self::starting(schedule, State::Down, "not checked yet")
    }

    /// A check of a service found already announced when netd starts: it
    /// stays up, with no flap, until `fall` failures.
    pub fn assume_up(schedule: Schedule) -> Self {
        Self::starting(schedule, State::Up, "announced when netd started")
    }

    fn starting(schedule: Schedule, state: State, reason: &str) -> Self {
        Health {
            schedule: Schedule {
                rise: schedule.rise.max(1),
                fall: schedule.fall.max(1),
                ..schedule
            },
            state,
            passes: 0,
            failures: 0,
            last: None,
            last_change: None,
            reason: reason.to_string(),
        }
    }

    /// Takes one probe's result; returns the change when the check becomes
    /// up or down.
    pub fn record(&mut self, probe: &Probe, now: Instant) -> Option<Change> {
        self.last = Some(LastProbe {
            ok: probe.ok,
            latency: probe.latency,
            detail: probe.detail.clone(),
            at: now,
        });
        if probe.ok {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
            self.reason.clone_from(&probe.detail);
        }
        let Schedule { rise, fall, .. } = self.schedule;
        let (next, to) = match (self.state, probe.ok) {
            (State::Down | State::Rising(_), true) if self.passes >= rise => {
                (State::Up, Some(Direction::Up))
            }
            (State::Down | State::Rising(_), true) => (State::Rising(self.passes), None),
            (State::Down | State::Rising(_), false) => (State::Down, None),
            (State::Up | State::Falling(_), false) if self.failures >= fall => {
                (State::Down, Some(Direction::Down))
            }
            (State::Up | State::Falling(_), false) => (State::Falling(self.failures), None),
            (State::Up | State::Falling(_), true) => (State::Up, None),
        };
        self.state = next;
        let change = to.map(|to| Change {
            to,
            reason: probe.detail.clone(),
            at: now,
        });
        if change.is_some() {
            self.last_change.clone_from(&change);
        }
        change
    }

    /// Puts the check down at once (its process exited): coming back takes
    /// `rise` passes. Returns the change if it was up.
    pub fn reset(&mut self, reason: &str, now: Instant) -> Option<Change> {
        let was_up = self.state.is_up();
        self.state = State::Down;
        self.passes = 0;
        self.failures = 0;
        self.reason = reason.to_string();
        let change = was_up.then(|| Change {
            to: Direction::Down,
            reason: reason.to_string(),
            at: now,
        });
        if change.is_some() {
            self.last_change.clone_from(&change);
        }
        change
    }

    /// How long to wait before the next probe: shorter while the state is
    /// undecided, so that a real change settles sooner.
    pub fn next_delay(&self) -> Duration {
        if self.state.in_transition() {
            self.schedule.interval_transition
        } else {
            self.schedule.interval
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn schedule(&self) -> Schedule {
        self.schedule
    }

    pub fn consecutive_passes(&self) -> u32 {
        self.passes
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }

    pub fn last(&self) -> Option<&LastProbe> {
        self.last.as_ref()
    }

    pub fn last_change(&self) -> Option<&Change> {
        self.last_change.as_ref()
    }

    /// Why the check is not up (meaningful while down or rising).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests;
