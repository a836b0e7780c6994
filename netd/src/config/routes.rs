//! Routes: the `[[namespace.x.route]]` tables and the `gateway` shorthand.

use std::net::IpAddr;

use super::located::LocatedRoute;
use super::report::{At, Loc, Report};
use super::schema::{self, Gateways};
use super::values;
use crate::model::{self, Route};

pub(super) fn lower_route(
    report: &mut Report<'_>,
    loc: Loc,
    r: schema::Route,
) -> Option<LocatedRoute> {
    let gateway = r
        .gateway
        .map(|g| loc.field("gateway", g.span()).at(g.into_inner()));
    let gw = gateway
        .as_ref()
        .and_then(|g| values::ip(report, &g.loc, &g.value, "a gateway"));
    let device = r
        .device
        .map(|d| loc.field("device", d.span()).at(d.into_inner()));
    if let Some(d) = &device {
        values::link_name(report, &d.loc, &d.value);
    }
    if gateway.is_none() && device.is_none() {
        report.error(&loc, "a route needs a `gateway`, a `device`, or both");
    }
    let dloc = loc.field("destination", r.destination.span());
    let destination = values::destination(report, &dloc, r.destination.get_ref(), gw);
    if let (Some(dst), Some(gw), Some(g)) = (destination, gw, &gateway)
        && dst.addr().is_ipv4() != gw.is_ipv4()
    {
        report.error(
            &g.loc,
            format!(
                "gateway `{gw}` is {} but destination `{dst}` is {}; use a gateway of the \
                 destination's family",
                family(gw),
                family(dst.addr())
            ),
        );
        return None;
    }
    let table = match r.table {
        Some(t) => values::table(report, &loc.field("table", t.span()), t.get_ref()),
        None => Some(model::MAIN_TABLE),
    };
    let metric = match r.metric {
        Some(m) => Some(values::metric(
            report,
            &loc.field("metric", m.span()),
            *m.get_ref(),
        )?),
        None => None,
    };
    let route = Route {
        destination: destination?,
        gateway: gw,
        device: device.as_ref().map(|d| d.value.clone()),
        table: table?,
        metric,
    };
    Some(LocatedRoute {
        loc,
        route,
        gateway: gateway.map(|g| g.loc),
        device: device.map(|d| d.loc),
    })
}

/// `gateway = ...` on a namespace: one default route per family, in the
/// main table.
pub(super) fn shorthand_routes(
    report: &mut Report<'_>,
    loc: &Loc,
    gws: Gateways,
) -> Vec<LocatedRoute> {
    let located: Vec<At<String>> = match gws {
        Gateways::One(gw) => vec![loc.at(gw)],
        Gateways::Many(all) => all
            .into_iter()
            .enumerate()
            .map(|(i, g)| loc.index(i, g.span()).at(g.into_inner()))
            .collect(),
    };
    let mut routes: Vec<LocatedRoute> = Vec::new();
    for g in located {
        let Some(ip) = values::ip(report, &g.loc, &g.value, "a gateway") else {
            continue;
        };
        if let Some(first) = routes
            .iter()
            .find(|r| r.route.gateway.is_some_and(|o| o.is_ipv4() == ip.is_ipv4()))
        {
            let other = first.route.gateway.expect("found by its gateway");
            report.error(
                &g.loc,
                format!(
                    "a second {} gateway (`{other}` is the first); give at most one per family",
                    family(ip)
                ),
            );
            continue;
        }
        let destination = if ip.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
        routes.push(LocatedRoute {
            loc: g.loc.clone(),
            route: Route {
                destination: destination.parse().expect("literal"),
                gateway: Some(ip),
                device: None,
                table: model::MAIN_TABLE,
                metric: None,
            },
            gateway: Some(g.loc),
            device: None,
        });
    }
    routes
}

pub(super) fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}
