//! One anycast service at run time: a task that runs its checks on their
//! schedule, watches its tied process through a pidfd, and announces or
//! withdraws as the verdict changes. It never waits for the daemon's loop:
//! a process exit withdraws even while a full converge runs.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};
use tokio::time::sleep_until;

use super::announcer::Announcer;
use super::check::{InNamespace, Probe, probe};
use super::health::Direction;
use super::routes::{announce_routes, serve_routes};
use super::status::{ServiceStatus, Transition, epoch, shown};
use super::verdict::{Forced, ServiceHealth};
use crate::metrics::Metrics;
use crate::model::Anycast;

/// How often announced routes are written again (and withdrawn ones
/// deleted again), so that a routing daemon that missed an event, or a
/// route someone removed, is put right.
pub const REASSERT: Duration = Duration::from_secs(10);

pub type Board = Arc<RwLock<BTreeMap<String, ServiceStatus>>>;

pub enum Command {
    Force(Option<Forced>),
    /// The tied process (re)started; its pidfd becomes readable when it ends.
    ProcessStarted(AsyncFd<OwnedFd>),
    /// Stop the task, withdrawing first when asked.
    Stop {
        withdraw: bool,
        done: oneshot::Sender<()>,
    },
}

pub struct Service {
    pub config: Anycast,
    pub health: ServiceHealth,
    pub announcer: Announcer,
    pub probes: Arc<InNamespace>,
    pub announced: bool,
    pub board: Board,
    pub metrics: Arc<Metrics>,
}

struct Run {
    s: Service,
    last_transition: Option<Transition>,
    transitions: u64,
    /// The last route write failed: the next re-assert tries again.
    failing: bool,
}

type InFlight =
    std::pin::Pin<Box<dyn std::future::Future<Output = (usize, Instant, Probe)> + Send>>;

impl Service {
    pub async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut run = Run {
            s: self,
            last_transition: None,
            transitions: 0,
            failing: false,
        };
        run.reassert().await;
        run.settle().await;
        let checks = run.s.config.checks.clone();
        let mut due: Vec<Option<Instant>> = vec![Some(Instant::now()); checks.len()];
        let mut inflight: FuturesUnordered<InFlight> = FuturesUnordered::new();
        let mut pidfd: Option<AsyncFd<OwnedFd>> = None;
        let mut next_reassert = Instant::now() + REASSERT;
        loop {
            let far = Instant::now() + Duration::from_secs(3600);
            let next_due = due.iter().flatten().min().copied().unwrap_or(far);
            tokio::select! {
                biased;
                _ = exited(&pidfd) => {
                    pidfd = None;
                    for (label, change) in run.s.health.on_process_exit("exited", Instant::now()) {
                        run.check_changed(&label, change.to);
                    }
                    run.settle().await;
                }
                command = commands.recv() => match command {
                    Some(Command::Force(forced)) => {
                        run.s.health.force(forced);
                        run.settle().await;
                    }
                    Some(Command::ProcessStarted(fd)) => {
                        pidfd = Some(fd);
                        run.s.health.on_process_start(Instant::now());
                        run.settle().await;
                    }
                    Some(Command::Stop { withdraw, done }) => {
                        if withdraw && run.s.announced {
                            run.write(false, "netd is stopping").await;
                        }
                        let _ = done.send(());
                        return;
                    }
                    // The runtime dropped us without a word: stop, leave
                    // the routes as they are.
                    None => return,
                },
                Some((i, started, result)) = inflight.next() => {
                    let now = Instant::now();
                    if let Some(change) = run.s.health.record(i, &result, now) {
                        let label = run.s.health.checks()[i].label.clone();
                        run.check_changed(&label, change.to);
                    }
                    let delay = run.s.health.checks()[i].health.next_delay();
                    due[i] = Some((started + delay).max(now));
                    run.settle().await;
                }
                _ = sleep_until(next_due.into()) => {
                    let now = Instant::now();
                    for (i, slot) in due.iter_mut().enumerate() {
                        if slot.is_some_and(|t| t <= now) {
                            *slot = None;
                            let kind = checks[i].kind.clone();
                            let timeout = checks[i].timeout;
                            let ns = run.s.probes.clone();
                            inflight.push(Box::pin(async move {
                                let started = Instant::now();
                                (i, started, probe(&kind, timeout, &ns).await)
                            }));
                        }
                    }
                }
                _ = sleep_until(next_reassert.into()) => {
                    run.reassert().await;
                    next_reassert = Instant::now() + REASSERT;
                }
            }
        }
    }
}

/// Resolves when the tied process has ended; never without one.
async fn exited(pidfd: &Option<AsyncFd<OwnedFd>>) {
    match pidfd {
        Some(fd) => {
            let _ = fd.readable().await;
        }
        None => std::future::pending().await,
    }
}

impl Run {
    fn check_changed(&self, label: &str, to: Direction) {
        let up = to == Direction::Up;
        self.s
            .metrics
            .set_anycast_check_up(&self.s.config.name, label, up);
        tracing::debug!(
            service = self.s.config.name,
            check = label,
            "check {}",
            if up { "up" } else { "down" }
        );
    }

    /// Acts on the verdict: announces or withdraws when it changed.
    async fn settle(&mut self) {
        let verdict = self.s.health.verdict();
        if verdict.announce != self.s.announced {
            self.write(verdict.announce, &verdict.reason).await;
        }
        self.publish();
    }

    /// Adds or deletes the announce routes; one log line and one metric
    /// per transition.
    async fn write(&mut self, announce: bool, reason: &str) {
        let routes = announce_routes(&self.s.config);
        let result = if announce {
            self.s.announcer.add(&routes).await
        } else {
            self.s.announcer.delete(&routes).await
        };
        let name = &self.s.config.name;
        match result {
            Ok(()) => {
                self.failing = false;
                self.s.announced = announce;
                self.transitions += 1;
                let to = if announce { "announced" } else { "withdrawn" };
                self.last_transition = Some(Transition {
                    at: epoch(SystemTime::now()),
                    to,
                    reason: reason.to_string(),
                });
                self.s.metrics.anycast_transition(name, announce);
                tracing::info!(
                    service = name,
                    namespace = self.s.config.namespace,
                    "anycast {to}: {reason}"
                );
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!(service = name, "cannot change the announcement: {e}");
                }
                self.failing = true;
            }
        }
        self.publish();
    }

    /// Writes what the service should have again: the serving routes, and
    /// the announce routes as they are (present or absent).
    async fn reassert(&mut self) {
        let serve = serve_routes(&self.s.config);
        if !serve.is_empty()
            && let Err(e) = self.s.announcer.add(&serve).await
        {
            tracing::warn!(
                service = self.s.config.name,
                "cannot serve the prefixes: {e}"
            );
        }
        let routes = announce_routes(&self.s.config);
        let result = if self.s.announced {
            self.s.announcer.add(&routes).await
        } else {
            self.s.announcer.delete(&routes).await
        };
        match result {
            Ok(()) => self.failing = false,
            Err(e) => {
                if !self.failing {
                    tracing::warn!(service = self.s.config.name, "cannot re-assert: {e}");
                }
                self.failing = true;
            }
        }
    }

    fn publish(&self) {
        let status = shown(
            &self.s.config,
            &self.s.health,
            self.s.announced,
            self.last_transition.clone(),
            self.transitions,
        );
        if let Ok(mut board) = self.s.board.write() {
            board.insert(self.s.config.name.clone(), status);
        }
    }
}
