//! Pairing `nft -j`'s iptables-nft rules with `iptables-nft-save`'s `-A`
//! lines, to give each xt match its options. Both list a chain's rules in
//! order, so rule i is line i — but only when the two agree on the chain's
//! length and on each rule's xt matches and jump; otherwise (the ruleset
//! changed between the two reads, a line did not parse) the chain's
//! matches stay unknown: a wrong pairing would give a confident wrong
//! answer.

use super::expr::{Stmt, Verdict};
use super::owner::is_xtables;
use super::ruleset::{Chain, Family, Rule, Ruleset};
use super::xt_save::{SaveRule, XtMatch, XtSave};

/// The families whose tables iptables-nft wrote: the save tools to run.
pub fn xtables_families(rs: &Ruleset) -> Vec<Family> {
    [Family::Ip, Family::Ip6]
        .into_iter()
        .filter(|f| rs.tables.iter().any(|t| t.family == *f && is_xtables(t)))
        .collect()
}

fn has_xt_match(c: &Chain) -> bool {
    c.rules.iter().flat_map(|r| &r.stmts).any(|s| {
        matches!(
            s,
            Stmt::Xt {
                target: false,
                options: None,
                ..
            }
        )
    })
}

/// Fills in the options of the xt matches of `rs` from `save`. A chain of a
/// table `save` lists that cannot be paired is left as it was, with a
/// warning; tables `save` does not list are left alone.
pub fn attach_xt_save(rs: &mut Ruleset, save: &XtSave) {
    let mut warnings = Vec::new();
    for t in &mut rs.tables {
        if !matches!(t.family, Family::Ip | Family::Ip6) || !save.has_table(t.family, &t.name) {
            continue;
        }
        for c in t.chains.iter_mut().filter(|c| has_xt_match(c)) {
            let why = match save.rules(t.family, &t.name, &c.name) {
                None => Some("iptables-nft-save does not list it".to_string()),
                Some(lines) if lines.len() != c.rules.len() => Some(format!(
                    "iptables-nft-save lists {} rules, nft {}",
                    lines.len(),
                    c.rules.len()
                )),
                Some(lines) => pair(&c.rules, lines)
                    .map(|options| fill(&mut c.rules, options))
                    .err(),
            };
            if let Some(why) = why {
                warnings.push(format!(
                    "the options of the iptables matches of {} {} {} are not known: {why}",
                    t.family, t.name, c.name
                ));
            }
        }
    }
    rs.warnings.extend(warnings);
}

/// For each rule, the options of its xt matches in order; Err at the first
/// rule whose line does not agree with it.
fn pair<'a>(rules: &[Rule], lines: &'a [SaveRule]) -> Result<Vec<Vec<&'a XtMatch>>, String> {
    rules
        .iter()
        .zip(lines)
        .enumerate()
        .map(|(i, (rule, line))| {
            pair_rule(rule, line).ok_or_else(|| {
                format!(
                    "rule {} (handle {}) does not agree with its iptables-nft-save line",
                    i + 1,
                    rule.handle
                )
            })
        })
        .collect()
}

/// The save line's matches for the rule's xt matches. iptables-nft turns
/// some matches (`-m tcp`, `-m comment`, `-m limit`, ...) into native
/// expressions, so the line's matches of names the rule has no xt match of
/// are skipped; those of the names it has must be exactly its xt matches,
/// in order.
fn pair_rule<'a>(rule: &Rule, line: &'a SaveRule) -> Option<Vec<&'a XtMatch>> {
    let names: Vec<&str> = rule
        .stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Xt {
                target: false,
                name,
                ..
            } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let matches: Vec<&XtMatch> = line
        .matches
        .iter()
        .filter(|m| names.contains(&m.name.as_str()))
        .collect();
    if matches
        .iter()
        .map(|m| m.name.as_str())
        .ne(names.iter().copied())
    {
        return None;
    }
    let jump_agrees = rule.stmts.iter().all(|s| match s {
        Stmt::Xt {
            target: true, name, ..
        } => line.jump.as_deref() == Some(name.as_str()),
        Stmt::Verdict(Verdict::Jump(c)) => !line.goto && line.jump.as_deref() == Some(c.as_str()),
        Stmt::Verdict(Verdict::Goto(c)) => line.goto && line.jump.as_deref() == Some(c.as_str()),
        _ => true,
    });
    jump_agrees.then_some(matches)
}

fn fill(rules: &mut [Rule], options: Vec<Vec<&XtMatch>>) {
    for (rule, opts) in rules.iter_mut().zip(options) {
        let mut opts = opts.into_iter();
        for s in &mut rule.stmts {
            if let Stmt::Xt {
                target: false,
                options,
                ..
            } = s
            {
                *options = opts.next().cloned();
            }
        }
    }
}
