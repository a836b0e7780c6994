//! The daemon's side of the supervisor: starting the config's processes
//! (adopting those an earlier netd left running), recording them for a
//! later netd, and keeping the metrics in step with what the supervisor did.

use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::Daemon;
use crate::supervise::{self, Key, exit_watch};

/// Tells the loop when an adopted process ends: it is not netd's child, so
/// no SIGCHLD comes.
fn watch_exit(pid: i32, tx: UnboundedSender<i32>) {
    let registered = exit_watch(pid);
    match registered {
        Ok(fd) => {
            tokio::spawn(async move {
                let _ = fd.readable().await;
                let _ = tx.send(pid);
            });
        }
        // Already gone: the loop looks at once.
        Err(_) => {
            let _ = tx.send(pid);
        }
    }
}

impl Daemon {
    /// At start: adopts the processes an earlier netd started that are
    /// still running and still configured; stops those that left the
    /// config meanwhile.
    pub(super) fn adopt_processes(&mut self, exits: &UnboundedSender<i32>) {
        let running = supervise::load_running(&self.desired.state_dir);
        let configured = |key: &Key| {
            self.desired
                .namespaces
                .get(&key.0)
                .is_some_and(|n| n.processes.iter().any(|p| p.name == key.1))
        };
        for (key, (pid, _, _)) in &running {
            if !configured(key) {
                tracing::info!(
                    namespace = key.0,
                    process = key.1,
                    pid,
                    "left the config while netd was down, stopping"
                );
                // Its process group, as for every supervised process.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(-pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        self.supervisor
            .set_processes_adopting(&self.desired, Instant::now(), &running);
        for pid in self.supervisor.adopted_pids() {
            watch_exit(pid, exits.clone());
        }
        self.processes_changed();
    }

    /// Starts, stops or restarts processes to match the config.
    pub(super) fn set_processes(&mut self) {
        self.supervisor.set_processes(&self.desired, Instant::now());
        self.processes_changed();
    }

    /// After the supervisor acted: states and restarts into the metrics,
    /// and processes that left the config out of them.
    pub(super) fn processes_changed(&mut self) {
        let now = Instant::now();
        let statuses = self.supervisor.status(now);
        for p in &statuses {
            self.metrics
                .set_process_state(&p.namespace, &p.name, p.state);
            let key = (p.namespace.clone(), p.name.clone());
            let counted = self.restarts_counted.entry(key).or_insert(0);
            for _ in *counted..p.restarts {
                self.metrics.process_restart(&p.namespace, &p.name);
            }
            *counted = p.restarts;
        }
        self.record_processes();
        self.anycast.process_pids(&self.supervisor.running_pids());
        self.restarts_counted.retain(|(ns, name), _| {
            let kept = statuses
                .iter()
                .any(|p| &p.namespace == ns && &p.name == name);
            if !kept {
                self.metrics.forget_process(ns, name);
            }
            kept
        });
    }

    /// Writes what a later netd needs to adopt the running processes, when
    /// it changed.
    fn record_processes(&mut self) {
        let running = self.supervisor.running_launches();
        if running == self.recorded {
            return;
        }
        let records = supervise::process_records(&running);
        match supervise::save_process_records(&self.desired.state_dir, &records) {
            Ok(()) => self.recorded = running,
            Err(e) => tracing::warn!(error = %e, "cannot record the running processes"),
        }
    }
}
