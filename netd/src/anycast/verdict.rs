//! The service-level decision: announce or withdraw, from every check's
//! state, the tied process and a forced state. Pure, like the checks'
//! rise/fall: the daemon feeds it events and acts on the verdict.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Instant;

use super::check::Probe;
use super::health::{Change, Health, Schedule, State};
use crate::model::{Anycast, Check};

/// A state held by `netd anycast announce|withdraw` until `release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    Announce,
    Withdraw,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessState {
    NotStarted,
    Running,
    /// How it ended: "status 1", "signal 9".
    Exited(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub announce: bool,
    /// "check dns#0 down: timed out after 500 ms", "forced by netd anycast
    /// withdraw", "all 2 checks up, process dnsmasq running".
    pub reason: String,
}

/// One check of a service, named for logs and status ("dns#0").
#[derive(Debug, Clone)]
pub struct CheckHealth {
    pub label: String,
    pub health: Health,
}

#[derive(Debug, Clone)]
pub struct TiedProcess {
    pub name: String,
    pub state: ProcessState,
    /// When it last started or exited.
    pub since: Option<Instant>,
}

/// Everything that decides whether one service is announced.
#[derive(Debug, Clone)]
pub struct ServiceHealth {
    checks: Vec<CheckHealth>,
    process: Option<TiedProcess>,
    forced: Option<Forced>,
}

/// "dns#0": the check's kind and its place in the service's list.
pub fn check_label(check: &Check, index: usize) -> String {
    format!("{}#{index}", check.kind.kind_name())
}

/// How a process ended, as verdicts and logs say it.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => status.to_string(),
    }
}

impl ServiceHealth {
    /// `announced`: netd found the service's announce routes in place when
    /// it started. Its checks then start up and its process is taken as
    /// running until the supervisor says otherwise, so a restart of netd
    /// does not flap the service.
    pub fn new(service: &Anycast, announced: bool) -> Self {
        let checks = service
            .checks
            .iter()
            .enumerate()
            .map(|(i, check)| {
                let schedule = Schedule::of(check);
                CheckHealth {
                    label: check_label(check, i),
                    health: if announced {
                        Health::assume_up(schedule)
                    } else {
                        Health::new(schedule)
                    },
                }
            })
            .collect();
        let process = service.process.as_ref().map(|name| TiedProcess {
            name: name.clone(),
            state: if announced {
                ProcessState::Running
            } else {
                ProcessState::NotStarted
            },
            since: None,
        });
        ServiceHealth {
            checks,
            process,
            forced: None,
        }
    }

    /// Records a probe of check `index` (its place in the service's list).
    pub fn record(&mut self, index: usize, probe: &Probe, now: Instant) -> Option<Change> {
        self.checks.get_mut(index)?.health.record(probe, now)
    }

    /// The tied process exited (`how`: see [`describe_exit`]): the service
    /// withdraws at once, and every check goes down so that announcing
    /// again after a restart waits for `rise` passes. Returns the checks
    /// that were up, with their change.
    pub fn on_process_exit(&mut self, how: &str, now: Instant) -> Vec<(String, Change)> {
        let Some(process) = &mut self.process else {
            return Vec::new();
        };
        process.state = ProcessState::Exited(how.to_string());
        process.since = Some(now);
        let reason = format!("process {} exited ({how})", process.name);
        self.checks
            .iter_mut()
            .filter_map(|c| Some((c.label.clone(), c.health.reset(&reason, now)?)))
            .collect()
    }

    /// The tied process (re)started. The checks are left as they are: after
    /// an exit they are down and must rise again.
    pub fn on_process_start(&mut self, now: Instant) {
        if let Some(process) = &mut self.process {
            process.state = ProcessState::Running;
            process.since = Some(now);
        }
    }

    pub fn force(&mut self, forced: Option<Forced>) {
        self.forced = forced;
    }

    pub fn forced(&self) -> Option<Forced> {
        self.forced
    }

    pub fn checks(&self) -> &[CheckHealth] {
        &self.checks
    }

    pub fn process(&self) -> Option<&TiedProcess> {
        self.process.as_ref()
    }

    pub fn verdict(&self) -> Verdict {
        decide(&self.checks, self.process.as_ref(), self.forced)
    }
}

/// Announce iff forced to, or (not forced and) every check is up and the
/// tied process, if any, runs. No checks: healthy while the process runs.
pub fn decide(
    checks: &[CheckHealth],
    process: Option<&TiedProcess>,
    forced: Option<Forced>,
) -> Verdict {
    let verdict = |announce, reason: String| Verdict { announce, reason };
    match forced {
        Some(Forced::Announce) => {
            return verdict(true, "forced by netd anycast announce".into());
        }
        Some(Forced::Withdraw) => {
            return verdict(false, "forced by netd anycast withdraw".into());
        }
        None => {}
    }
    if let Some(p) = process {
        match &p.state {
            ProcessState::Running => {}
            ProcessState::NotStarted => {
                return verdict(false, format!("process {} not running", p.name));
            }
            ProcessState::Exited(how) => {
                return verdict(false, format!("process {} exited ({how})", p.name));
            }
        }
    }
    for c in checks {
        match c.health.state() {
            State::Down => {
                let reason = format!("check {} down: {}", c.label, c.health.reason());
                return verdict(false, reason);
            }
            State::Rising(n) => {
                let rise = c.health.schedule().rise;
                let reason = format!("check {} rising: {n} of {rise} passes", c.label);
                return verdict(false, reason);
            }
            State::Up | State::Falling(_) => {}
        }
    }
    let mut reason = match checks {
        [] => "no checks".to_string(),
        [only] => format!("check {} up", only.label),
        all => format!("all {} checks up", all.len()),
    };
    if let Some(p) = process {
        reason.push_str(&format!(", process {} running", p.name));
    }
    verdict(true, reason)
}

#[cfg(test)]
mod tests;
