use std::path::{Path, PathBuf};

use super::{errors, load, net, parse, single_error, testdata};
use crate::config::policy::NAMED;
use crate::model::{ChainRef, Policy, PolicyMode, PortRange, Proto};
use crate::testutil::golden;

fn policy_of(text: &str) -> Policy {
    parse(text, "netd.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .policy
}

fn chain(family: &str, table: &str, chain: &str) -> ChainRef {
    ChainRef {
        family: family.into(),
        table: table.into(),
        chain: chain.into(),
    }
}

/// A directory of its own for one test, emptied first.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netd-config-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn no_policy_is_respect() {
    assert_eq!(policy_of(""), Policy::default());
    assert_eq!(Policy::default().mode, PolicyMode::Respect);
}

#[test]
fn named_policies_are_built_in() {
    for (name, _) in NAMED {
        let p = policy_of(&format!("[daemon]\npolicy = \"{name}\"\n"));
        assert_eq!(p.source, None, "{name}");
    }
    assert_eq!(
        policy_of("[daemon]\npolicy = \"respect\"\n"),
        Policy::default()
    );
    let integrate = policy_of("[daemon]\npolicy = \"integrate\"\n");
    assert_eq!(integrate.mode, PolicyMode::Integrate);
    assert_eq!(
        integrate.integrate_chains,
        [
            chain("inet", "filter", "forward"),
            chain("inet", "filter", "input")
        ]
    );
    let strict = policy_of("[daemon]\npolicy = \"strict\"\n");
    assert_eq!(strict.mode, PolicyMode::Strict);
    assert_eq!(
        strict.allow_ports,
        [
            (Proto::Tcp, PortRange::single(80)),
            (Proto::Tcp, PortRange::single(443)),
            (Proto::Udp, PortRange::single(53)),
        ]
    );
    assert!(strict.allow_addresses.is_empty());
}

#[test]
fn policy_path_is_read_from_the_config_files_directory() {
    let dir = scratch("path");
    std::fs::create_dir(dir.join("policies")).unwrap();
    std::fs::write(
        dir.join("policies/mine.toml"),
        "mode = \"strict\"\n\n[strict]\nallow_ports = [\"tcp:8000-8100\"]\n\
         allow_addresses = [\"192.0.2.0/24\", \"2001:db8::/32\", \"198.51.100.7\"]\n\n\
         [[integrate.chain]]\nfamily = \"ip\"\ntable = \"filter\"\nchain = \"FORWARD\"\n",
    )
    .unwrap();
    let config = dir.join("netd.toml");
    std::fs::write(&config, "[daemon]\npolicy = \"policies/mine.toml\"\n").unwrap();

    let p = load(&config).unwrap_or_else(|e| panic!("{e}")).policy;
    assert_eq!(p.mode, PolicyMode::Strict);
    assert_eq!(p.source, Some(dir.join("policies/mine.toml")));
    assert_eq!(
        p.allow_ports,
        [(
            Proto::Tcp,
            PortRange {
                start: 8000,
                end: 8100
            }
        )]
    );
    assert_eq!(
        p.allow_addresses,
        [
            net("192.0.2.0/24"),
            net("2001:db8::/32"),
            net("198.51.100.7/32")
        ]
    );
    assert_eq!(
        p.integrate_chains,
        [chain("ip", "filter", "FORWARD")],
        "kept for a switch of mode"
    );

    // An absolute path is taken as it is.
    let text = format!(
        "[daemon]\npolicy = \"{}\"\n",
        dir.join("policies/mine.toml").display()
    );
    assert_eq!(policy_of(&text).mode, PolicyMode::Strict);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_policy_name_is_not_taken_for_a_path() {
    let e = single_error("[daemon]\npolicy = \"integrated\"\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (2, 10, "daemon.policy"));
    assert!(e.message.starts_with("unknown policy `integrated`"), "{e}");
}

#[test]
fn unreadable_policy_file_is_an_error_at_the_policy_value() {
    let e = single_error("[daemon]\npolicy = \"./no-such-policy.toml\"\n");
    assert_eq!(
        (e.file.as_str(), e.line, e.key.as_str()),
        ("netd.toml", 2, "daemon.policy")
    );
    assert!(
        e.message
            .starts_with("cannot read the policy file `./no-such-policy.toml`"),
        "{e}"
    );
}

/// Errors inside a policy file carry its own name, line and key, and come
/// after those of the config. Rewrite with `UPDATE_GOLDEN=1`.
#[test]
fn policy_file_mistakes_are_reported_in_the_policy_file() {
    let errs = load(&testdata("bad-policy.toml")).expect_err("the policy has mistakes");
    let dir = format!("{}/", testdata(".").parent().unwrap().display());
    let rendered = format!("{errs}\n").replace(&dir, "");
    golden("config/bad-policy.golden", &rendered);
}

#[test]
fn policy_file_schema_errors_are_located_in_it() {
    let dir = scratch("schema");
    let cases = [
        (
            "mode = \"respect\"\ncolour = \"red\"\n",
            (2, 1),
            "colour",
            "unknown key `colour`",
        ),
        (
            "[strict]\nallow_ports = []\n",
            (1, 1),
            "",
            "missing required key `mode`",
        ),
        (
            "mode = \"integrate\"\n",
            (1, 8),
            "mode",
            "needs at least one [[integrate.chain]]",
        ),
    ];
    for (i, (text, (line, column), key, needle)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("p{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let config = format!("[daemon]\npolicy = \"{}\"\n", path.display());
        let errs = errors(&config);
        let e = &errs.0[0];
        assert!(
            errs.len() == 1
                && Path::new(&e.file) == path
                && (e.line, e.column) == (line, column)
                && e.key == key
                && e.message.contains(needle),
            "for\n{text}\nwant one error in {} at {line}:{column} {key}: {needle:?}, got:\n{errs}",
            path.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
