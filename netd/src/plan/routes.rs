//! Routes of one namespace: netd's (protocol 200) against the config's.

use super::change::Change;
use super::links::NsDiff;
use crate::model::Route;
use crate::observe::ObservedRoute;

impl NsDiff<'_> {
    fn device_of(&self, r: &ObservedRoute) -> Option<String> {
        r.oif
            .and_then(|i| self.inside.link_by_index(i))
            .map(|l| l.name.clone())
    }

    pub(super) fn routes(&self, out: &mut Vec<Change>) {
        let ns = &self.ns.name;
        let present: Vec<(&ObservedRoute, Option<String>)> = self
            .inside
            .routes
            .iter()
            .filter(|r| r.owned_by_netd() && !r.oif.is_some_and(|i| self.replaced.contains(&i)))
            .map(|r| (r, self.device_of(r)))
            .collect();
        for (r, dev) in &present {
            if !self
                .ns
                .routes
                .iter()
                .any(|d| same_route(d, &r.route, dev.as_deref()))
            {
                out.push(Change::DeleteRoute {
                    ns: ns.clone(),
                    route: Route {
                        device: dev.clone(),
                        ..r.route.clone()
                    },
                });
            }
        }
        for d in &self.ns.routes {
            if !present
                .iter()
                .any(|(r, dev)| same_route(d, &r.route, dev.as_deref()))
            {
                out.push(Change::AddRoute {
                    ns: ns.clone(),
                    route: d.clone(),
                });
            }
        }
    }
}

/// The kernel reports IPv6 routes without a metric as metric 1024 and IPv4
/// ones as 0; a route that names no device matches whatever device the
/// kernel chose for its gateway.
fn same_route(desired: &Route, observed: &Route, observed_dev: Option<&str>) -> bool {
    let default_metric = if desired.destination.addr().is_ipv6() {
        1024
    } else {
        0
    };
    desired.destination == observed.destination
        && desired.gateway == observed.gateway
        && desired.table == observed.table
        && desired.metric.unwrap_or(default_metric) == observed.metric.unwrap_or(default_metric)
        && desired
            .device
            .as_deref()
            .is_none_or(|d| Some(d) == observed_dev)
}
