use super::*;
use crate::config;
use crate::model::Desired;
use crate::observe::Observed;
use crate::state::{Origin, State};
use crate::testutil::{converged, golden};

fn topology() -> Desired {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/plan/topology.toml");
    config::load(std::path::Path::new(path)).expect("valid test config")
}

fn recorded(d: &Desired) -> State {
    State {
        namespaces: d
            .namespaces
            .keys()
            .map(|n| (n.clone(), Origin::Created))
            .collect(),
    }
}

fn render(plan: &Plan) -> String {
    let mut out: String = plan.changes.iter().map(|c| format!("{c}\n")).collect();
    for o in &plan.orphans {
        out.push_str(&format!("orphan: {o}\n"));
    }
    out
}

#[test]
fn fresh_host_gets_everything_in_dependency_order() {
    let d = topology();
    let p = plan(&d, &Observed::default(), &State::default(), false).unwrap();
    golden("plan/fresh.golden", &render(&p));
    let json: Vec<_> = p.changes.iter().map(Change::summary).collect();
    golden(
        "plan/fresh.json",
        &(serde_json::to_string_pretty(&json).unwrap() + "\n"),
    );
}

#[test]
fn converged_host_has_no_changes() {
    let d = topology();
    let p = plan(&d, &converged(&d), &recorded(&d), false).unwrap();
    assert_eq!(render(&p), "");
}

#[test]
fn drift_is_repaired_exactly() {
    let d = topology();
    let mut o = converged(&d);
    let web = o.namespaces.get_mut("web").unwrap();
    web.addrs.retain(|a| a.net.to_string() != "10.88.0.2/24");
    web.links.iter_mut().find(|l| l.name == "svc0").unwrap().up = false;
    web.routes.retain(|r| r.route.table != 100);
    web.sysctls
        .insert("net.ipv4.ip_forward".into(), Some("0".into()));
    // An address added by hand on a link netd owns goes; lo's foreign ones stay.
    web.addrs.push(crate::observe::ObservedAddr {
        index: 2,
        net: "10.88.0.99/24".parse().unwrap(),
        proto: 0,
        tentative: false,
    });
    web.addrs.push(crate::observe::ObservedAddr {
        index: 1,
        net: "127.0.0.1/8".parse().unwrap(),
        proto: 0,
        tentative: false,
    });
    o.host.links.retain(|l| l.name != "ve-db");
    let p = plan(&d, &o, &recorded(&d), false).unwrap();
    golden("plan/drift.golden", &render(&p));
}

#[test]
fn foreign_link_with_a_configured_name_is_a_conflict() {
    let d = topology();
    let mut o = converged(&d);
    let br = o.host.links.iter_mut().find(|l| l.name == "br0").unwrap();
    br.alias = None;
    let conflicts = plan(&d, &o, &recorded(&d), false).unwrap_err();
    assert_eq!(conflicts.len(), 1);
    assert!(
        conflicts[0].to_string().contains("was not created by netd"),
        "{}",
        conflicts[0]
    );
}

#[test]
fn removed_namespace_is_kept_until_prune() {
    let d = topology();
    let o = converged(&d);
    let mut smaller = d.clone();
    smaller.namespaces.remove("db");
    let keep = plan(&smaller, &o, &recorded(&d), false).unwrap();
    assert!(keep.changes.is_empty(), "{}", render(&keep));
    assert_eq!(keep.orphans, vec!["namespace db".to_string()]);
    let prune = plan(&smaller, &o, &recorded(&d), true).unwrap();
    golden("plan/prune.golden", &render(&prune));
}

#[test]
fn existing_unrecorded_namespace_is_adopted() {
    let d = topology();
    let p = plan(&d, &converged(&d), &State::default(), false).unwrap();
    assert_eq!(
        render(&p),
        "~ namespace db (adopt existing namespace)\n~ namespace web (adopt existing namespace)\n"
    );
}
