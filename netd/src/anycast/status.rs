//! What `netd status` shows for an anycast service, as the daemon last saw
//! it: announced or not, why, and every check's state and last result.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::Serialize;

use super::health::State;
use super::verdict::{Forced, ProcessState, ServiceHealth};
use crate::model::Anycast;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceStatus {
    pub namespace: String,
    pub prefixes: Vec<IpNet>,
    pub announced: bool,
    /// "announce" or "withdraw" while forced by `netd anycast`.
    pub forced: Option<&'static str>,
    /// Why the service is (not) announced now.
    pub reason: String,
    pub last_transition: Option<Transition>,
    pub transitions: u64,
    pub process: Option<ProcessShown>,
    pub checks: Vec<CheckShown>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Transition {
    /// Seconds since the epoch.
    pub at: f64,
    pub to: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessShown {
    pub name: String,
    /// running, not started, or exited (status N / signal N).
    pub state: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckShown {
    pub check: String,
    /// down, rising, up, falling.
    pub state: &'static str,
    pub passes: u32,
    pub failures: u32,
    pub rise: u32,
    pub fall: u32,
    pub last_ok: Option<bool>,
    pub last_latency_ms: Option<f64>,
    pub last_detail: Option<String>,
    /// Seconds since the epoch of the check's last change up or down.
    pub last_change: Option<f64>,
}

pub fn epoch(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// `then`, a monotonic instant, as wall-clock seconds since the epoch.
fn wall(then: Instant, now: Instant, now_wall: SystemTime) -> f64 {
    epoch(now_wall - now.saturating_duration_since(then))
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Down => "down",
        State::Rising(_) => "rising",
        State::Up => "up",
        State::Falling(_) => "falling",
    }
}

pub fn shown(
    service: &Anycast,
    health: &ServiceHealth,
    announced: bool,
    last_transition: Option<Transition>,
    transitions: u64,
) -> ServiceStatus {
    let now = Instant::now();
    let now_wall = SystemTime::now();
    let checks = health
        .checks()
        .iter()
        .map(|c| {
            let h = &c.health;
            let last = h.last();
            CheckShown {
                check: c.label.clone(),
                state: state_name(h.state()),
                passes: h.consecutive_passes(),
                failures: h.consecutive_failures(),
                rise: h.schedule().rise,
                fall: h.schedule().fall,
                last_ok: last.map(|l| l.ok),
                last_latency_ms: last.map(|l| (l.latency.as_secs_f64() * 1e6).round() / 1e3),
                last_detail: last.map(|l| l.detail.clone()),
                last_change: h.last_change().map(|c| wall(c.at, now, now_wall)),
            }
        })
        .collect();
    let process = health.process().map(|p| ProcessShown {
        name: p.name.clone(),
        state: match &p.state {
            ProcessState::NotStarted => "not started".into(),
            ProcessState::Running => "running".into(),
            ProcessState::Exited(how) => format!("exited ({how})"),
        },
    });
    ServiceStatus {
        namespace: service.namespace.clone(),
        prefixes: service.prefixes.clone(),
        announced,
        forced: health.forced().map(|f| match f {
            Forced::Announce => "announce",
            Forced::Withdraw => "withdraw",
        }),
        reason: health.verdict().reason,
        last_transition,
        transitions,
        process,
        checks,
    }
}
