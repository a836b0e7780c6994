//! The daemon's side of the supervisor: starting the config's processes,
//! and keeping the metrics in step with what the supervisor did.

use std::time::Instant;

use super::Daemon;

impl Daemon {
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
}
