//! `netd firewall explain`: what the host's ruleset does to the first packet
//! of a connection to a published port. A pure function of the ruleset and
//! the flow.
//!
//! How nftables decides, and so how this walks: at each hook every base
//! chain of every table of the packet's family runs, in priority order. In
//! a chain, rules run in order, following jump/goto/return; a chain's
//! policy applies when no rule decides. An accept ends only that base chain
//! — the next base chain at the same hook still runs — while a drop ends
//! everything. So an accept in `table inet netd` cannot save a packet that
//! another table drops, and netd does not try; it says which rule drops it.
//!
//! A rule that cannot be evaluated (an iptables match whose options `nft -j`
//! does not show, an unknown expression, a value the flow does not define)
//! is followed both ways. When both ways end the same, the verdict stands;
//! otherwise the chain is undetermined at that rule, and both outcomes are
//! reported rather than guessed.

use super::expr::{NatKind, Stmt};
use super::fix::{Fix, fixes};
use super::flow::Flow;
use super::outcome::{
    ChainPass, Decided, Decision, Explanation, FlowVerdict, HookPass, Outcome, RuleRef,
};
use super::owner::Owner;
use super::prio;
use super::ruleset::{BaseChain, Chain, Family, Hook, Ruleset, Table};
use super::value::Ctx;
use super::walk::walk_base_chain;

fn family_matches(table: Family, flow: &Flow) -> bool {
    match table {
        Family::Inet => true,
        Family::Ip => !flow.is_ipv6(),
        Family::Ip6 => flow.is_ipv6(),
        // bridge, arp and netdev chains are not on the routed path netd
        // publishes through.
        _ => false,
    }
}

/// The priority at which netd's DNAT happens at `hook`.
fn dnat_prio(rs: &Ruleset, hook: Hook) -> Option<i32> {
    rs.table(Family::Inet, "netd")?
        .base_chains()
        .find(|(_, b)| b.hook == hook && b.kind == "nat")
        .map(|(_, b)| b.prio)
}

pub fn explain(rs: &Ruleset, flow: &Flow) -> Explanation {
    let mut notes = Vec::new();
    let first = flow.hooks()[0];
    let dnat_at = dnat_prio(rs, first).unwrap_or_else(|| {
        notes.push(format!(
            "table inet netd has no nat chain at {first}: explained as if netd's DNAT happened at priority dstnat ({})",
            prio::DSTNAT
        ));
        prio::DSTNAT
    });

    let mut hooks = Vec::new();
    let mut verdict = FlowVerdict::Accepted;
    let mut decided_by: Option<Decided> = None;
    let mut fix_list: Vec<Fix> = Vec::new();

    for &hook in flow.hooks() {
        let mut chains: Vec<(&Table, &Chain, &BaseChain)> = rs
            .tables
            .iter()
            .filter(|t| family_matches(t.family, flow))
            .flat_map(|t| t.base_chains().map(move |(c, b)| (t, c, b)))
            .filter(|(_, _, b)| b.hook == hook)
            .collect();
        chains.sort_by_key(|(_, _, b)| b.prio);
        let translated = |b: &BaseChain| hook != first || b.prio > dnat_at;
        let mut pass = HookPass {
            hook,
            packet: flow
                .packet(
                    hook,
                    chains
                        .first()
                        .map_or(hook != first, |(_, _, b)| translated(b)),
                )
                .describe(),
            chains: Vec::new(),
        };
        let mut dropped = false;
        for (table, chain, base) in chains {
            let after = translated(base);
            let mut cp = ChainPass {
                family: table.family,
                table: table.name.clone(),
                chain: chain.name.clone(),
                owner: table.owner,
                kind: base.kind.clone(),
                priority: base.prio,
                after_dnat: after,
                outcome: None,
                skipped: None,
            };
            if dropped {
                // Listed all the same: an accept here would not have helped.
                cp.skipped = Some("not reached: the packet is dropped before".into());
                pass.chains.push(cp);
                continue;
            }
            if after && hook == first && base.kind == "nat" {
                cp.skipped = Some(
                    "netd's DNAT already gave the connection its NAT mapping; later nat chains at this hook are not consulted".into(),
                );
                pass.chains.push(cp);
                continue;
            }
            let pkt = flow.packet(hook, after);
            let walked = walk_base_chain(table, chain, Ctx { table, pkt });
            let outcome = walked.outcome;
            notes.extend(walked.notes);
            let diverted = hook == first
                && base.kind == "nat"
                && nat_notes(&mut notes, table, base, dnat_at, &outcome, &walked.nat_hits);
            if diverted {
                // The first nat chain that maps a connection wins: netd's
                // DNAT, later at this hook, is never consulted for it.
                notes.push(format!(
                    "the connection is diverted by {} {} {} before netd's DNAT: it never reaches the namespace",
                    table.family, table.name, chain.name
                ));
                verdict = FlowVerdict::Dropped;
                decided_by = Some(decided(hook, table, chain, &outcome));
                dropped = true;
                cp.outcome = Some(outcome);
                pass.chains.push(cp);
                continue;
            }
            for d in outcome.drops() {
                fix_list.extend(fixes(flow, hook, table, pkt, d));
            }
            match &outcome {
                Outcome::Drop { .. } => {
                    verdict = FlowVerdict::Dropped;
                    decided_by = Some(decided(hook, table, chain, &outcome));
                    dropped = true;
                }
                Outcome::Undetermined { .. } if decided_by.is_none() => {
                    verdict = FlowVerdict::Undetermined;
                    decided_by = Some(decided(hook, table, chain, &outcome));
                }
                _ => {}
            }
            cp.outcome = Some(outcome);
            pass.chains.push(cp);
        }
        hooks.push(pass);
        if dropped {
            break;
        }
    }

    if verdict == FlowVerdict::Dropped {
        let earlier: Vec<String> = hooks
            .iter()
            .flat_map(|h| &h.chains)
            .filter(|c| matches!(c.outcome, Some(Outcome::Undetermined { .. })))
            .map(|c| format!("{} {} {}", c.family, c.table, c.chain))
            .collect();
        if !earlier.is_empty() {
            notes.push(format!(
                "dropped whatever {} decide{}: their outcome could not be determined, but the drop comes after them",
                earlier.join(", "),
                if earlier.len() == 1 { "s" } else { "" }
            ));
        }
    }
    fix_list.dedup();
    let mut seen = std::collections::HashSet::new();
    fix_list.retain(|f| seen.insert(f.command.clone()));
    notes.dedup();
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    Explanation {
        flow: flow.clone(),
        verdict,
        decided_by,
        hooks,
        fixes: fix_list,
        notes,
    }
}

fn decided(hook: Hook, table: &Table, chain: &Chain, outcome: &Outcome) -> Decided {
    Decided {
        hook,
        family: table.family,
        table: table.name.clone(),
        chain: chain.name.clone(),
        outcome: outcome.clone(),
    }
}

/// Notes on NAT at the DNAT hook: another table's DNAT that comes first
/// takes the connection elsewhere; netd's own not matching means the
/// publish is not in the kernel. True when a foreign rule certainly maps
/// the connection before netd's chain runs.
fn nat_notes(
    notes: &mut Vec<String>,
    table: &Table,
    base: &BaseChain,
    dnat_at: i32,
    outcome: &Outcome,
    hits: &[RuleRef],
) -> bool {
    let mut diverts = false;
    if table.owner == Owner::Netd {
        if matches!(
            outcome,
            Outcome::Accept {
                decision: Decision::Policy { .. }
            }
        ) {
            notes.push(format!(
                "netd's {} chain does not DNAT this flow: is the publish applied (netd apply)?",
                base.hook
            ));
        }
        return false;
    }
    for r in hits {
        let rule = table
            .chain(&r.chain)
            .and_then(|c| c.rules.iter().find(|x| x.handle == r.handle));
        let dnats = rule.is_some_and(|rule| {
            rule.stmts.iter().any(|s| match s {
                Stmt::Nat(n) => matches!(n.kind, NatKind::Dnat | NatKind::Redirect),
                Stmt::Xt { target: true, name } => name == "DNAT" || name == "REDIRECT",
                _ => false,
            })
        });
        if !dnats {
            continue;
        }
        let certain = matches!(outcome, Outcome::Accept { decision: Decision::Rule(d) } if d == r);
        if certain && base.prio < dnat_at {
            diverts = true;
            continue;
        }
        let order = if base.prio == dnat_at {
            "at the same priority as netd's (the chain registered last runs first)"
        } else {
            "before netd's"
        };
        notes.push(format!(
            "rule {r} {} this connection's destination {order}: if it runs first, netd's publish does not apply",
            if certain { "rewrites" } else { "may rewrite" }
        ));
    }
    diverts
}

impl Explanation {
    /// The text `netd firewall explain` prints for this flow.
    pub fn text(&self) -> String {
        super::report::explanation_text(self)
    }
}
