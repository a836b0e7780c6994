//! What the kernel does to a published connection besides nftables: the
//! forwarding and localnet sysctls, and iptables-legacy tables, which
//! `nft` cannot see. Read by the engine, passed to explain and show.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ruleset::Family;

/// Facts about the host that decide a flow outside its nftables ruleset.
/// `Default` is "nothing known": explain then assumes forwarding on and
/// no legacy tables, and says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// `net.ipv4.conf.DEV.forwarding` by device, with `all`; empty when
    /// not read.
    pub forwarding_v4: BTreeMap<String, bool>,
    /// `net.ipv6.conf.all.forwarding`; None when not read.
    pub forwarding_v6: Option<bool>,
    /// `net.ipv4.conf.DEV.route_localnet` by device, with `all`.
    pub route_localnet: BTreeMap<String, bool>,
    /// iptables-legacy tables active in this network namespace.
    pub legacy: Vec<LegacyTable>,
    /// Whether the facts were read at all (false: `Default`).
    pub read: bool,
}

/// An iptables-legacy table (`/proc/net/ip_tables_names`,
/// `ip6_tables_names`): its rules are invisible to `nft list ruleset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyTable {
    /// `ip` (iptables) or `ip6` (ip6tables).
    pub family: Family,
    /// filter, nat, mangle, raw, security.
    pub name: String,
    /// What `iptables-legacy-save` shows of it; None when that could not
    /// be run (not installed, failed).
    pub contents: Option<LegacyContents>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LegacyContents {
    /// Rules in all its chains.
    pub rules: usize,
    /// Built-in chains whose policy is not ACCEPT (the kernel allows only
    /// ACCEPT and DROP, so these drop).
    pub non_accept_policies: Vec<String>,
}

impl LegacyTable {
    /// A table that cannot change any packet: known, no rules, every
    /// built-in chain ACCEPT (what loading the module alone leaves).
    pub fn is_inert(&self) -> bool {
        self.contents
            .as_ref()
            .is_some_and(|c| c.rules == 0 && c.non_accept_policies.is_empty())
    }

    /// The tool that shows and changes it: `iptables-legacy` or
    /// `ip6tables-legacy`.
    pub fn tool(&self) -> &'static str {
        match self.family {
            Family::Ip6 => "ip6tables-legacy",
            _ => "iptables-legacy",
        }
    }

    /// What it holds, for a user: `3 rules, FORWARD policy DROP`, `no
    /// rules, every policy ACCEPT`, or why its contents are unknown.
    pub fn summary(&self) -> String {
        let Some(c) = &self.contents else {
            return format!(
                "contents unknown: {}-save is not installed, failed or timed out",
                self.tool()
            );
        };
        let rules = match c.rules {
            0 => "no rules".to_string(),
            1 => "1 rule".to_string(),
            n => format!("{n} rules"),
        };
        if c.non_accept_policies.is_empty() {
            return format!("{rules}, every policy ACCEPT");
        }
        let policies: Vec<String> = c
            .non_accept_policies
            .iter()
            .map(|chain| format!("{chain} policy DROP"))
            .collect();
        format!("{rules}, {}", policies.join(", "))
    }
}
