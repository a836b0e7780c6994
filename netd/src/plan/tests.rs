use super::*;
use crate::config;
use crate::model::Desired;
use crate::observe::Observed;
use crate::state::State;
use crate::testutil::{converged, golden, recorded};

fn topology() -> Desired {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/plan/topology.toml");
    config::load(std::path::Path::new(path)).expect("valid test config")
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
fn existing_unrecorded_namespace_is_adopted_only_when_the_config_says_so() {
    let mut d = topology();
    let err = plan(&d, &converged(&d), &State::default(), false).unwrap_err();
    assert_eq!(err.len(), 2, "{err:?}");
    assert!(err[0].problem.contains("adopt = true"), "{err:?}");
    for ns in d.namespaces.values_mut() {
        ns.adopt = true;
    }
    let p = plan(&d, &converged(&d), &State::default(), false).unwrap();
    assert_eq!(
        render(&p),
        "~ namespace db (adopt existing namespace)\n~ namespace web (adopt existing namespace)\n"
    );
}

#[test]
fn a_pin_that_is_not_netds_is_a_conflict_and_never_deleted() {
    use crate::netns::PinKind;
    let d = topology();
    let mut o = converged(&d);
    let state = recorded(&d);
    // Someone re-created `web` under the same name.
    o.pins.insert(
        "web".into(),
        PinKind::Namespace {
            id: crate::state::PinId { dev: 4, ino: 1 },
        },
    );
    let err = plan(&d, &o, &state, false).unwrap_err();
    assert!(err[0].problem.contains("re-created"), "{err:?}");
    // Pruning it leaves the pin alone and only drops netd's record.
    let empty = Desired::empty(d.netns_dir.clone(), d.state_dir.clone());
    let p = plan(&empty, &o, &state, true).unwrap();
    assert!(
        render(&p).contains("~ namespace web (forget netd's record:"),
        "{}",
        render(&p)
    );
    assert!(!render(&p).contains("- namespace web"), "{}", render(&p));
    for kind in [
        PinKind::Symlink,
        PinKind::Directory,
        PinKind::NonEmptyFile,
        PinKind::EmptyFile,
    ] {
        o.pins.insert("web".into(), kind);
        let err = plan(&d, &o, &State::default(), false).unwrap_err();
        assert!(
            err.iter().any(|c| c.object == "namespace web"),
            "{kind}: {err:?}"
        );
        let p = plan(&empty, &o, &state, true).unwrap();
        assert!(
            !render(&p).contains("- namespace web"),
            "{kind}: {}",
            render(&p)
        );
    }
}

#[test]
fn an_interrupted_creation_is_completed_or_reclaimed() {
    use crate::netns::PinKind;
    let d = topology();
    let mut state = recorded(&d);
    for r in state.namespaces.values_mut() {
        r.pin = None;
    }
    // Pinned before the crash: the record is completed.
    let p = plan(&d, &converged(&d), &state, false).unwrap();
    assert!(
        render(&p).contains("~ namespace web (record the pin"),
        "{}",
        render(&p)
    );
    // Only the empty file was made: it is reused.
    let mut o = Observed::default();
    o.pins.insert("web".into(), PinKind::EmptyFile);
    let p = plan(&d, &o, &state, false).unwrap();
    assert!(render(&p).contains("+ namespace web"), "{}", render(&p));
}

#[test]
fn an_admins_table_inet_netd_is_never_replaced() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/published-web.toml"
    );
    let d = config::load(std::path::Path::new(path)).unwrap();
    let mut o = converged(&d);
    o.nft.table = Some((None, 3));
    let mut state = recorded(&d);
    let err = plan(&d, &o, &state, false).unwrap_err();
    assert!(
        err.iter().any(|c| c
            .problem
            .contains("that netd did not create exists; rename or remove it")),
        "{err:?}"
    );
    // Without publishes it is left alone, not deleted.
    let empty = Desired::empty(d.netns_dir.clone(), d.state_dir.clone());
    let p = plan(&empty, &o, &state, true).unwrap();
    assert!(!render(&p).contains("nftables"), "{}", render(&p));
    // A table netd created (and someone flushed) is netd's.
    state.nft_table = true;
    let p = plan(&d, &o, &state, false).unwrap();
    assert!(render(&p).contains("table inet netd"), "{}", render(&p));
}

#[test]
fn routes_netd_does_not_reconcile_are_left_alone() {
    let d = topology();
    let mut o = converged(&d);
    let web = o.namespaces.get_mut("web").unwrap();
    // An anycast announcement (netd's announcer) and a BIRD-learned route.
    for proto in [crate::model::ANNOUNCE_PROTO, 12] {
        web.routes.push(crate::observe::ObservedRoute {
            route: crate::model::Route {
                destination: "192.0.2.0/24".parse().unwrap(),
                gateway: None,
                device: None,
                table: 254,
                metric: Some(u32::from(proto)),
            },
            oif: Some(2),
            proto,
        });
    }
    let p = plan(&d, &o, &recorded(&d), false).unwrap();
    assert_eq!(render(&p), "");
}

/// Scripts filter changes by `kind`: a bridge or a veth must be named the
/// same when it is created as when it is deleted or changed.
#[test]
fn an_object_has_one_kind_whether_created_or_deleted() {
    let d = topology();
    let created = plan(&d, &Observed::default(), &State::default(), false).unwrap();
    let empty = Desired::empty(d.netns_dir.clone(), d.state_dir.clone());
    let deleted = plan(&empty, &converged(&d), &recorded(&d), true).unwrap();
    let kind_of = |p: &Plan, op: &str, name: &str| -> Vec<&'static str> {
        p.changes
            .iter()
            .map(Change::summary)
            .filter(|s| s.op == op && s.name.as_deref() == Some(name))
            .map(|s| s.kind)
            .collect()
    };
    assert_eq!(kind_of(&created, "create", "br0"), ["bridge"]);
    assert_eq!(kind_of(&deleted, "delete", "br0"), ["bridge"]);
    assert_eq!(kind_of(&created, "create", "db"), ["namespace"]);
    assert_eq!(kind_of(&deleted, "delete", "db"), ["namespace"]);
    assert_eq!(kind_of(&deleted, "delete", "ve-db"), ["veth"]);
    assert!(
        kind_of(&created, "create", "eth0")
            .iter()
            .all(|k| *k == "veth")
    );
}

#[test]
fn change_numbers_are_json_numbers() {
    let d = topology();
    let p = plan(&d, &Observed::default(), &State::default(), false).unwrap();
    let json =
        serde_json::to_value(p.changes.iter().map(Change::summary).collect::<Vec<_>>()).unwrap();
    let changes = json.as_array().unwrap();
    let veth = changes.iter().find(|c| c["kind"] == "veth").unwrap();
    assert!(veth["mtu"].is_u64(), "{veth}");
    let addr = changes.iter().find(|c| c["kind"] == "address").unwrap();
    assert_eq!(addr["prefix_len"], 24, "{addr}");
    let route = changes.iter().find(|c| c["kind"] == "route").unwrap();
    assert!(
        route["table"].is_u64() && route["prefix_len"].is_u64(),
        "{route}"
    );
}

#[test]
fn a_port_moved_to_its_bridge_gets_its_port_flags_after_the_move() {
    let d = topology();
    let mut o = converged(&d);
    // ve-db hangs off another bridge, with the flags it had there.
    let h = o.host.links.iter_mut().find(|l| l.name == "ve-db").unwrap();
    h.master = Some(999);
    let p = plan(&d, &o, &recorded(&d), false).unwrap();
    assert_eq!(
        render(&p),
        "~ veth ve-db (master br0)\n~ veth ve-db (hairpin port)\n",
        "the kernel resets port flags on a move, so they follow it"
    );
}
