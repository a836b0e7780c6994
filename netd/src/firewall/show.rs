//! `netd firewall show`: the host ruleset as netd understands it — tables
//! and their owners, base chains with hook, type, priority and policy, the
//! order in which packets meet them, the iptables-legacy tables nft cannot
//! see, and what netd could not read.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::host::{HostFacts, LegacyTable};
use super::owner::Owner;
use super::prio;
use super::ruleset::{Family, Hook, Policy, Ruleset, Table};
use super::show_legacy::{legacy_text, legacy_warning};

#[derive(Debug, Clone, Serialize)]
pub struct Show {
    pub nft_version: Option<String>,
    pub tables: Vec<TableShow>,
    /// Base chains per hook, in the order packets meet them.
    pub hooks: Vec<HookShow>,
    /// iptables-legacy tables active in this network namespace.
    pub legacy: Vec<LegacyTable>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableShow {
    pub family: Family,
    pub name: String,
    pub handle: u64,
    pub owner: Owner,
    pub also: Vec<Owner>,
    pub chains: usize,
    pub rules: usize,
    pub sets: usize,
    pub maps: usize,
    pub base_chains: Vec<BaseChainShow>,
    pub opaque: Vec<OpaqueShow>,
    /// Objects of kinds netd does not model, by kind.
    pub other_objects: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseChainShow {
    pub name: String,
    pub handle: u64,
    pub hook: Hook,
    #[serde(rename = "type")]
    pub kind: String,
    pub priority: i32,
    pub priority_name: Option<String>,
    pub policy: Policy,
    pub device: Option<String>,
    pub rules: usize,
}

/// Statements netd keeps but cannot evaluate, by kind.
#[derive(Debug, Clone, Serialize)]
pub struct OpaqueShow {
    pub kind: String,
    pub rules: usize,
    /// The first rule with it: `CHAIN handle N: TEXT`.
    pub example: String,
}

/// The base chains an IPv4 (ip + inet tables), IPv6 (ip6 + inet) or other
/// family's packet meets at one hook.
#[derive(Debug, Clone, Serialize)]
pub struct HookShow {
    pub hook: Hook,
    /// `ipv4`, `ipv6`, or a family of its own (`bridge`, `netdev`, `arp`).
    pub packets: &'static str,
    pub chains: Vec<HookChain>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HookChain {
    pub family: Family,
    pub table: String,
    pub chain: String,
    pub owner: Owner,
    #[serde(rename = "type")]
    pub kind: String,
    pub priority: i32,
    pub policy: Policy,
}

/// The ruleset `rs` and the legacy tables of `facts`.
pub fn show(rs: &Ruleset, facts: &HostFacts) -> Show {
    let tables = rs.tables.iter().map(table_show).collect();
    let mut hooks: BTreeMap<(Hook, &'static str), Vec<HookChain>> = BTreeMap::new();
    for t in &rs.tables {
        let views: &[&'static str] = match t.family {
            Family::Ip => &["ipv4"],
            Family::Ip6 => &["ipv6"],
            Family::Inet => &["ipv4", "ipv6"],
            Family::Arp => &["arp"],
            Family::Bridge => &["bridge"],
            Family::Netdev => &["netdev"],
        };
        for (c, b) in t.base_chains() {
            for view in views {
                hooks.entry((b.hook, view)).or_default().push(HookChain {
                    family: t.family,
                    table: t.name.clone(),
                    chain: c.name.clone(),
                    owner: t.owner,
                    kind: b.kind.clone(),
                    priority: b.prio,
                    policy: b.policy,
                });
            }
        }
    }
    Show {
        nft_version: rs.nft_version.clone(),
        tables,
        hooks: hooks
            .into_iter()
            .map(|((hook, packets), mut chains)| {
                // Stable: equal priorities keep the dump's table order, which
                // is as good a guess as any (the kernel's order is undefined).
                chains.sort_by_key(|c| c.priority);
                HookShow {
                    hook,
                    packets,
                    chains,
                }
            })
            .collect(),
        legacy: facts.legacy.clone(),
        warnings: rs
            .warnings
            .iter()
            .cloned()
            .chain(facts.legacy.iter().filter_map(legacy_warning))
            .collect(),
    }
}

fn table_show(t: &Table) -> TableShow {
    let mut opaque: Vec<OpaqueShow> = Vec::new();
    for c in &t.chains {
        for r in &c.rules {
            let mut kinds: Vec<String> = r.stmts.iter().filter_map(|s| s.opaque_kind()).collect();
            kinds.dedup();
            for kind in kinds {
                match opaque.iter_mut().find(|o| o.kind == kind) {
                    Some(o) => o.rules += 1,
                    None => opaque.push(OpaqueShow {
                        kind,
                        rules: 1,
                        example: format!("{} handle {}: {}", c.name, r.handle, r.text()),
                    }),
                }
            }
        }
    }
    opaque.sort_by(|a, b| a.kind.cmp(&b.kind));
    TableShow {
        family: t.family,
        name: t.name.clone(),
        handle: t.handle,
        owner: t.owner,
        also: t.also.clone(),
        chains: t.chains.len(),
        rules: t.rule_count(),
        sets: t.sets.iter().filter(|s| !s.is_map).count(),
        maps: t.sets.iter().filter(|s| s.is_map).count(),
        base_chains: t
            .base_chains()
            .map(|(c, b)| BaseChainShow {
                name: c.name.clone(),
                handle: c.handle,
                hook: b.hook,
                kind: b.kind.clone(),
                priority: b.prio,
                priority_name: prio::name(t.family, b.hook, b.prio),
                policy: b.policy,
                device: b.dev.clone(),
                rules: c.rules.len(),
            })
            .collect(),
        opaque,
        other_objects: t.other.clone(),
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl Show {
    /// The text `netd firewall show` prints.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.tables.is_empty() {
            out.push_str("no nftables tables: the host has no firewall rules\n");
        }
        for t in &self.tables {
            let mut owner = t.owner.to_string();
            for a in &t.also {
                let _ = write!(owner, ", {a}");
            }
            let mut counts = vec![plural(t.chains, "chain"), plural(t.rules, "rule")];
            if t.sets > 0 {
                counts.push(plural(t.sets, "set"));
            }
            if t.maps > 0 {
                counts.push(plural(t.maps, "map"));
            }
            let _ = writeln!(
                out,
                "table {} {}  owner {owner}  ({})",
                t.family,
                t.name,
                counts.join(", ")
            );
            let prio = |b: &BaseChainShow| match &b.priority_name {
                Some(n) => format!("{} ({n})", b.priority),
                None => b.priority.to_string(),
            };
            let width = t
                .base_chains
                .iter()
                .map(|b| b.name.len())
                .max()
                .unwrap_or(0);
            let pwidth = t
                .base_chains
                .iter()
                .map(|b| prio(b).len())
                .max()
                .unwrap_or(0);
            for b in &t.base_chains {
                let dev = b
                    .device
                    .as_ref()
                    .map(|d| format!("  device {d}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  chain {:width$}  hook {:11}  type {:6}  priority {:pwidth$}  policy {:6}  {}{dev}",
                    b.name,
                    b.hook.as_str(),
                    b.kind,
                    prio(b),
                    b.policy.to_string(),
                    plural(b.rules, "rule"),
                );
            }
            if t.base_chains.is_empty() {
                out.push_str("  no base chains: nothing here sees packets unless jumped to\n");
            }
            for o in &t.opaque {
                let _ = writeln!(
                    out,
                    "  opaque: {} in {} (first: {})",
                    o.kind,
                    plural(o.rules, "rule"),
                    o.example
                );
            }
            for (kind, n) in &t.other_objects {
                let _ = writeln!(out, "  also: {n} {kind} object(s), not inspected");
            }
        }
        if !self.hooks.is_empty() {
            out.push_str("\nhooks, base chains in the order packets meet them:\n");
        }
        let line = |h: &HookShow| -> String {
            h.chains
                .iter()
                .map(|c| {
                    format!(
                        "{} {} {} ({}, policy {})",
                        c.family, c.table, c.chain, c.priority, c.policy
                    )
                })
                .collect::<Vec<_>>()
                .join(" -> ")
        };
        let mut i = 0;
        while i < self.hooks.len() {
            let h = &self.hooks[i];
            // One line when IPv4 and IPv6 packets meet the same chains.
            let same_v6 = self.hooks.get(i + 1).filter(|n| {
                h.packets == "ipv4" && n.packets == "ipv6" && n.hook == h.hook && line(n) == line(h)
            });
            let packets = if same_v6.is_some() {
                "ip+ip6"
            } else {
                h.packets
            };
            let _ = writeln!(out, "  {:11}  {:6}  {}", h.hook.as_str(), packets, line(h));
            i += if same_v6.is_some() { 2 } else { 1 };
        }
        let mut drops: Vec<String> = Vec::new();
        for c in self.hooks.iter().flat_map(|h| &h.chains) {
            let d = format!("{} {} {} ({})", c.family, c.table, c.chain, c.owner);
            if c.policy == Policy::Drop && !drops.contains(&d) {
                drops.push(d);
            }
        }
        if !drops.is_empty() {
            let _ = writeln!(out, "\npolicy drop: {}", drops.join(", "));
        }
        legacy_text(&mut out, &self.legacy);
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}
