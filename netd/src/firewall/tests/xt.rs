//! iptables matches with the options iptables-nft-save gives: the parser
//! on the captured fixtures, the pairing with `nft -j`'s rules, and explain
//! on ufw's and Docker's rulesets.

use super::*;

mod eval;

fn read_source(file: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/firewall")
        .join(file);
    std::fs::read_to_string(path).ok()
}

/// The iptables-save sources of a fixture (none for nft-written ones).
pub(super) fn fixture_save(name: &str) -> XtSave {
    let mut save = XtSave::default();
    for (suffix, family) in [("rules", Family::Ip), ("rules6", Family::Ip6)] {
        if let Some(text) = read_source(&format!("{name}.{suffix}")) {
            save.extend(XtSave::parse(family, &text));
        }
    }
    save
}

fn opt(name: &str, neg: bool, args: &[&str]) -> XtOpt {
    XtOpt {
        name: name.into(),
        neg,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

#[test]
fn save_parser_reads_ufw_and_docker() {
    let save = fixture_save("ufw-default");
    let input = save
        .rules(Family::Ip, "filter", "ufw-before-input")
        .expect("chain");
    assert_eq!(input.len(), 13);
    assert_eq!(input[0].matches, []);
    assert_eq!(input[1].matches[0].name, "conntrack");
    assert_eq!(
        input[1].matches[0].opts,
        [opt("ctstate", false, &["RELATED,ESTABLISHED"])]
    );
    assert_eq!(input[1].jump.as_deref(), Some("ACCEPT"));
    assert_eq!(input[8].matches[0].opts.len(), 2, "{:?}", input[8]);
    // Declared, no rules; IPv6 from its own file.
    assert_eq!(
        save.rules(Family::Ip, "filter", "ufw-user-forward"),
        Some(&[][..])
    );
    assert!(
        save.rules(Family::Ip6, "filter", "ufw6-before-input")
            .is_some()
    );
    assert!(
        save.rules(Family::Ip6, "filter", "ufw-before-input")
            .is_none()
    );

    let save = fixture_save("docker-iptables");
    let dnat = &save.rules(Family::Ip, "nat", "DOCKER").expect("chain")[1];
    assert_eq!(dnat.matches.len(), 1);
    assert_eq!(dnat.matches[0].opts, [opt("dport", false, &["8080"])]);
    assert_eq!(dnat.jump.as_deref(), Some("DNAT"));
}

#[test]
fn save_parser_negation_quotes_and_bad_lines() {
    let text = r#"*filter
:INPUT ACCEPT [0:0]
:X - [0:0]
:Y - [0:0]
[3:180] -A INPUT -m addrtype ! --dst-type LOCAL,BROADCAST --limit-iface-in -m comment --comment "say \"hi\" there" -g X
-A X ! -i eth0 -p tcp -m multiport --dports 80,443:445 -m tcp ! --syn -j LOG --log-prefix "[X] "
-A Y -m comment --comment "unterminated
COMMIT
"#;
    let save = XtSave::parse(Family::Ip, text);
    let r = &save.rules(Family::Ip, "filter", "INPUT").expect("INPUT")[0];
    assert_eq!(
        r.matches[0].opts,
        [
            opt("dst-type", true, &["LOCAL,BROADCAST"]),
            opt("limit-iface-in", false, &[])
        ]
    );
    assert_eq!(
        r.matches[1].opts,
        [opt("comment", false, &["say \"hi\" there"])]
    );
    assert!(r.goto);
    assert_eq!(r.matches[1].to_string(), r#"--comment "say \"hi\" there""#);
    let r = &save.rules(Family::Ip, "filter", "X").expect("X")[0];
    let names: Vec<&str> = r.matches.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["multiport", "tcp"]);
    assert_eq!(r.matches[1].opts, [opt("syn", true, &[])]);
    assert_eq!(r.jump.as_deref(), Some("LOG"));
    // A line that does not parse: its chain cannot be paired.
    assert!(save.rules(Family::Ip, "filter", "Y").is_none());
}

/// Every xt match of the rulesets got its options.
#[test]
fn attach_fills_every_xt_match_of_the_fixtures() {
    for name in ["ufw-default", "docker-iptables"] {
        let rs = fixture(name);
        assert_eq!(rs.warnings, Vec::<String>::new(), "{name}");
        let unknown: Vec<String> = rs
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules)
            .filter(|r| {
                r.stmts.iter().any(|s| {
                    matches!(
                        s,
                        Stmt::Xt {
                            target: false,
                            options: None,
                            ..
                        }
                    )
                })
            })
            .map(|r| r.text())
            .collect();
        assert_eq!(unknown, Vec::<String>::new(), "{name}");
    }
    let rs = fixture("ufw-default");
    let c = rs
        .table(Family::Ip, "filter")
        .and_then(|t| t.chain("ufw-before-forward"))
        .expect("chain");
    assert_eq!(
        c.rules[0].text(),
        "xt match conntrack --ctstate RELATED,ESTABLISHED counter accept"
    );
}

#[test]
fn attach_leaves_a_chain_that_does_not_agree_unknown() {
    let text = read_source("ufw-default.rules").expect("source");
    // The ruleset changed between the two reads: one rule less.
    let fewer = text.replace(
        "-A ufw-before-input -m conntrack --ctstate INVALID -j DROP\n",
        "",
    );
    // Same count, but another match where nft has conntrack.
    let other = text.replace(
        "-A ufw-before-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A ufw-before-forward -m state --state RELATED,ESTABLISHED -j ACCEPT",
    );
    for (save, chain) in [(fewer, "ufw-before-input"), (other, "ufw-before-forward")] {
        let mut rs = Ruleset::from_json(&fixture_json("ufw-default")).expect("parses");
        attach_xt_save(&mut rs, &XtSave::parse(Family::Ip, &save));
        let c = rs
            .table(Family::Ip, "filter")
            .and_then(|t| t.chain(chain))
            .expect("chain");
        assert!(c.rules.iter().flat_map(|r| &r.stmts).all(|s| !matches!(
            s,
            Stmt::Xt {
                options: Some(_),
                ..
            }
        )));
        assert_eq!(rs.warnings.len(), 1, "{:?}", rs.warnings);
        assert!(rs.warnings[0].contains(chain), "{:?}", rs.warnings);
        // Chains that agree still get their options.
        let t = rs.table(Family::Ip, "filter").expect("table");
        let out = t.chain("ufw-before-output").expect("chain");
        assert!(
            out.rules[1]
                .text()
                .contains("--ctstate RELATED,ESTABLISHED")
        );
    }
}

/// With no save output, ufw's conntrack rule is not guessed.
#[test]
fn ufw_without_save_output_is_undetermined() {
    let rs = Ruleset::from_json(&fixture_json("ufw-default")).expect("parses");
    let e = ex(&rs, &web4());
    assert_eq!(e.verdict, FlowVerdict::Undetermined, "{}", e.text());
    let Some(Decided {
        outcome: Outcome::Undetermined { at, reason, .. },
        ..
    }) = &e.decided_by
    else {
        panic!("want undetermined: {}", e.text());
    };
    assert_eq!(at.text, "xt match conntrack counter accept");
    assert!(reason.contains("iptables match conntrack"), "{reason}");
}
