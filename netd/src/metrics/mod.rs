//! What `netd run` tells Prometheus: reconciles and their duration, drift
//! repairs by kind, process restarts, and the state of every namespace and
//! supervised process, in the OpenMetrics text format on
//! `[daemon] metrics = "ADDR:PORT"`.
//!
//! The daemon creates one [`Metrics`], shares it through an `Arc`, and
//! records as things happen; a scrape only encodes what is there, so it costs
//! nothing while nobody asks.

mod anycast;
mod family;
mod http;
mod serve;
#[cfg(test)]
mod tests;

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use family::Sorted;
pub use serve::{serve, serve_on};

/// What one reconcile covered.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Everything: the start, a reload, a periodic resync, ENOBUFS.
    Full,
    /// One namespace, after a netlink event in it.
    Namespace,
    /// `table inet netd`, after it was flushed or replaced.
    Nftables,
}

impl Scope {
    const ALL: [Scope; 3] = [Scope::Full, Scope::Namespace, Scope::Nftables];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Namespace => "namespace",
            Scope::Nftables => "nftables",
        }
    }
}

impl EncodeLabelValue for Scope {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

/// The states `netd status` shows for a supervised process. Each one is a
/// series of `netd_process_state`, so an alert can say `state="failed" == 1`.
pub const PROCESS_STATES: [&str; 6] = [
    "running", "starting", "waiting", "stopping", "stopped", "failed",
];

/// The states of a namespace: as configured, drifted (a repair is due), or
/// its pin gone.
pub const NAMESPACE_STATES: [&str; 3] = ["ok", "drifted", "missing"];

/// Reconcile durations run from a single namespace's repair (the target is
/// 50 ms) to a full resync of a thousand namespaces (seconds).
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ReconcileLabels {
    scope: Scope,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ScopeLabels {
    scope: Scope,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ProcessLabels {
    namespace: String,
    process: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ProcessStateLabels {
    namespace: String,
    process: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct NamespaceStateLabels {
    namespace: String,
    state: String,
}

/// netd's metrics. `Send + Sync`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Sorted<ReconcileLabels, Counter>,
    durations: Sorted<ScopeLabels, Histogram>,
    repairs: Sorted<KindLabels, Counter>,
    restarts: Sorted<ProcessLabels, Counter>,
    process_state: Sorted<ProcessStateLabels, Gauge>,
    namespace_state: Sorted<NamespaceStateLabels, Gauge>,
    anycast: anycast::AnycastMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("netd"),
            reconciles: Sorted::new(Counter::default),
            durations: Sorted::new(|| Histogram::new(DURATION_BUCKETS)),
            repairs: Sorted::new(Counter::default),
            restarts: Sorted::new(Counter::default),
            process_state: Sorted::new(Gauge::default),
            namespace_state: Sorted::new(Gauge::default),
            anycast: anycast::AnycastMetrics::default(),
        };
        // Every scope and result from the start, so that rate() and
        // increase() see the first reconcile as an increase from zero.
        for scope in Scope::ALL {
            for result in ["ok", "error"] {
                m.reconciles.with(ReconcileLabels { scope, result }, |_| {});
            }
        }
        let r = &mut m.registry;
        r.register(
            "reconciles",
            "Reconcile rounds by scope and result",
            m.reconciles.clone(),
        );
        r.register_with_unit(
            "reconcile_duration",
            "How long a reconcile took, observe to re-check",
            Unit::Seconds,
            m.durations.clone(),
        );
        r.register(
            "drift_repairs",
            "Objects netd put back after they changed behind its back, by kind",
            m.repairs.clone(),
        );
        r.register(
            "process_restarts",
            "Restarts of a supervised process",
            m.restarts.clone(),
        );
        r.register(
            "process_state",
            "1 for the state a supervised process is in, 0 for the others",
            m.process_state.clone(),
        );
        r.register(
            "namespace_state",
            "1 for the state a namespace is in, 0 for the others",
            m.namespace_state.clone(),
        );
        m.anycast.register(r);
        r.register(
            "build",
            "The version of the running netd",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        m
    }

    pub fn reconcile(&self, scope: Scope, took: Duration, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reconciles
            .with(ReconcileLabels { scope, result }, |c| {
                c.inc();
            });
        self.durations
            .with(ScopeLabels { scope }, |h| h.observe(took.as_secs_f64()));
    }

    /// `kind` is the kind of object repaired: "link", "address", "route",
    /// "sysctl", "nft", "namespace", ….
    pub fn drift_repaired(&self, kind: &str) {
        let kind = kind.to_string();
        self.repairs.with(KindLabels { kind }, |c| {
            c.inc();
        });
    }

    pub fn process_restart(&self, namespace: &str, process: &str) {
        self.restarts.with(process_labels(namespace, process), |c| {
            c.inc();
        });
    }

    /// Sets `state` to 1 and every other state of the process to 0, in one
    /// step. A state outside [`PROCESS_STATES`] gets its own series.
    pub fn set_process_state(&self, namespace: &str, process: &str, state: &str) {
        let labels = |state: &str| ProcessStateLabels {
            namespace: namespace.to_string(),
            process: process.to_string(),
            state: state.to_string(),
        };
        self.process_state.update(|map, make| {
            for (l, g) in map.iter_mut() {
                if l.namespace == namespace && l.process == process {
                    g.set(0);
                }
            }
            for s in PROCESS_STATES {
                map.entry(labels(s)).or_insert_with(make);
            }
            map.entry(labels(state)).or_insert_with(make).set(1);
        });
    }

    /// Sets `state` ("ok", "drifted" or "missing") to 1 and the other states
    /// of the namespace to 0, in one step.
    pub fn set_namespace_state(&self, namespace: &str, state: &str) {
        let labels = |state: &str| NamespaceStateLabels {
            namespace: namespace.to_string(),
            state: state.to_string(),
        };
        self.namespace_state.update(|map, make| {
            for (l, g) in map.iter_mut() {
                if l.namespace == namespace {
                    g.set(0);
                }
            }
            for s in NAMESPACE_STATES {
                map.entry(labels(s)).or_insert_with(make);
            }
            map.entry(labels(state)).or_insert_with(make).set(1);
        });
    }

    /// Drops every series of a namespace that left the config, its processes
    /// included, so that removed objects do not linger as stale series.
    pub fn forget_namespace(&self, namespace: &str) {
        self.namespace_state.retain(|l| l.namespace != namespace);
        self.process_state.retain(|l| l.namespace != namespace);
        self.restarts.retain(|l| l.namespace != namespace);
    }

    pub fn forget_process(&self, namespace: &str, process: &str) {
        self.process_state
            .retain(|l| !(l.namespace == namespace && l.process == process));
        self.restarts
            .retain(|l| !(l.namespace == namespace && l.process == process));
    }

    /// The OpenMetrics text exposition, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!("encoding the metrics failed: {e}");
        }
        out
    }
}

fn process_labels(namespace: &str, process: &str) -> ProcessLabels {
    ProcessLabels {
        namespace: namespace.to_string(),
        process: process.to_string(),
    }
}
