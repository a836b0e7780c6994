//! The anycast side of `netd run`: one task per configured service, started
//! once its namespace is there, restarted when its config changes, and
//! told about its tied process and forced state. The daemon's loop calls
//! in; the tasks never call back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::announcer::Announcer;
use super::check::InNamespace;
use super::forced;
use super::routes::announce_routes;
use super::service::{Board, Command, Service};
use super::status::ServiceStatus;
use super::verdict::{Forced, ServiceHealth};
use crate::metrics::Metrics;
use crate::model::{Anycast, Desired};
use crate::netns::{NsWorker, Registry};
use crate::supervise::exit_watch;

struct Running {
    config: Anycast,
    tx: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
    /// The tied process's pid last told to the task.
    pid: Option<i32>,
}

pub struct AnycastRuntime {
    running: BTreeMap<String, Running>,
    board: Board,
    forced: BTreeMap<String, Forced>,
    state_dir: PathBuf,
    /// Opens the announcers' sockets; their writes go out from the tasks.
    worker: Option<NsWorker>,
    metrics: Arc<Metrics>,
}

impl AnycastRuntime {
    /// Services publish their status on `board` as it changes.
    pub fn new(state_dir: PathBuf, metrics: Arc<Metrics>, board: Board) -> Self {
        AnycastRuntime {
            running: BTreeMap::new(),
            board,
            forced: forced::load(&state_dir),
            state_dir,
            worker: None,
            metrics,
        }
    }

    /// Brings the tasks in line with the config: starts new services whose
    /// namespace exists, restarts changed ones (picking up their routes, so
    /// no flap), and stops removed ones, withdrawing them.
    pub async fn sync(&mut self, desired: &Desired, registry: &Registry) {
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|name| !desired.anycast.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            self.stop_one(&name, true).await;
            self.metrics.forget_anycast(&name);
            if let Ok(mut board) = self.board.write() {
                board.remove(&name);
            }
            tracing::info!(service = name, "anycast service removed from the config");
        }
        for (name, config) in &desired.anycast {
            match self.running.get(name) {
                Some(r) if r.config == *config && !r.task.is_finished() => continue,
                Some(_) => self.stop_one(name, false).await,
                None => {}
            }
            if let Err(e) = self.start_one(config, registry).await {
                tracing::warn!(service = name, "cannot start the anycast service: {e}");
            }
        }
    }

    async fn start_one(&mut self, config: &Anycast, registry: &Registry) -> Result<(), String> {
        let ns = registry
            .open(&config.namespace)
            .await
            .map_err(|e| e.to_string())?;
        let worker = match &self.worker {
            Some(w) => w.clone(),
            None => {
                let w = NsWorker::spawn(1).map_err(|e| e.to_string())?;
                self.worker = Some(w.clone());
                w
            }
        };
        let announcer = Announcer::open(&worker, ns.file.clone())
            .await
            .map_err(|e| e.to_string())?;
        let probes = InNamespace::new(ns.file.clone()).map_err(|e| e.to_string())?;
        let present = announcer.present().await.map_err(|e| e.to_string())?;
        let announced = announce_routes(config).iter().all(|r| present.contains(r));
        let mut health = ServiceHealth::new(config, announced);
        health.force(self.forced.get(&config.name).copied());
        self.metrics.set_anycast_announced(&config.name, announced);
        let service = Service {
            config: config.clone(),
            health,
            announcer,
            probes: Arc::new(probes),
            announced,
            board: self.board.clone(),
            metrics: self.metrics.clone(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(service.run(rx));
        tracing::info!(
            service = config.name,
            namespace = config.namespace,
            announced,
            "anycast service started"
        );
        self.running.insert(
            config.name.clone(),
            Running {
                config: config.clone(),
                tx,
                task,
                pid: None,
            },
        );
        Ok(())
    }

    async fn stop_one(&mut self, name: &str, withdraw: bool) {
        let Some(r) = self.running.remove(name) else {
            return;
        };
        let (done, wait) = oneshot::channel();
        if r.tx.send(Command::Stop { withdraw, done }).is_ok() {
            let _ = wait.await;
        }
        let _ = r.task.await;
    }

    /// Tells each service whose process runs with a new pid: `running` is
    /// the supervisor's (namespace, process, pid) list.
    pub fn process_pids(&mut self, running: &[(String, String, i32)]) {
        for r in self.running.values_mut() {
            let Some(process) = &r.config.process else {
                continue;
            };
            let pid = running
                .iter()
                .find(|(ns, name, _)| *ns == r.config.namespace && name == process)
                .map(|(_, _, pid)| *pid);
            let Some(pid) = pid else {
                continue;
            };
            if r.pid == Some(pid) {
                continue;
            }
            r.pid = Some(pid);
            match exit_watch(pid) {
                Ok(fd) => {
                    let _ = r.tx.send(Command::ProcessStarted(fd));
                }
                Err(e) => tracing::warn!(
                    service = r.config.name,
                    pid,
                    "cannot watch the service's process: {e}"
                ),
            }
        }
    }

    /// `netd anycast announce|withdraw|release`: held, and kept on disk,
    /// until released.
    pub fn force(&mut self, service: &str, forced: Option<Forced>) -> Result<(), String> {
        let Some(r) = self.running.get(service) else {
            let known: Vec<&str> = self.running.keys().map(String::as_str).collect();
            return Err(format!(
                "no anycast service `{service}` is running{}",
                if known.is_empty() {
                    String::new()
                } else {
                    format!("; running: {}", known.join(", "))
                }
            ));
        };
        let mut next = self.forced.clone();
        match forced {
            Some(f) => next.insert(service.to_string(), f),
            None => next.remove(service),
        };
        forced::save(&self.state_dir, &next).map_err(|e| e.to_string())?;
        self.forced = next;
        let _ = r.tx.send(Command::Force(forced));
        Ok(())
    }

    /// On SIGTERM/SIGINT: services with `withdraw_on_exit` withdraw before
    /// the processes stop; the others keep announcing.
    pub async fn stop(&mut self) {
        let names: Vec<(String, bool)> = self
            .running
            .iter()
            .map(|(n, r)| (n.clone(), r.config.withdraw_on_exit))
            .collect();
        for (name, withdraw) in names {
            self.stop_one(&name, withdraw).await;
        }
    }

    pub fn status(&self) -> BTreeMap<String, ServiceStatus> {
        self.board.read().map(|b| b.clone()).unwrap_or_default()
    }
}
