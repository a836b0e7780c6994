use super::*;
use crate::config;
use crate::testutil::golden;

fn load(name: &str) -> crate::model::Desired {
    let path = format!("{}/testdata/nft/{name}", env!("CARGO_MANIFEST_DIR"));
    config::load(std::path::Path::new(&path)).expect("valid test config")
}

#[test]
fn no_publish_and_no_masquerade_means_no_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/plan/topology.toml");
    let d = config::load(std::path::Path::new(path)).unwrap();
    assert!(render(&d).is_none());
}

#[test]
fn publishes_render_into_maps_not_rules() {
    let d = load("publish.toml");
    let r = render(&d).expect("a table");
    golden(
        "nft/publish.json",
        &(serde_json::to_string_pretty(&r.commands).unwrap() + "\n"),
    );
    // Four DNAT rules per chain whatever the number of publishes.
    assert_eq!(r.rules, 16);
    assert_eq!(r.elements, 2 + 11 + 1);
}

#[test]
fn fingerprint_changes_with_content_only() {
    let d = load("publish.toml");
    let a = render(&d).unwrap();
    assert_eq!(a.fingerprint, render(&d).unwrap().fingerprint);
    let mut e = d.clone();
    e.namespaces.get_mut("web").unwrap().publish.pop();
    assert_ne!(a.fingerprint, render(&e).unwrap().fingerprint);
}

#[test]
fn summarize_reads_marker_and_counts_rules() {
    let listing = serde_json::json!({"nftables": [
        {"metainfo": {}},
        {"table": {"family": "inet", "name": "netd"}},
        {"chain": {"family": "inet", "table": "filter", "name": "forward", "hook": "forward"}},
        {"rule": {"family": "inet", "table": "netd", "chain": "forward", "comment": "netd 0123", "expr": []}},
        {"rule": {"family": "inet", "table": "netd", "chain": "forward", "expr": []}},
        {"rule": {"family": "inet", "table": "filter", "chain": "forward", "handle": 7,
                  "comment": "netd: web 10.88.0.2 tcp 80", "expr": []}},
        {"rule": {"family": "inet", "table": "filter", "chain": "forward", "handle": 8,
                  "comment": "an admin's rule", "expr": []}},
    ]});
    let seen = apply::summarize(serde_json::from_value(listing).unwrap());
    assert_eq!(seen.table, Some((Some("0123".into()), 2)));
    assert_eq!(seen.tagged.len(), 1);
    assert_eq!(seen.tagged[0].handle, 7);
    assert_eq!(seen.chains[0].3.as_deref(), Some("forward"));
}
