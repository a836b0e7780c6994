//! The supervisor: one state machine per configured process, and what it
//! takes to carry out their actions (spawn, signal, reap). The daemon calls
//! it from one task, never while kernel work runs: `reap` waits for any
//! child of netd, which would take the exit of a helper process from
//! whoever waits for it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::machine::{Action, Exit, Phase, Process, ProcessSpec};
use super::os::{Linux, Os};
use crate::model::{Desired, ProcessConfig};

/// (namespace, process name)
/// A process by namespace and name.
pub type Key = (String, String);

/// One process of `netd status --json`'s `daemon.processes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessStatus {
    pub namespace: String,
    pub name: String,
    pub pid: Option<i32>,
    /// running, starting, waiting, stopping, stopped or failed.
    pub state: &'static str,
    pub restarts: u32,
    pub last_exit: Option<String>,
    pub uptime_seconds: Option<u64>,
}

struct Entry {
    config: ProcessConfig,
    machine: Process,
    /// In the config; when false it is being stopped and then forgotten.
    wanted: bool,
}

pub struct Supervisor {
    netns_dir: PathBuf,
    os: Box<dyn Os>,
    entries: BTreeMap<Key, Entry>,
    exits: Vec<(String, String, Exit)>,
    /// Processes an earlier netd started, with their start times: not
    /// netd's children, so their ends are found by looking, not reaping.
    adopted: BTreeMap<i32, u64>,
}

/// Whether a changed config calls for a new run: what the process is
/// started with changed. New restart and stop settings apply from the next
/// decision on, without disturbing a running process (a BIRD session).
fn needs_new_run(old: &ProcessConfig, new: &ProcessConfig) -> bool {
    launch(old) != launch(new)
}

/// What a process is started with, as text: recorded with an adoptable
/// process, so that a netd started later knows whether the config changed
/// while no netd was watching.
pub fn launch(c: &ProcessConfig) -> String {
    format!(
        "{:?}",
        (
            &c.command,
            &c.args,
            &c.env,
            &c.working_dir,
            &c.user,
            &c.group,
            &c.capabilities,
            c.no_new_privs,
        )
    )
}

/// netd adopts the orphans of its processes (a sidecar that daemonizes):
/// they are reaped by `reap` instead of lingering as zombies under init.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: a prctl on this process with no pointers.
    let rc = unsafe { nix::libc::prctl(nix::libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Supervisor {
    pub fn new(netns_dir: PathBuf) -> Supervisor {
        Supervisor::with_os(netns_dir, Box::new(Linux))
    }

    pub(super) fn with_os(netns_dir: PathBuf, os: Box<dyn Os>) -> Supervisor {
        Supervisor {
            netns_dir,
            os,
            entries: BTreeMap::new(),
            exits: Vec::new(),
            adopted: BTreeMap::new(),
        }
    }

    /// Starts new processes, stops removed ones, restarts those whose
    /// config changed and leaves the others running.
    pub fn set_processes(&mut self, desired: &Desired, now: Instant) {
        self.set_processes_adopting(desired, now, &BTreeMap::new());
    }

    /// Like [`Supervisor::set_processes`], at a start after an earlier
    /// netd: a configured process in `running` (pid, start time, launch)
    /// is taken over instead of started again, so a sidecar's sessions
    /// survive netd's restart; it is restarted only if its launch changed.
    pub fn set_processes_adopting(
        &mut self,
        desired: &Desired,
        now: Instant,
        running: &BTreeMap<Key, (i32, u64, String)>,
    ) {
        let mut wanted: BTreeMap<Key, &ProcessConfig> = BTreeMap::new();
        for (ns, namespace) in &desired.namespaces {
            for p in &namespace.processes {
                wanted.insert((ns.clone(), p.name.clone()), p);
            }
        }
        let keys: Vec<Key> = self.entries.keys().cloned().collect();
        for key in keys {
            if wanted.contains_key(&key) {
                continue;
            }
            let entry = self.entries.get_mut(&key).expect("listed");
            if entry.wanted {
                entry.wanted = false;
                tracing::info!(
                    namespace = key.0,
                    process = key.1,
                    "left the config, stopping"
                );
                let actions = entry.machine.stop(now);
                self.carry_out(&key, actions, now);
            }
        }
        for (key, config) in wanted {
            let actions = match self.entries.get_mut(&key) {
                None => {
                    let mut machine = Process::new(ProcessSpec::from_config(config));
                    let actions = match running.get(&key) {
                        Some((pid, start_time, was)) => {
                            // The Spawn that start asks for is done already.
                            machine.start(now);
                            let mut actions = machine.spawned(*pid, now);
                            self.adopted.insert(*pid, *start_time);
                            tracing::info!(
                                namespace = key.0,
                                process = key.1,
                                pid,
                                "adopted from the previous netd; its output is no longer logged"
                            );
                            if *was != launch(config) {
                                tracing::info!(
                                    namespace = key.0,
                                    process = key.1,
                                    "config changed while netd was down, restarting"
                                );
                                actions.extend(machine.restart(now));
                            }
                            actions
                        }
                        None => machine.start(now),
                    };
                    let entry = Entry {
                        config: config.clone(),
                        machine,
                        wanted: true,
                    };
                    self.entries.insert(key.clone(), entry);
                    actions
                }
                Some(entry) if !entry.wanted || entry.config != *config => {
                    let new_run = needs_new_run(&entry.config, config);
                    let start = !entry.wanted || entry.machine.phase == Phase::Stopped;
                    entry.wanted = true;
                    entry.config = config.clone();
                    let actions = if new_run {
                        tracing::info!(
                            namespace = key.0,
                            process = key.1,
                            "config changed, restarting"
                        );
                        entry.machine.restart(now)
                    } else if start {
                        entry.machine.start(now)
                    } else {
                        Vec::new()
                    };
                    // The old spec ends the old run; the new one rules from here.
                    entry.machine.spec = ProcessSpec::from_config(config);
                    actions
                }
                Some(_) => continue,
            };
            self.carry_out(&key, actions, now);
        }
        self.forget_stopped();
    }

    /// Reaps every child that has ended: configured processes go to their
    /// machines, orphans adopted as subreaper are only logged.
    pub fn reap(&mut self, now: Instant) {
        let gone: Vec<i32> = self
            .adopted
            .iter()
            .filter(|(pid, start)| !self.os.alive(**pid, **start))
            .map(|(pid, _)| *pid)
            .collect();
        for pid in gone {
            self.adopted.remove(&pid);
            let key = self
                .entries
                .iter()
                .find(|(_, e)| e.machine.pid() == Some(pid))
                .map(|(k, _)| k.clone());
            if let Some(key) = key {
                self.exited(&key, pid, Exit::Unknown, now);
            }
        }
        while let Some((pid, exit)) = self.os.reap_one() {
            let key = self
                .entries
                .iter()
                .find(|(_, e)| e.machine.pid() == Some(pid))
                .map(|(k, _)| k.clone());
            let Some(key) = key else {
                tracing::debug!(pid, exit = %exit, "reaped a process netd did not start");
                continue;
            };
            self.exited(&key, pid, exit, now);
        }
        self.forget_stopped();
    }

    /// Fires the timers that are due: restarts after backoff, SIGKILL after
    /// stop_timeout.
    pub fn tick(&mut self, now: Instant) {
        let due: Vec<Key> = self
            .entries
            .iter()
            .filter(|(_, e)| e.machine.next_wake().is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let entry = self.entries.get_mut(&key).expect("listed");
            let actions = entry.machine.tick(now);
            self.carry_out(&key, actions, now);
        }
    }

    pub fn next_wake(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|e| e.machine.next_wake())
            .min()
    }

    /// Stops every process (stop_signal, SIGKILL after stop_timeout) and
    /// reaps until all are gone, or until a process that SIGKILL does not
    /// end (stuck in the kernel) has had 5 s more.
    pub async fn stop_all(&mut self) {
        let now = Instant::now();
        let longest = self.entries.values().map(|e| e.config.stop_timeout).max();
        let give_up = now + longest.unwrap_or_default() + Duration::from_secs(5);
        let keys: Vec<Key> = self.entries.keys().cloned().collect();
        for key in keys {
            let entry = self.entries.get_mut(&key).expect("listed");
            entry.wanted = false;
            let actions = entry.machine.stop(now);
            self.carry_out(&key, actions, now);
        }
        self.forget_stopped();
        // No SIGCHLD stream here: this runs once, at shutdown, so polling
        // for the exits is simpler than sharing the daemon's signal handling.
        while !self.entries.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = Instant::now();
            self.reap(now);
            self.tick(now);
            if now >= give_up {
                for (key, e) in &self.entries {
                    tracing::warn!(
                        namespace = key.0,
                        process = key.1,
                        pid = e.machine.pid(),
                        "did not end after SIGKILL; netd exits without it"
                    );
                }
                break;
            }
        }
    }

    pub fn status(&self, now: Instant) -> Vec<ProcessStatus> {
        self.entries
            .iter()
            .map(|((ns, name), e)| {
                let m = &e.machine;
                let failed = m.phase == Phase::Stopped
                    && e.wanted
                    && m.last_exit.is_some_and(|x| !x.success());
                ProcessStatus {
                    namespace: ns.clone(),
                    name: name.clone(),
                    pid: m.pid(),
                    state: if failed { "failed" } else { m.phase.name() },
                    restarts: m.restarts,
                    last_exit: m.last_exit.map(|x| x.to_string()),
                    uptime_seconds: m.uptime(now).map(|d| d.as_secs()),
                }
            })
            .collect()
    }

    /// Pids of processes an earlier netd started, which `reap` checks by
    /// looking; the daemon watches them with pidfds to know when to call it.
    pub fn adopted_pids(&self) -> Vec<i32> {
        self.adopted.keys().copied().collect()
    }

    /// What a later netd needs to adopt the running processes: key, pid,
    /// launch.
    pub fn running_launches(&self) -> Vec<(Key, i32, String)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| Some((k.clone(), e.machine.pid()?, launch(&e.config))))
            .collect()
    }

    pub fn running_pids(&self) -> Vec<(String, String, i32)> {
        self.entries
            .iter()
            .filter_map(|((ns, name), e)| Some((ns.clone(), name.clone(), e.machine.pid()?)))
            .collect()
    }

    /// Exits since the last call, in order (for anycast: withdraw when the
    /// service behind a prefix ends).
    pub fn take_exits(&mut self) -> Vec<(String, String, Exit)> {
        std::mem::take(&mut self.exits)
    }

    fn exited(&mut self, key: &Key, pid: i32, exit: Exit, now: Instant) {
        let entry = self.entries.get_mut(key).expect("caller found it");
        let actions = entry.machine.exited(exit, now);
        let next = match (actions.first(), entry.wanted) {
            (_, false) => "no restart (stopped by netd)".to_owned(),
            (Some(Action::Spawn), _) => "restart now".to_owned(),
            (Some(Action::WakeAt(at)), _) => {
                format!(
                    "restart in {:.1}s",
                    at.saturating_duration_since(now).as_secs_f64()
                )
            }
            _ => "no restart".to_owned(),
        };
        tracing::info!(namespace = key.0, process = key.1, pid, exit = %exit, next = %next, "exited");
        self.exits.push((key.0.clone(), key.1.clone(), exit));
        self.carry_out(key, actions, now);
    }

    /// Does what the machine asked, feeding results back until it asks for
    /// nothing more than a wake-up (which `next_wake` reports).
    fn carry_out(&mut self, key: &Key, actions: Vec<Action>, now: Instant) {
        let mut todo = actions;
        while let Some(action) = (!todo.is_empty()).then(|| todo.remove(0)) {
            let entry = self.entries.get_mut(key).expect("caller found it");
            match action {
                Action::Spawn => match self.os.spawn(&self.netns_dir, &key.0, &entry.config) {
                    Ok(pid) => {
                        let restarts = entry.machine.restarts;
                        tracing::info!(
                            namespace = key.0,
                            process = key.1,
                            pid,
                            restarts,
                            "started"
                        );
                        todo.extend(entry.machine.spawned(pid, now));
                    }
                    Err(e) => {
                        tracing::warn!(namespace = key.0, process = key.1, error = %e, "cannot start");
                        let actions = entry.machine.exited(Exit::SpawnFailed, now);
                        self.exits
                            .push((key.0.clone(), key.1.clone(), Exit::SpawnFailed));
                        todo.extend(actions);
                    }
                },
                Action::Signal { pid, signal } => self.os.signal(pid, signal),
                Action::Kill { pid } => {
                    tracing::info!(
                        namespace = key.0,
                        process = key.1,
                        pid,
                        "still there after stop_timeout, sending SIGKILL"
                    );
                    self.os.signal(pid, nix::libc::SIGKILL);
                }
                Action::WakeAt(_) => {}
            }
        }
    }

    /// Processes that left the config and have ended.
    fn forget_stopped(&mut self) {
        self.entries
            .retain(|_, e| e.wanted || e.machine.phase != Phase::Stopped);
    }
}
