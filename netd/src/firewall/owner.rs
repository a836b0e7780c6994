//! Who owns a table: the tool whose rules are in it, recognised by the
//! table's name and its chains' names, as each tool creates them.

use std::fmt;

use serde::Serialize;

use super::expr::Stmt;
use super::ruleset::{Family, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Owner {
    /// `table inet netd`.
    #[serde(rename = "netd")]
    Netd,
    /// ufw's chains (`ufw-*`, `ufw6-*`) in iptables-nft's `filter` tables.
    #[serde(rename = "ufw")]
    Ufw,
    /// `table inet|ip|ip6 firewalld`.
    #[serde(rename = "firewalld")]
    Firewalld,
    /// Docker's `DOCKER*` chains (iptables-nft), or its own `docker-*` tables
    /// (nftables backend).
    #[serde(rename = "docker")]
    Docker,
    /// podman: netavark's `inet netavark`, or its / CNI's chains in
    /// iptables-nft tables.
    #[serde(rename = "podman")]
    Podman,
    /// Other iptables-nft (xtables) tables: rules from iptables.
    #[serde(rename = "iptables-nft")]
    IptablesNft,
    /// Everything else: the admin's own nftables rules.
    #[serde(rename = "user")]
    User,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Netd => "netd",
            Owner::Ufw => "ufw",
            Owner::Firewalld => "firewalld",
            Owner::Docker => "docker",
            Owner::Podman => "podman",
            Owner::IptablesNft => "iptables-nft",
            Owner::User => "user",
        }
    }

    /// Tables whose rules are written through iptables, which the user must
    /// change with iptables (or the tool) rather than nft.
    pub fn is_xtables(self) -> bool {
        matches!(self, Owner::Ufw | Owner::IptablesNft)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const XTABLES_TABLES: &[&str] = &["filter", "nat", "mangle", "raw", "security", "broute"];
const XTABLES_CHAINS: &[&str] = &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// Whether the table looks like iptables-nft made it: an xtables table name
/// with xtables base chain names, or compat (`xt`) expressions.
pub fn is_xtables(t: &Table) -> bool {
    let named = matches!(
        t.family,
        Family::Ip | Family::Ip6 | Family::Arp | Family::Bridge
    ) && XTABLES_TABLES.contains(&t.name.as_str())
        && t.base_chains()
            .any(|(c, _)| XTABLES_CHAINS.contains(&c.name.as_str()));
    named
        || t.chains
            .iter()
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.stmts)
            .any(|s| matches!(s, Stmt::Xt { .. }))
}

/// The table's owner, and the other tools that have chains in it.
pub fn classify(t: &Table) -> (Owner, Vec<Owner>) {
    if t.family == Family::Inet && t.name == "netd" {
        return (Owner::Netd, Vec::new());
    }
    if t.name == "firewalld" {
        return (Owner::Firewalld, Vec::new());
    }
    if t.family == Family::Inet && t.name == "netavark" {
        return (Owner::Podman, Vec::new());
    }
    if t.name.starts_with("docker") {
        return (Owner::Docker, Vec::new());
    }
    let has = |pred: &dyn Fn(&str) -> bool| t.chains.iter().any(|c| pred(&c.name));
    // In precedence order: the admin's firewall first, then the engines.
    let mut found = Vec::new();
    if is_xtables(t) && has(&|n| n.starts_with("ufw-") || n.starts_with("ufw6-")) {
        found.push(Owner::Ufw);
    }
    if has(&|n| n == "DOCKER" || n.starts_with("DOCKER-")) {
        found.push(Owner::Docker);
    }
    if has(&|n| n.starts_with("NETAVARK-") || n.starts_with("CNI-")) {
        found.push(Owner::Podman);
    }
    if found.is_empty() && is_xtables(t) {
        found.push(Owner::IptablesNft);
    }
    match found.split_first() {
        Some((first, rest)) => (*first, rest.to_vec()),
        None => (Owner::User, Vec::new()),
    }
}
