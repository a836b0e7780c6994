//! Anycast series: whether each service is announced, its transitions, and
//! the state of each of its checks.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Metrics;
use super::family::Sorted;

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct TransitionLabels {
    service: String,
    to: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct CheckLabels {
    service: String,
    check: String,
}

#[derive(Debug)]
pub(super) struct AnycastMetrics {
    announced: Sorted<ServiceLabels, Gauge>,
    transitions: Sorted<TransitionLabels, Counter>,
    check_up: Sorted<CheckLabels, Gauge>,
}

impl Default for AnycastMetrics {
    fn default() -> Self {
        AnycastMetrics {
            announced: Sorted::new(Gauge::default),
            transitions: Sorted::new(Counter::default),
            check_up: Sorted::new(Gauge::default),
        }
    }
}

impl AnycastMetrics {
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "anycast_announced",
            "1 while an anycast service's prefixes are announced",
            self.announced.clone(),
        );
        r.register(
            "anycast_transitions",
            "Announcements and withdrawals of an anycast service",
            self.transitions.clone(),
        );
        r.register(
            "anycast_check_up",
            "1 while a health check of an anycast service is up",
            self.check_up.clone(),
        );
    }
}

impl Metrics {
    pub fn set_anycast_announced(&self, service: &str, announced: bool) {
        let service = service.to_string();
        self.anycast.announced.with(ServiceLabels { service }, |g| {
            g.set(i64::from(announced));
        });
    }

    /// One announcement (`announced` true) or withdrawal.
    pub fn anycast_transition(&self, service: &str, announced: bool) {
        let to = if announced { "announced" } else { "withdrawn" };
        for t in ["announced", "withdrawn"] {
            let labels = TransitionLabels {
                service: service.to_string(),
                to: t,
            };
            self.anycast.transitions.with(labels, |c| {
                if t == to {
                    c.inc();
                }
            });
        }
        self.set_anycast_announced(service, announced);
    }

    pub fn set_anycast_check_up(&self, service: &str, check: &str, up: bool) {
        let labels = CheckLabels {
            service: service.to_string(),
            check: check.to_string(),
        };
        self.anycast.check_up.with(labels, |g| {
            g.set(i64::from(up));
        });
    }

    pub fn forget_anycast(&self, service: &str) {
        self.anycast.announced.retain(|l| l.service != service);
        self.anycast.transitions.retain(|l| l.service != service);
        self.anycast.check_up.retain(|l| l.service != service);
    }
}
