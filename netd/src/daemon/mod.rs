//! `netd run`: converge at start, then keep the kernel converged. Watchers
//! (netlink in every managed namespace and the host, nftables, the mount
//! table) turn kernel events into [`events::Event`]s; one loop answers
//! them with scoped repairs, and also serves the control socket, signals,
//! the periodic resync and the watchdog. Everything that touches the
//! kernel runs in that loop, one thing at a time, under the writer lock
//! the daemon holds for its whole life.

mod control;
mod cycle;
mod events;
mod fd;
mod mounts_watch;
mod nft_watch;
mod processes;
pub mod protocol;
mod relevance;
mod requests;
mod stats;
mod throttle;
mod watch;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use crate::anycast::AnycastRuntime;
use crate::config::ConfigErrors;
use crate::engine::{Engine, EngineError, Session};
use crate::metrics::Metrics;
use crate::model::Desired;
use crate::state::WriterLock;
use crate::supervise::{Supervisor, become_subreaper};
use crate::systemd::Notifier;
use events::{Dirty, Event};
use relevance::HostLinks;
use stats::Stats;
use throttle::Throttle;
use watch::Watchers;

pub use cycle::outcome_json;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(ConfigErrors),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Setup(String),
}

/// Where the config comes from, with the command line's directory
/// overrides; read again on every reload.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub netns_dir: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    /// Remove what leaves the config, as `netd apply --prune` does, in
    /// every full converge.
    pub prune: bool,
}

impl ConfigSource {
    pub fn load(&self) -> Result<Desired, ConfigErrors> {
        let mut desired = crate::config::load(&self.path)?;
        if let Some(dir) = &self.netns_dir {
            desired.netns_dir = dir.clone();
        }
        if let Some(dir) = &self.state_dir {
            desired.state_dir = dir.clone();
        }
        Ok(desired)
    }
}

pub struct Daemon {
    source: ConfigSource,
    desired: Desired,
    engine: Engine,
    _lock: WriterLock,
    /// The last observation, kept current by scoped reads; None after a
    /// failed read, which the next cycle replaces with a full one.
    session: Option<Session>,
    watchers: Watchers,
    nft_tables: Arc<RwLock<nft_watch::Tables>>,
    stats: Stats,
    /// The orphans last warned about.
    orphans_warned: String,
    started: SystemTime,
    ready: bool,
    notifier: Option<Notifier>,
    snapshot: control::Snapshot,
    metrics: Arc<Metrics>,
    metrics_addr: Option<std::net::SocketAddr>,
    supervisor: Supervisor,
    /// Restarts per process already counted in the metrics.
    restarts_counted: std::collections::HashMap<(String, String), u32>,
    /// The running processes as last recorded for a later netd.
    recorded: Vec<(crate::supervise::Key, i32, String)>,
    anycast: AnycastRuntime,
}

/// The config's host link names, for the host watcher.
fn host_names(desired: &Desired) -> std::collections::HashSet<String> {
    let bridges = desired.bridges.keys().cloned();
    let ends = desired
        .namespaces
        .values()
        .flat_map(|n| n.interfaces.iter())
        .filter_map(|i| i.host_name().map(str::to_string));
    bridges.chain(ends).collect()
}

impl Daemon {
    /// Watches every namespace the last observation read, and tells the
    /// host watcher which host links are netd's now.
    async fn watch_what_was_observed(&mut self) {
        let Some(session) = &self.session else {
            return;
        };
        let managed = session
            .observed
            .pins
            .iter()
            .filter(|(name, _)| session.observed.pinned.contains(*name))
            .map(|(n, k)| (n.clone(), *k))
            .collect();
        let links = HostLinks {
            indexes: session
                .observed
                .host
                .links
                .iter()
                .filter(|l| l.owned_by_netd())
                .map(|l| l.index)
                .collect(),
            names: host_names(&self.desired),
        };
        for name in self.desired.namespaces.keys() {
            let state = if session.observed.pinned.contains(name) {
                "ok"
            } else {
                "missing"
            };
            self.metrics.set_namespace_state(name, state);
        }
        for name in session.state.namespaces.keys() {
            if !self.desired.namespaces.contains_key(name) {
                self.metrics.forget_namespace(name);
            }
        }
        if let Ok(mut shared) = self.watchers.host_links.write() {
            *shared = links;
        }
        self.watchers.sync(self.engine.registry(), &managed).await;
    }

    /// Publishes the status for the control socket and systemd.
    fn notify_status(&self) {
        if let Ok(mut s) = self.snapshot.status.write() {
            *s = protocol::reply(self.status());
        }
        if let Some(n) = &self.notifier {
            let text = match &self.stats.last_error {
                None => format!(
                    "watching {} namespaces; {} drift repairs",
                    self.watchers.len(),
                    self.stats.repairs
                ),
                Some(e) => format!("degraded: {e}"),
            };
            let _ = n.status(&text);
        }
    }
}

/// How long the loop lets a burst of events gather before it reads: one
/// change often arrives as several notifications (a link, its addresses,
/// its routes), read by the watchers at slightly different times.
const SETTLE: Duration = Duration::from_millis(2);

/// Events that arrive together are answered together.
async fn drain(first: Event, events: &mut mpsc::UnboundedReceiver<Event>) -> Dirty {
    let mut dirty = Dirty::default();
    dirty.add(first);
    tokio::time::sleep(SETTLE).await;
    while let Ok(e) = events.try_recv() {
        dirty.add(e);
    }
    dirty
}

/// Gives the memory of a full converge back to the system: the daemon's
/// idle size is what it keeps, not what the first converge of a thousand
/// namespaces needed at its peak.
fn release_free_memory() {
    // SAFETY: malloc_trim only walks glibc's own heap structures.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

fn setup(what: &str) -> impl Fn(std::io::Error) -> DaemonError + '_ {
    move |e| DaemonError::Setup(format!("{what}: {e}"))
}

/// Runs until SIGTERM or SIGINT. Must be called inside the tokio runtime.
pub async fn run(source: ConfigSource, lock_wait: Duration) -> Result<(), DaemonError> {
    let desired = source.load().map_err(DaemonError::Config)?;
    let engine = Engine::open(&desired.netns_dir, &desired.state_dir)?;
    let lock = engine.lock(lock_wait)?;
    let (event_tx, mut events) = mpsc::unbounded_channel();
    let (ask_tx, mut asked) = mpsc::channel(16);
    let snapshot = control::Snapshot::default();
    let control = control::bind(
        &desired.state_dir,
        desired.daemon.socket_group.as_deref(),
        ask_tx,
        snapshot.clone(),
    )
    .map_err(setup("cannot open the control socket"))?;
    become_subreaper().map_err(setup("cannot become the reaper of supervised processes"))?;
    let metrics = Arc::new(Metrics::new());
    let metrics_task = match desired.daemon.metrics {
        None => None,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| DaemonError::Setup(format!("cannot serve metrics on {addr}: {e}")))?;
            tracing::info!(%addr, "serving metrics");
            Some(tokio::spawn(crate::metrics::serve_on(
                listener,
                metrics.clone(),
            )))
        }
    };
    let mut chld = signal(SignalKind::child()).map_err(setup("signal"))?;
    let mut hup = signal(SignalKind::hangup()).map_err(setup("signal"))?;
    let mut term = signal(SignalKind::terminate()).map_err(setup("signal"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(setup("signal"))?;
    let nft_tables = Arc::new(RwLock::new(nft_watch::tables_of(&desired)));
    let nft_task = nft_watch::start(nft_tables.clone(), event_tx.clone())
        .map_err(setup("cannot watch nftables"))?;
    let mounts_task =
        mounts_watch::start(event_tx.clone()).map_err(setup("cannot watch the mount table"))?;
    let desired_metrics = desired.daemon.metrics;
    let netns_dir = desired.netns_dir.clone();
    let state_dir = desired.state_dir.clone();
    let anycast_metrics = metrics.clone();
    let anycast_board = snapshot.anycast.clone();
    let mut daemon = Daemon {
        source,
        desired,
        engine,
        _lock: lock,
        session: None,
        watchers: Watchers::new(event_tx),
        nft_tables,
        stats: Stats::default(),
        orphans_warned: String::new(),
        started: SystemTime::now(),
        ready: false,
        notifier: Notifier::from_env(),
        snapshot,
        metrics_addr: desired_metrics,
        metrics,
        supervisor: Supervisor::new(netns_dir),
        restarts_counted: Default::default(),
        recorded: Vec::new(),
        anycast: AnycastRuntime::new(state_dir, anycast_metrics, anycast_board),
    };
    daemon.notify_status();
    daemon.resync("start").await;
    release_free_memory();
    // Processes start once their namespaces are there.
    let (adopted_tx, mut adopted_exits) = mpsc::unbounded_channel();
    daemon.adopt_processes(&adopted_tx);
    daemon.sync_anycast().await;
    daemon.ready = true;
    tracing::info!(
        namespaces = daemon.watchers.len(),
        "netd is running; watching for drift"
    );
    if let Some(n) = &daemon.notifier {
        let _ = n.ready("converged");
    }
    daemon.notify_status();
    let mut next_resync = Instant::now() + daemon.desired.daemon.resync_interval;
    let watchdog = crate::systemd::watchdog_interval().map(|d| d / 2);
    let mut next_watchdog = watchdog.map(|d| Instant::now() + d);
    let mut throttle = Throttle::default();
    loop {
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            Some(event) = events.recv() => {
                let dirty = drain(event, &mut events).await;
                daemon.repair(dirty).await;
                if let Some(pause) = throttle.record(Instant::now()) {
                    tracing::warn!("repairs keep being undone; slowing down");
                    tokio::time::sleep(pause).await;
                }
                daemon.notify_status();
            }
            Some((request, back)) = asked.recv() => {
                let answer = daemon.answer(request).await;
                let _ = back.send(answer);
                daemon.notify_status();
            }
            _ = sleep_until(next_resync.into()) => {
                daemon.resync("periodic resync").await;
                release_free_memory();
                next_resync = Instant::now() + daemon.desired.daemon.resync_interval;
                daemon.notify_status();
            }
            _ = sleep_until(next_watchdog.unwrap_or(far).into()) => {
                if let Some(n) = &daemon.notifier {
                    let _ = n.watchdog();
                }
                next_watchdog = watchdog.map(|d| Instant::now() + d);
            }
            Some(_) = adopted_exits.recv() => {
                daemon.supervisor.reap(Instant::now());
                daemon.processes_changed();
            }
            _ = chld.recv() => {
                daemon.supervisor.reap(Instant::now());
                daemon.processes_changed();
            }
            _ = sleep_until(daemon.supervisor.next_wake().unwrap_or(far).into()) => {
                daemon.supervisor.tick(Instant::now());
                daemon.processes_changed();
            }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                daemon.reload(false).await;
                daemon.notify_status();
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    if let Some(n) = &daemon.notifier {
        let _ = n.stopping();
    }
    // Withdrawn before the processes stop, so that no traffic is drawn to
    // a service that is going away.
    daemon.anycast.stop().await;
    daemon.supervisor.stop_all().await;
    tracing::info!("stopping; namespaces, links, addresses and rules stay in place");
    if let Some(task) = metrics_task {
        task.abort();
    }
    nft_task.abort();
    mounts_task.abort();
    drop(control);
    Ok(())
}
