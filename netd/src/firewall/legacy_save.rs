//! `iptables-legacy-save` / `ip6tables-legacy-save` output, read far enough
//! to know whether a legacy table can change a packet: its rule count and
//! the built-in chains whose policy is not ACCEPT. Pure: running the tool
//! is the engine's job.
//!
//! The format, one table at a time:
//!
//! ```text
//! *filter
//! :INPUT ACCEPT [0:0]        built-in chain, policy, [packets:bytes]
//! :ufw-user-input - [0:0]    user chain: no policy
//! -A INPUT -j ufw-user-input
//! COMMIT
//! ```
//!
//! Anything else is an error rather than a guess: a count netd cannot trust
//! must read as "contents unknown", never as an inert table.

use super::host::LegacyContents;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct LegacySaveError {
    pub line: usize,
    pub problem: String,
}

/// The tables of one `*-legacy-save` run, in the order printed, by name.
pub fn parse_legacy_save(text: &str) -> Result<Vec<(String, LegacyContents)>, LegacySaveError> {
    let mut tables = Vec::new();
    let mut open: Option<(String, LegacyContents)> = None;
    for (i, raw) in text.lines().enumerate() {
        let err = |problem: String| LegacySaveError {
            line: i + 1,
            problem,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            if let Some((prev, _)) = &open {
                return Err(err(format!(
                    "table {name} starts before table {prev}'s COMMIT"
                )));
            }
            if name.is_empty() {
                return Err(err("a table without a name".into()));
            }
            open = Some((name.to_string(), LegacyContents::default()));
            continue;
        }
        let Some((table, contents)) = open.as_mut() else {
            return Err(err(format!("`{line}` outside a table")));
        };
        if line == "COMMIT" {
            tables.extend(open.take());
        } else if let Some(chain) = line.strip_prefix(':') {
            let mut words = chain.split_whitespace();
            let (Some(name), Some(policy)) = (words.next(), words.next()) else {
                return Err(err(format!("chain line `{line}` in {table} has no policy")));
            };
            // `-` marks a user chain, which has no policy. The kernel allows
            // only ACCEPT and DROP as a built-in chain's policy.
            if policy != "-" && policy != "ACCEPT" {
                contents.non_accept_policies.push(name.to_string());
            }
        } else if is_rule(line) {
            contents.rules += 1;
        } else {
            return Err(err(format!(
                "`{line}` in table {table} is not a chain or a rule"
            )));
        }
    }
    match open {
        Some((table, _)) => Err(LegacySaveError {
            line: text.lines().count(),
            problem: format!("table {table} has no COMMIT"),
        }),
        None => Ok(tables),
    }
}

/// `-A CHAIN ...`, or `[packets:bytes] -A CHAIN ...` as `-c` prints it.
fn is_rule(line: &str) -> bool {
    let line = match line.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, r)| r.trim_start()),
        None => line,
    };
    line.strip_prefix("-A ")
        .is_some_and(|chain| !chain.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/firewall")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn contents(rules: usize, policies: &[&str]) -> LegacyContents {
        LegacyContents {
            rules,
            non_accept_policies: policies.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn the_filter_table_as_loading_it_leaves_it() {
        let tables = parse_legacy_save(&fixture("legacy-empty.save")).expect("parses");
        assert_eq!(tables, vec![("filter".to_string(), contents(0, &[]))]);
    }

    #[test]
    fn a_policy_drop_alone() {
        let tables = parse_legacy_save(&fixture("legacy-policy-drop.save")).expect("parses");
        assert_eq!(
            tables,
            vec![("filter".to_string(), contents(0, &["FORWARD"]))]
        );
    }

    #[test]
    fn ufw_rules_in_user_chains_count_and_their_chains_have_no_policy() {
        let v4 = parse_legacy_save(&fixture("legacy-ufw.save")).expect("parses");
        assert_eq!(
            v4,
            vec![("filter".to_string(), contents(66, &["INPUT", "FORWARD"]))]
        );
        let v6 = parse_legacy_save(&fixture("legacy-ufw.save6")).expect("parses");
        assert_eq!(
            v6,
            vec![("filter".to_string(), contents(104, &["INPUT", "FORWARD"]))]
        );
    }

    #[test]
    fn several_tables_with_counters() {
        let text = "*nat\n:PREROUTING ACCEPT [3:180]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
                    [3:180] -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
                    [0:0] -A DOCKER -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\nCOMMIT\n\
                    *raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        let tables = parse_legacy_save(text).expect("parses");
        assert_eq!(
            tables,
            vec![
                ("nat".to_string(), contents(2, &[])),
                ("raw".to_string(), contents(0, &[])),
            ]
        );
        assert_eq!(parse_legacy_save(""), Ok(vec![]), "no table loaded");
    }

    #[test]
    fn what_it_cannot_read_is_an_error_with_its_line() {
        let cases = [
            ("*filter\n:INPUT ACCEPT [0:0]\n", 2, "no COMMIT"),
            ("-A INPUT -j DROP\n", 1, "outside a table"),
            (
                "*filter\n-I INPUT -j DROP\nCOMMIT\n",
                2,
                "not a chain or a rule",
            ),
            ("*filter\n:INPUT\nCOMMIT\n", 2, "no policy"),
            ("*filter\n*nat\nCOMMIT\n", 2, "before table filter's COMMIT"),
            ("*filter\n-A \nCOMMIT\n", 2, "not a chain or a rule"),
        ];
        for (text, line, problem) in cases {
            let e = parse_legacy_save(text).expect_err(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.problem.contains(problem), "{text:?}: {e}");
        }
    }
}
