//! One supervised process as a state machine. Every method takes `now` and
//! returns what the caller must do; nothing here waits or touches a process.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::backoff::{Backoff, RestartPolicy};
use crate::model::ProcessConfig;

/// How a supervised process runs, from its `[[namespace.N.process]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    pub restart: RestartPolicy,
    pub backoff: Backoff,
    pub stop_signal: i32,
    pub stop_timeout: Duration,
}

impl Default for ProcessSpec {
    fn default() -> Self {
        ProcessSpec {
            restart: RestartPolicy::Always,
            backoff: Backoff::default(),
            stop_signal: nix::libc::SIGTERM,
            stop_timeout: Duration::from_secs(10),
        }
    }
}

impl ProcessSpec {
    /// The parts of a `[[namespace.N.process]]` that decide restarts and stops.
    pub fn from_config(config: &ProcessConfig) -> ProcessSpec {
        ProcessSpec {
            restart: config.restart,
            backoff: Backoff {
                initial: config.restart_delay,
                max: config.restart_delay_max,
                ..Backoff::default()
            },
            stop_signal: config.stop_signal,
            stop_timeout: config.stop_timeout,
        }
    }
}

/// How a process ended, as waitpid tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// It could not be started at all (exec failed, setns failed, ...).
    SpawnFailed,
    /// It was started by an earlier netd and adopted: its exit status
    /// went to whoever reaped it.
    Unknown,
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
            Exit::SpawnFailed => f.write_str("could not be started"),
            Exit::Unknown => f.write_str("ended (status unknown: started by an earlier netd)"),
        }
    }
}

/// What the caller must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start the process and report [`Process::spawned`] or
    /// [`Process::exited`] with [`Exit::SpawnFailed`].
    Spawn,
    Signal {
        pid: i32,
        signal: i32,
    },
    Kill {
        pid: i32,
    },
    /// Call [`Process::tick`] at this time (or earlier).
    WakeAt(Instant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not running; started again at `at`.
    Waiting {
        at: Instant,
    },
    /// A spawn was asked for and its pid is not known yet.
    Starting,
    Running {
        pid: i32,
        since: Instant,
    },
    /// netd asked it to end; it is killed at `deadline` if still there.
    Stopping {
        pid: i32,
        deadline: Instant,
        killed: bool,
    },
    /// Not running and not coming back by itself.
    Stopped,
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Waiting { .. } => "waiting",
            Phase::Starting => "starting",
            Phase::Running { .. } => "running",
            Phase::Stopping { .. } => "stopping",
            Phase::Stopped => "stopped",
        }
    }
}

/// What netd wants of the process, whatever phase it is in now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Run,
    Stop,
    /// Stop, then start afresh (a changed spec, or `restart` asked for).
    Restart,
}

#[derive(Debug, Clone)]
pub struct Process {
    pub spec: ProcessSpec,
    pub phase: Phase,
    /// Starts after the first one, whatever caused them.
    pub restarts: u32,
    pub last_exit: Option<Exit>,
    goal: Goal,
    /// Exits in a row that came sooner than the backoff's `reset_after`.
    quick_exits: u32,
}

impl Process {
    /// A process that is not running yet; call [`Process::start`].
    pub fn new(spec: ProcessSpec) -> Process {
        Process {
            spec,
            phase: Phase::Stopped,
            restarts: 0,
            last_exit: None,
            goal: Goal::Stop,
            quick_exits: 0,
        }
    }

    pub fn pid(&self) -> Option<i32> {
        match self.phase {
            Phase::Running { pid, .. } | Phase::Stopping { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// How long the current run has lasted.
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        match self.phase {
            Phase::Running { since, .. } => Some(now.saturating_duration_since(since)),
            _ => None,
        }
    }

    /// Runs the process if it is not running or about to.
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        self.goal = Goal::Run;
        match self.phase {
            Phase::Stopped => {
                self.quick_exits = 0;
                self.spawn()
            }
            Phase::Waiting { at } if at > now => vec![Action::WakeAt(at)],
            Phase::Waiting { .. } => self.spawn(),
            // It is ending on netd's request: start again once it has.
            Phase::Stopping { .. } => {
                self.goal = Goal::Restart;
                Vec::new()
            }
            Phase::Starting | Phase::Running { .. } => Vec::new(),
        }
    }

    /// Ends the process: the stop signal, then SIGKILL after the timeout.
    pub fn stop(&mut self, now: Instant) -> Vec<Action> {
        self.goal = Goal::Stop;
        self.end(now)
    }

    /// Ends the process and starts it again at once, without backoff.
    pub fn restart(&mut self, now: Instant) -> Vec<Action> {
        self.goal = Goal::Restart;
        match self.phase {
            Phase::Stopped | Phase::Waiting { .. } => {
                self.goal = Goal::Run;
                self.quick_exits = 0;
                self.restarts += 1;
                self.spawn()
            }
            _ => self.end(now),
        }
    }

    fn end(&mut self, now: Instant) -> Vec<Action> {
        match self.phase {
            Phase::Running { pid, .. } => {
                let deadline = now + self.spec.stop_timeout;
                self.phase = Phase::Stopping {
                    pid,
                    deadline,
                    killed: false,
                };
                vec![
                    Action::Signal {
                        pid,
                        signal: self.spec.stop_signal,
                    },
                    Action::WakeAt(deadline),
                ]
            }
            Phase::Waiting { .. } => {
                self.phase = Phase::Stopped;
                Vec::new()
            }
            // The pid is not known yet: `spawned` ends it; already ending,
            // or ended: nothing more to do.
            Phase::Starting | Phase::Stopping { .. } | Phase::Stopped => Vec::new(),
        }
    }

    /// The spawn asked for has a pid.
    pub fn spawned(&mut self, pid: i32, now: Instant) -> Vec<Action> {
        self.phase = Phase::Running { pid, since: now };
        match self.goal {
            Goal::Run => Vec::new(),
            Goal::Stop | Goal::Restart => self.end(now),
        }
    }

    /// The process ended (reaped), or its spawn failed.
    pub fn exited(&mut self, exit: Exit, now: Instant) -> Vec<Action> {
        self.last_exit = Some(exit);
        let ran = match self.phase {
            Phase::Running { since, .. } => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        };
        let asked = matches!(self.phase, Phase::Stopping { .. });
        if asked {
            return match self.goal {
                Goal::Restart => {
                    self.goal = Goal::Run;
                    self.quick_exits = 0;
                    self.restarts += 1;
                    self.spawn()
                }
                _ => {
                    self.phase = Phase::Stopped;
                    Vec::new()
                }
            };
        }
        if self.goal == Goal::Stop || !self.spec.restart.restarts_after(exit.success()) {
            self.phase = Phase::Stopped;
            return Vec::new();
        }
        if ran >= self.spec.backoff.reset_after {
            self.quick_exits = 0;
        } else {
            self.quick_exits = self.quick_exits.saturating_add(1);
        }
        self.restarts += 1;
        let delay = self.spec.backoff.delay(self.quick_exits);
        if delay.is_zero() {
            return self.spawn();
        }
        let at = now + delay;
        self.phase = Phase::Waiting { at };
        vec![Action::WakeAt(at)]
    }

    /// A timer the caller set has fired (early or late calls are fine).
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        match self.phase {
            Phase::Waiting { at } if now >= at => self.spawn(),
            Phase::Waiting { at } => vec![Action::WakeAt(at)],
            Phase::Stopping {
                pid,
                deadline,
                killed: false,
            } if now >= deadline => {
                self.phase = Phase::Stopping {
                    pid,
                    deadline,
                    killed: true,
                };
                vec![Action::Kill { pid }]
            }
            Phase::Stopping {
                deadline,
                killed: false,
                ..
            } => vec![Action::WakeAt(deadline)],
            _ => Vec::new(),
        }
    }

    /// When [`Process::tick`] is due next, if ever.
    pub fn next_wake(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting { at } => Some(at),
            Phase::Stopping {
                deadline,
                killed: false,
                ..
            } => Some(deadline),
            _ => None,
        }
    }

    fn spawn(&mut self) -> Vec<Action> {
        self.phase = Phase::Starting;
        vec![Action::Spawn]
    }
}
