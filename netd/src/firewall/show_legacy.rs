//! The iptables-legacy part of `netd firewall show`. Legacy tables are a
//! second firewall that `nft list ruleset` does not show: a FORWARD DROP
//! there drops what every nftables table accepts. Show lists them, and
//! warns about any that can change a packet or whose contents are unknown.

use std::fmt::Write as _;

use super::host::LegacyTable;

/// The section listing the legacy tables; nothing when there are none.
pub(super) fn legacy_text(out: &mut String, legacy: &[LegacyTable]) {
    if legacy.is_empty() {
        return;
    }
    out.push_str("\niptables-legacy tables (nft cannot see their rules):\n");
    let names: Vec<String> = legacy
        .iter()
        .map(|t| format!("{} {}", t.family, t.name))
        .collect();
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for (t, name) in legacy.iter().zip(&names) {
        let inert = if t.is_inert() { "  (inert)" } else { "" };
        let _ = writeln!(out, "  {name:width$}  {}{inert}", t.summary());
    }
}

/// The warning for a table that may change packets; None for an inert one.
pub(super) fn legacy_warning(t: &LegacyTable) -> Option<String> {
    (!t.is_inert()).then(|| {
        format!(
            "iptables-legacy table {} {} is active ({}): nft cannot see it, so netd firewall explain cannot judge what it does; list it with `{} -t {} -S`",
            t.family,
            t.name,
            t.summary(),
            t.tool(),
            t.name
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{Family, HostFacts, LegacyContents, Ruleset, show};

    fn table(family: Family, name: &str, contents: Option<(usize, &[&str])>) -> LegacyTable {
        LegacyTable {
            family,
            name: name.to_string(),
            contents: contents.map(|(rules, policies)| LegacyContents {
                rules,
                non_accept_policies: policies.iter().map(|p| p.to_string()).collect(),
            }),
        }
    }

    fn facts(legacy: Vec<LegacyTable>) -> HostFacts {
        HostFacts {
            legacy,
            read: true,
            ..HostFacts::default()
        }
    }

    #[test]
    fn active_tables_are_listed_and_warned_about() {
        let s = show(
            &Ruleset::default(),
            &facts(vec![
                table(Family::Ip, "filter", Some((3, &["FORWARD"]))),
                table(Family::Ip, "nat", Some((0, &[]))),
                table(Family::Ip6, "filter", None),
            ]),
        );
        let text = s.text();
        assert!(
            text.contains(
                "iptables-legacy tables (nft cannot see their rules):\n\
                 \x20 ip filter   3 rules, FORWARD policy DROP\n\
                 \x20 ip nat      no rules, every policy ACCEPT  (inert)\n\
                 \x20 ip6 filter  contents unknown: ip6tables-legacy-save is not installed, failed or timed out\n"
            ),
            "{text}"
        );
        assert_eq!(
            s.warnings,
            vec![
                "iptables-legacy table ip filter is active (3 rules, FORWARD policy DROP): nft cannot see it, so netd firewall explain cannot judge what it does; list it with `iptables-legacy -t filter -S`",
                "iptables-legacy table ip6 filter is active (contents unknown: ip6tables-legacy-save is not installed, failed or timed out): nft cannot see it, so netd firewall explain cannot judge what it does; list it with `ip6tables-legacy -t filter -S`",
            ]
        );
        assert!(text.contains("warning: iptables-legacy table ip filter is active"));
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(
            json["legacy"],
            serde_json::json!([
                {"family": "ip", "name": "filter",
                 "contents": {"rules": 3, "non_accept_policies": ["FORWARD"]}},
                {"family": "ip", "name": "nat",
                 "contents": {"rules": 0, "non_accept_policies": []}},
                {"family": "ip6", "name": "filter", "contents": null},
            ])
        );
    }

    #[test]
    fn one_rule_or_a_policy_alone_is_not_inert() {
        for contents in [(1, &[][..]), (0, &["INPUT", "FORWARD"][..])] {
            let t = table(Family::Ip, "filter", Some(contents));
            assert!(!t.is_inert());
            assert!(legacy_warning(&t).is_some());
        }
        assert_eq!(
            table(Family::Ip, "filter", Some((1, &[]))).summary(),
            "1 rule, every policy ACCEPT"
        );
        assert_eq!(
            table(Family::Ip, "filter", Some((0, &["INPUT", "FORWARD"]))).summary(),
            "no rules, INPUT policy DROP, FORWARD policy DROP"
        );
    }

    #[test]
    fn no_legacy_tables_no_section() {
        let s = show(&Ruleset::default(), &facts(vec![]));
        assert!(!s.text().contains("iptables-legacy"), "{}", s.text());
        assert!(s.warnings.is_empty());
    }
}
