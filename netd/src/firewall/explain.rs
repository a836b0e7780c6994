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

use super::fix::{Fix, fixes};
use super::flow::{Flow, Iface};
use super::host::HostFacts;
use super::kernel;
use super::nat_effect::{NatEffect, nat_effect};
use super::outcome::{
    Branch, ChainPass, Decided, Decision, Explanation, FlowVerdict, HookPass, HostEffect, Outcome,
    RuleRef,
};
use super::packet::{Packet, Phase};
use super::prio;
use super::ruleset::{BaseChain, Chain, Family, Hook, Policy, Ruleset, Table};
use super::value::Ctx;
use super::walk::walk_base_chain;

/// Whether a table's base chain at `hook` sees the flow's packets: by
/// family, and for ingress and egress chains by the device they are bound
/// to. None when that device may or may not be the packet's.
fn sees(table: Family, base: &BaseChain, pkt: &Packet<'_>) -> Option<bool> {
    let family = match table {
        Family::Inet => true,
        Family::Ip => !pkt.flow.is_ipv6(),
        Family::Ip6 => pkt.flow.is_ipv6(),
        Family::Netdev => matches!(base.hook, Hook::Ingress | Hook::Egress),
        // bridge and arp chains are not on the routed path netd publishes
        // through.
        _ => false,
    };
    if !family {
        return Some(false);
    }
    let dev = match base.hook {
        Hook::Ingress => pkt.iif(),
        Hook::Egress => pkt.oif(),
        _ => return Some(true),
    };
    let bound: Vec<&str> = base
        .dev
        .as_deref()
        .map_or(Vec::new(), |d| d.split(',').collect());
    match dev {
        None => Some(false),
        Some(Iface::Named(n)) => Some(bound.contains(&n.as_str())),
        Some(Iface::Unknown { not }) if bound.iter().all(|b| not.iter().any(|n| n == b)) => {
            Some(false)
        }
        Some(Iface::Unknown { .. }) => None,
    }
}

/// The priority at which netd's DNAT happens at `hook`.
fn dnat_prio(rs: &Ruleset, hook: Hook) -> Option<i32> {
    rs.table(Family::Inet, "netd")?
        .base_chains()
        .find(|(_, b)| b.hook == hook && b.kind == "nat")
        .map(|(_, b)| b.prio)
}

pub fn explain(rs: &Ruleset, flow: &Flow, host: &HostFacts) -> Explanation {
    let mut notes = Vec::new();
    let mut effects = kernel::effects(rs, flow, host);
    let dnat_hook = flow.dnat_hook();
    let dnat_at = dnat_prio(rs, dnat_hook).unwrap_or_else(|| {
        notes.push(format!(
            "table inet netd has no nat chain at {dnat_hook}: explained as if netd's DNAT happened at priority dstnat ({})",
            prio::DSTNAT
        ));
        prio::DSTNAT
    });
    if !host.read {
        notes.push(
            "the host's forwarding and localnet sysctls and iptables-legacy tables were not read"
                .into(),
        );
    }

    let mut walks: Vec<PhaseWalk> = Vec::new();
    for &phase in Phase::all(flow) {
        let w = walk_phase(rs, flow, phase, dnat_at, &mut notes, &mut effects);
        let dropped = w.verdict == FlowVerdict::Dropped;
        walks.push(w);
        if dropped {
            break;
        }
    }

    let dropped_walk = walks.iter().find(|w| w.verdict == FlowVerdict::Dropped);
    let undetermined_walk = walks
        .iter()
        .find(|w| w.verdict == FlowVerdict::Undetermined);
    let host_verdict = |v: FlowVerdict| effects.iter().any(|e| e.effect == v);
    let (verdict, decided_by) = if let Some(w) = dropped_walk {
        (FlowVerdict::Dropped, w.decided_by.clone())
    } else if host_verdict(FlowVerdict::Dropped) {
        (FlowVerdict::Dropped, None)
    } else if let Some(w) = undetermined_walk {
        (FlowVerdict::Undetermined, w.decided_by.clone())
    } else if host_verdict(FlowVerdict::Undetermined) {
        (FlowVerdict::Undetermined, None)
    } else {
        (FlowVerdict::Accepted, None)
    };

    if verdict == FlowVerdict::Dropped && dropped_walk.is_some() {
        let earlier: Vec<String> = walks
            .iter()
            .flat_map(|w| &w.hooks)
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
    let mut fix_list: Vec<Fix> = walks.iter().flat_map(|w| w.fixes.clone()).collect();
    let mut seen = std::collections::HashSet::new();
    fix_list.retain(|f| seen.insert(f.command.clone()));
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    let mut hooks_of = |phase: Phase| {
        walks
            .iter_mut()
            .find(|w| w.phase == phase)
            .map(|w| std::mem::take(&mut w.hooks))
            .unwrap_or_default()
    };
    let (hooks, reply, later) = (
        hooks_of(Phase::First),
        hooks_of(Phase::Reply),
        hooks_of(Phase::Later),
    );
    Explanation {
        flow: flow.clone(),
        verdict,
        decided_by,
        hooks,
        reply,
        later,
        host: effects,
        fixes: fix_list,
        notes,
    }
}

/// One packet's way through every hook.
struct PhaseWalk {
    phase: Phase,
    hooks: Vec<HookPass>,
    verdict: FlowVerdict,
    decided_by: Option<Decided>,
    fixes: Vec<Fix>,
}

fn walk_phase(
    rs: &Ruleset,
    flow: &Flow,
    phase: Phase,
    dnat_at: i32,
    notes: &mut Vec<String>,
    effects: &mut Vec<HostEffect>,
) -> PhaseWalk {
    let mut walk = PhaseWalk {
        phase,
        hooks: Vec::new(),
        verdict: FlowVerdict::Accepted,
        decided_by: None,
        fixes: Vec::new(),
    };
    let dnat_hook = flow.dnat_hook();
    for &hook in phase.hooks(flow.from_host) {
        let pkt_of = |b: &BaseChain| Packet::at(flow, phase, hook, b.prio, dnat_at);
        let mut chains: Vec<(&Table, &Chain, &BaseChain, Option<bool>)> = rs
            .tables
            .iter()
            .flat_map(|t| t.base_chains().map(move |(c, b)| (t, c, b)))
            .filter(|(_, _, b)| b.hook == hook)
            .map(|(t, c, b)| (t, c, b, sees(t.family, b, &pkt_of(b))))
            .filter(|(_, _, _, sees)| *sees != Some(false))
            .collect();
        chains.sort_by_key(|(_, _, b, _)| b.prio);
        if chains.is_empty() && matches!(hook, Hook::Ingress | Hook::Egress) {
            continue;
        }
        let first_pkt = chains.first().map_or_else(
            || Packet::at(flow, phase, hook, 0, dnat_at),
            |(_, _, b, _)| pkt_of(b),
        );
        let mut pass = HookPass {
            hook,
            packet: first_pkt.describe(),
            chains: Vec::new(),
        };
        let mut dropped = false;
        for (table, chain, base, certain) in chains {
            let pkt = pkt_of(base);
            let mut cp = ChainPass {
                family: table.family,
                table: table.name.clone(),
                chain: chain.name.clone(),
                owner: table.owner,
                kind: base.kind.clone(),
                priority: base.prio,
                after_dnat: pkt.translated,
                outcome: None,
                skipped: None,
            };
            if dropped {
                // Listed all the same: an accept here would not have helped.
                cp.skipped = Some("not reached: the packet is dropped before".into());
                pass.chains.push(cp);
                continue;
            }
            if base.kind == "nat" && !phase.sees_nat() {
                cp.skipped = Some(
                    "nat chains see only a connection's first packet; the kernel applies the mapping it chose".into(),
                );
                pass.chains.push(cp);
                continue;
            }
            if pkt.translated && hook == dnat_hook && base.kind == "nat" && phase == Phase::First {
                cp.skipped = Some(
                    "netd's DNAT already gave the connection its NAT mapping; later nat chains at this hook are not consulted".into(),
                );
                pass.chains.push(cp);
                continue;
            }
            let walked = walk_base_chain(table, chain, Ctx { table, pkt });
            let mut outcome = walked.outcome;
            notes.extend(walked.notes);
            if certain.is_none() && outcome.kind() != Some(true) {
                outcome = maybe_bound(table, base, outcome);
            }
            if hook == dnat_hook && base.kind == "nat" && phase == Phase::First {
                match nat_effect(flow, table, base, dnat_at, &outcome, &walked.nat_hits) {
                    NatEffect::None => {}
                    NatEffect::Note(n) => notes.push(n),
                    NatEffect::Doubt(reason) => effects.push(HostEffect {
                        effect: FlowVerdict::Undetermined,
                        reason,
                        check: format!(
                            "nft list chain {} {} {}",
                            table.family, table.name, chain.name
                        ),
                    }),
                    NatEffect::Diverts => {
                        // The first nat chain that maps a connection wins:
                        // netd's DNAT, later at this hook, is never consulted.
                        notes.push(format!(
                            "the connection is diverted by {} {} {} before netd's DNAT: it never reaches the namespace",
                            table.family, table.name, chain.name
                        ));
                        walk.verdict = FlowVerdict::Dropped;
                        walk.decided_by = Some(decided(phase, hook, table, chain, &outcome));
                        dropped = true;
                        cp.outcome = Some(outcome);
                        pass.chains.push(cp);
                        continue;
                    }
                    NatEffect::NotPublished => {
                        notes.push(format!(
                            "netd's {hook} chain does not DNAT this flow: is the publish applied (netd apply)? Without it the connection ends at the host's own port"
                        ));
                        walk.verdict = FlowVerdict::Dropped;
                        walk.decided_by = Some(decided(phase, hook, table, chain, &outcome));
                        dropped = true;
                        cp.outcome = Some(outcome);
                        pass.chains.push(cp);
                        continue;
                    }
                }
            }
            // A reply's possible drop, behind a rule explain cannot read, is
            // most often the firewall's own established rule: no fix for it.
            let drops = match (&outcome, phase) {
                (_, Phase::First) | (Outcome::Drop { .. }, _) => outcome.drops(),
                _ => Vec::new(),
            };
            for d in drops {
                walk.fixes.extend(fixes(flow, hook, table, pkt, d));
            }
            match &outcome {
                Outcome::Drop { .. } => {
                    walk.verdict = FlowVerdict::Dropped;
                    walk.decided_by = Some(decided(phase, hook, table, chain, &outcome));
                    dropped = true;
                }
                Outcome::Undetermined { .. } if walk.decided_by.is_none() => {
                    walk.verdict = FlowVerdict::Undetermined;
                    walk.decided_by = Some(decided(phase, hook, table, chain, &outcome));
                }
                _ => {}
            }
            cp.outcome = Some(outcome);
            pass.chains.push(cp);
        }
        walk.hooks.push(pass);
        if dropped {
            break;
        }
    }
    walk
}

/// The outcome of a chain bound to a device the packet may or may not
/// come in (or go out) by.
fn maybe_bound(table: &Table, base: &BaseChain, outcome: Outcome) -> Outcome {
    let dev = base
        .dev
        .clone()
        .unwrap_or_else(|| "a device nft did not list".into());
    Outcome::Undetermined {
        at: RuleRef {
            family: table.family,
            table: table.name.clone(),
            chain: String::new(),
            handle: 0,
            position: 0,
            text: format!("{} chain on device {dev}", base.hook),
        },
        reason: format!(
            "the chain is bound to {dev}, and which interface the packet uses is not known"
        ),
        branches: vec![
            Branch {
                assume: format!("the packet uses {dev}"),
                outcome,
            },
            Branch {
                assume: format!("the packet does not use {dev}"),
                outcome: Outcome::Accept {
                    decision: Decision::Policy {
                        family: table.family,
                        table: table.name.clone(),
                        chain: String::new(),
                        reached_end_of: String::new(),
                        policy: Policy::Accept,
                    },
                },
            },
        ],
    }
}

fn decided(phase: Phase, hook: Hook, table: &Table, chain: &Chain, outcome: &Outcome) -> Decided {
    Decided {
        packet: phase,
        hook,
        family: table.family,
        table: table.name.clone(),
        chain: chain.name.clone(),
        outcome: outcome.clone(),
    }
}

impl Explanation {
    /// The text `netd firewall explain` prints for this flow.
    pub fn text(&self) -> String {
        super::report::explanation_text(self)
    }
}
