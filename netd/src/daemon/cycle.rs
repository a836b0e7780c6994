//! The daemon's cycles: a full converge (at start, on reload, on a resync)
//! and a scoped repair (after an event: only what the event names is read
//! again).

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::Daemon;
use super::events::Dirty;
use crate::apply::Report;
use crate::engine::EngineError;
use crate::metrics::Scope as MetricsScope;
use crate::observe::Scope;
use crate::plan::Plan;

/// What one cycle did, for the control socket's answer.
pub fn outcome_json(plan: &Plan, report: &Report) -> Value {
    let mut value = report.to_json();
    value["orphans"] = json!(plan.orphans);
    value["ok"] = json!(report.is_ok());
    value["lines"] = json!(report.done().map(|c| c.to_string()).collect::<Vec<_>>());
    value["failed"] = json!(
        report
            .failed()
            .map(|o| format!("{}: {}", o.change, o.error.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
    );
    value
}

impl Daemon {
    /// Reads everything, applies what differs and re-checks, then watches
    /// the namespaces it found. `why` goes into the log line.
    pub(super) async fn converge(
        &mut self,
        why: &str,
        prune: bool,
    ) -> Result<(Plan, Report), EngineError> {
        let started = Instant::now();
        self.session = None;
        let mut session = self.engine.session(&self.desired).await?;
        let plan = self.engine.plan(&session, &self.desired, prune)?;
        // At full convergences only (start, reload, periodic resync): a
        // drift repair must not wait for a ruleset and socket dump.
        crate::engine::port_warnings::warn_conflicts(&self.desired);
        let mut report = self.engine.apply(&mut session, &plan).await;
        self.engine
            .recheck(&mut session, (&self.desired, prune), &plan, &mut report)
            .await?;
        self.session = Some(session);
        self.watch_what_was_observed().await;
        self.stats.resynced();
        // Said once per change, not at every resync.
        let orphans = format!("{:?}", plan.orphans);
        if !plan.orphans.is_empty() && orphans != self.orphans_warned {
            tracing::warn!(
                orphans = ?plan.orphans,
                "netd owns namespaces or bridges that left the config; `netd apply --prune` removes them"
            );
        }
        self.orphans_warned = orphans;
        let took_ms = started.elapsed().as_millis() as u64;
        if report.outcomes.is_empty() {
            tracing::debug!(why, took_ms, "converged: no changes");
        } else {
            tracing::info!(
                why,
                took_ms,
                changes = report.outcomes.len(),
                failed = report.failed().count(),
                "converged"
            );
        }
        self.cycle_done(report.is_ok(), "converge failed");
        self.metrics
            .reconcile(MetricsScope::Full, started.elapsed(), report.is_ok());
        Ok((plan, report))
    }

    /// A full converge whose failure is logged, not returned: the loop
    /// goes on and the next resync tries again.
    pub(super) async fn resync(&mut self, why: &str) {
        if let Err(e) = self.converge(why, self.source.prune).await {
            tracing::error!(why, error = %e, "cannot converge; trying again at the next resync");
            self.stats.last_error = Some(e.to_string());
        }
        self.sync_anycast().await;
    }

    /// The namespaces a periodic sweep reads, slice by slice; None when it
    /// must be one full converge instead: with --prune (orphans are removed
    /// only by a full plan), or after a failed read.
    pub(super) fn sweep_names(&self) -> Option<BTreeSet<String>> {
        let session = self.session.as_ref()?;
        if self.source.prune {
            return None;
        }
        let recorded = session.state.namespaces.keys();
        Some(
            self.desired
                .namespaces
                .keys()
                .chain(recorded)
                .cloned()
                .collect(),
        )
    }

    /// After the last slice of a sweep: what a full resync does besides
    /// reading and repairing.
    pub(super) async fn swept(&mut self) {
        self.stats.resynced();
        self.sync_anycast().await;
    }

    /// Starts the anycast services whose namespaces are there now, and
    /// follows config changes.
    pub(super) async fn sync_anycast(&mut self) {
        self.anycast
            .sync(&self.desired, self.engine.registry())
            .await;
        self.anycast.process_pids(&self.supervisor.running_pids());
    }

    fn cycle_done(&mut self, ok: bool, what: &str) {
        self.stats.last_error = (!ok).then(|| what.to_string());
    }

    /// Answers the events in `dirty`: reads again what they name, and
    /// repairs what differs from the config.
    pub(super) async fn repair(&mut self, dirty: Dirty) {
        if let Some(why) = &dirty.full {
            tracing::warn!(why, "events were lost; reading everything again");
            return self.resync("events lost").await;
        }
        let Some(session) = self.session.as_mut() else {
            return self.resync("the last read failed").await;
        };
        let started = Instant::now();
        // Only namespaces netd still manages; a watcher's last event may
        // arrive after its namespace left the config.
        let namespaces: BTreeSet<String> = dirty
            .namespaces
            .iter()
            .filter(|n| {
                self.desired.namespaces.contains_key(*n)
                    || session.state.namespaces.contains_key(*n)
            })
            .cloned()
            .collect();
        let scope = Scope {
            namespaces: &namespaces,
            host: dirty.host,
            nft: dirty.nft,
        };
        if let Err(e) = self.engine.refresh(session, &self.desired, scope).await {
            tracing::warn!(error = %e, "cannot read what changed; reading everything again");
            return self.resync("a scoped read failed").await;
        }
        let read_us = started.elapsed().as_micros() as u64;
        let plan = match self.engine.plan(session, &self.desired, false) {
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!(error = %e, "cannot plan a repair");
                self.stats.last_error = Some(e.to_string());
                return;
            }
        };
        tracing::debug!(
            read_us,
            plan_us = started.elapsed().as_micros() as u64 - read_us,
            "read and planned"
        );
        if dirty.pins {
            self.watch_what_was_observed().await;
        }
        if plan.is_empty() {
            tracing::trace!(kinds = ?dirty.kinds(), "event needed no repair");
            return;
        }
        let kinds: Vec<String> = plan
            .changes
            .iter()
            .map(|c| c.summary().kind.to_string())
            .collect();
        tracing::info!(
            changes = plan.changes.len(),
            namespaces = ?namespaces,
            host = dirty.host,
            nftables = dirty.nft,
            "repairing drift"
        );
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mut report = self.engine.apply(session, &plan).await;
        let rechecked = self
            .engine
            .recheck(session, (&self.desired, false), &plan, &mut report)
            .await;
        if let Err(e) = rechecked {
            tracing::warn!(error = %e, "re-check after a repair failed; reading everything again");
            return self.resync("a re-check failed").await;
        }
        for k in &kinds {
            self.metrics.drift_repaired(k);
        }
        let scope = if namespaces.is_empty() && !dirty.host {
            MetricsScope::Nftables
        } else {
            MetricsScope::Namespace
        };
        self.metrics
            .reconcile(scope, started.elapsed(), report.is_ok());
        self.stats.repaired(kinds);
        tracing::info!(
            took_us = started.elapsed().as_micros() as u64,
            failed = report.failed().count(),
            "repaired drift"
        );
        self.cycle_done(report.is_ok(), "a drift repair failed");
        // A repair may have made a namespace again, with a new pin.
        self.watch_what_was_observed().await;
    }
}
