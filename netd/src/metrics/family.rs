//! A metric family whose label sets are encoded in sorted order.
//!
//! prometheus-client's own `Family` keeps its label sets in a `HashMap`, so
//! two scrapes of the same values can list them in different orders. Sorted
//! output reads better with `curl`, diffs cleanly, and can be golden-tested.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Label sets `S` mapped to metrics `M`, shared by clones: one clone goes
/// into the registry, the other stays with [`super::Metrics`].
pub(super) struct Sorted<S, M> {
    map: Arc<RwLock<BTreeMap<S, M>>>,
    make: fn() -> M,
}

impl<S, M> Clone for Sorted<S, M> {
    fn clone(&self) -> Self {
        Sorted {
            map: Arc::clone(&self.map),
            make: self.make,
        }
    }
}

impl<S, M> std::fmt::Debug for Sorted<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sorted").finish_non_exhaustive()
    }
}

impl<S: Ord + Clone, M> Sorted<S, M> {
    pub(super) fn new(make: fn() -> M) -> Self {
        Sorted {
            map: Arc::new(RwLock::new(BTreeMap::new())),
            make,
        }
    }

    /// Runs `f` on the metric of `labels`, creating it first if needed.
    pub(super) fn with(&self, labels: S, f: impl FnOnce(&M)) {
        if let Some(m) = self.read().get(&labels) {
            f(m);
            return;
        }
        let mut map = self.write();
        let make = self.make;
        f(map.entry(labels).or_insert_with(make));
    }

    /// Changes several label sets under one lock, so that a scrape never sees
    /// half of the change (two states of a one-hot gauge set at once).
    pub(super) fn update(&self, f: impl FnOnce(&mut BTreeMap<S, M>, fn() -> M)) {
        f(&mut self.write(), self.make);
    }

    pub(super) fn retain(&self, mut keep: impl FnMut(&S) -> bool) {
        self.write().retain(|labels, _| keep(labels));
    }

    /// A panic elsewhere while the lock was held leaves plain counters behind,
    /// never a broken invariant, so the metrics stay readable.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<S, M>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<S, M>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S, M: TypedMetric> TypedMetric for Sorted<S, M> {
    const TYPE: MetricType = M::TYPE;
}

impl<S, M> EncodeMetric for Sorted<S, M>
where
    S: Ord + Clone + EncodeLabelSet,
    M: EncodeMetric + TypedMetric,
{
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, metric) in self.read().iter() {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }

    fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}
