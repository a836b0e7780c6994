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

    /// The interface a route through a gateway goes out of after this plan:
    /// the first one whose configured addresses cover the gateway. The
    /// route names it when added, so that the kernel does not pick a link
    /// that this plan deletes or takes the gateway's subnet from.
    fn expected_device(&self, r: &Route) -> Option<String> {
        let gw = r.gateway?;
        self.ns
            .interfaces
            .iter()
            .find(|i| i.addresses.iter().any(|a| a.contains(&gw)))
            .map(|i| i.name.clone())
    }

    /// Whether an observed route matches a desired one and stays usable:
    /// a route through a gateway must go out of a link that keeps the
    /// gateway's subnet, or the kernel drops it when the address goes.
    fn keeps(&self, d: &Route, r: &Route, dev: Option<&str>) -> bool {
        if !same_route(d, r, dev) {
            return false;
        }
        let Some(gw) = d.gateway.filter(|_| d.device.is_none()) else {
            return true;
        };
        self.ns
            .interfaces
            .iter()
            .any(|i| Some(i.name.as_str()) == dev && i.addresses.iter().any(|a| a.contains(&gw)))
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
                .any(|d| self.keeps(d, &r.route, dev.as_deref()))
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
                .any(|(r, dev)| self.keeps(d, &r.route, dev.as_deref()))
            {
                out.push(Change::AddRoute {
                    ns: ns.clone(),
                    route: Route {
                        device: d.device.clone().or_else(|| self.expected_device(d)),
                        ..d.clone()
                    },
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
