//! The command that would let a dropped flow through, in the language of
//! the tool that owns the dropping table: nft for plain nftables tables,
//! ufw and firewall-cmd for theirs, iptables for iptables-nft tables (nft
//! edits there are lost on the tool's next reload, or break it).

use serde::Serialize;

use super::flow::Iface;
use super::outcome::Decision;
use super::owner::Owner;
use super::packet::{Dst, Packet, Phase};
use super::ruleset::{Family, Hook, Table};
use crate::model::Proto;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// `nft`, `iptables`, `ip6tables`, `ufw` or `firewall-cmd`.
    pub tool: String,
    pub command: String,
    /// Where the rule goes and why, or a caveat.
    pub note: String,
}

fn fix(tool: &str, command: String, note: impl Into<String>) -> Fix {
    Fix {
        tool: tool.to_string(),
        command,
        note: note.into(),
    }
}

/// What the dropping chain saw, as match arguments.
struct Seen {
    v6: bool,
    proto: Proto,
    daddr: Option<std::net::IpAddr>,
    dport: u16,
    dnat: bool,
    bridge: Option<String>,
}

impl Seen {
    fn nft(&self) -> String {
        let ip = if self.v6 { "ip6" } else { "ip" };
        let mut s = match self.daddr {
            Some(a) => format!("{ip} daddr {a} "),
            None => "fib daddr type local ".to_string(),
        };
        s.push_str(&format!("{} dport {}", self.proto, self.dport));
        if self.dnat {
            s.push_str(" ct status dnat");
        }
        s.push_str(" accept");
        s
    }

    fn iptables(&self) -> String {
        let mut s = String::new();
        if self.dnat
            && let Some(b) = &self.bridge
        {
            s.push_str(&format!("-o {b} "));
        }
        match self.daddr {
            Some(a) => s.push_str(&format!("-d {a} ")),
            None => s.push_str("-m addrtype --dst-type LOCAL "),
        }
        s.push_str(&format!("-p {} --dport {}", self.proto, self.dport));
        if self.dnat {
            s.push_str(" -m conntrack --ctstate DNAT");
        }
        s.push_str(" -j ACCEPT");
        s
    }
}

/// The fix for a drop of a reply or of later packets: let the packets of
/// connections already accepted through, as every usual firewall does.
fn established_fixes(table: &Table, decision: &Decision, phase: Phase) -> Vec<Fix> {
    let why = format!(
        "the {phase} of an accepted connection must pass too: accept established connections ahead of the drop"
    );
    let (family, name, chain, position) = match decision {
        Decision::Rule(r) => (r.family, &r.table, &r.chain, Some((r.handle, r.position))),
        Decision::Policy {
            family,
            table,
            reached_end_of,
            ..
        } => (*family, table, reached_end_of, None),
    };
    if matches!(table.owner, Owner::IptablesNft | Owner::Docker | Owner::Ufw)
        && super::owner::is_xtables(table)
    {
        let tool = if family == Family::Ip6 {
            "ip6tables"
        } else {
            "iptables"
        };
        let t = if name == "filter" {
            String::new()
        } else {
            format!("-t {name} ")
        };
        let at = position.map_or_else(|| format!("-A {chain}"), |(_, p)| format!("-I {chain} {p}"));
        return vec![fix(
            tool,
            format!("{tool} {t}{at} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
            why,
        )];
    }
    let command = match position {
        Some((handle, _)) => format!(
            "nft insert rule {family} {name} {chain} position {handle} ct state established,related accept"
        ),
        None => format!("nft add rule {family} {name} {chain} ct state established,related accept"),
    };
    vec![fix("nft", command, why)]
}

pub(crate) fn fixes(
    flow: &super::flow::Flow,
    hook: Hook,
    table: &Table,
    pkt: Packet<'_>,
    decision: &Decision,
) -> Vec<Fix> {
    if pkt.phase != Phase::First {
        return established_fixes(table, decision, pkt.phase);
    }
    let seen = Seen {
        v6: flow.is_ipv6(),
        proto: flow.proto,
        daddr: match pkt.daddr() {
            Dst::Addr(a) => Some(a),
            Dst::AnyLocal { .. } => None,
        },
        dport: pkt.dport().unwrap_or(flow.target_port),
        dnat: pkt.translated,
        bridge: match &flow.bridge {
            Iface::Named(b) => Some(b.clone()),
            Iface::Unknown { .. } => None,
        },
    };
    match table.owner {
        Owner::Ufw => ufw(flow, hook, &seen),
        Owner::Firewalld => firewalld(flow, hook, &seen),
        Owner::IptablesNft => vec![iptables(table, decision, &seen, None)],
        Owner::Docker if super::owner::is_xtables(table) => {
            let user_chain = hook == Hook::Forward && table.chain("DOCKER-USER").is_some();
            let chain = user_chain.then_some("DOCKER-USER");
            vec![iptables(table, decision, &seen, chain)]
        }
        owner => {
            let mut f = nft(table, decision, &seen);
            match owner {
                Owner::Docker | Owner::Podman => f.note.push_str(&format!(
                    "; {owner} rewrites its own table, so this lasts until it next does"
                )),
                Owner::Netd => f
                    .note
                    .push_str("; netd's own table dropped it: check the config's [policy]"),
                _ => {}
            }
            vec![f]
        }
    }
}

fn nft(table: &Table, decision: &Decision, seen: &Seen) -> Fix {
    match decision {
        Decision::Rule(r) => fix(
            "nft",
            format!(
                "nft insert rule {} {} {} position {} {}",
                r.family,
                r.table,
                r.chain,
                r.handle,
                seen.nft()
            ),
            format!(
                "goes right before the rule that drops the flow ({} {} {} handle {})",
                r.family, r.table, r.chain, r.handle
            ),
        ),
        Decision::Policy {
            reached_end_of,
            policy,
            ..
        } => fix(
            "nft",
            format!(
                "nft add rule {} {} {reached_end_of} {}",
                table.family,
                table.name,
                seen.nft()
            ),
            format!(
                "appended to {reached_end_of}, whose end the flow reaches before the policy {policy}"
            ),
        ),
    }
}

fn iptables(table: &Table, decision: &Decision, seen: &Seen, chain: Option<&str>) -> Fix {
    let tool = if table.family == Family::Ip6 {
        "ip6tables"
    } else {
        "iptables"
    };
    let t = if table.name == "filter" {
        String::new()
    } else {
        format!("-t {} ", table.name)
    };
    let args = seen.iptables();
    match (chain, decision) {
        (Some(c), _) => fix(
            tool,
            format!("{tool} {t}-I {c} {args}"),
            format!("{c} is Docker's chain for the admin's own rules, run before Docker's"),
        ),
        (None, Decision::Rule(r)) => fix(
            tool,
            format!("{tool} {t}-I {} {} {args}", r.chain, r.position),
            format!(
                "goes right before the rule that drops the flow (rule {} of {}); the table is iptables-nft's, so use iptables, not nft",
                r.position, r.chain
            ),
        ),
        (None, Decision::Policy { reached_end_of, .. }) => fix(
            tool,
            format!("{tool} {t}-A {reached_end_of} {args}"),
            format!(
                "appended to {reached_end_of}, whose end the flow reaches before the policy; the table is iptables-nft's, so use iptables, not nft"
            ),
        ),
    }
}

fn ufw(flow: &super::flow::Flow, hook: Hook, seen: &Seen) -> Vec<Fix> {
    let to = seen
        .daddr
        .map_or_else(|| "any".to_string(), |a| a.to_string());
    let command = match hook {
        Hook::Forward | Hook::Postrouting => format!(
            "ufw route allow proto {} to {to} port {}",
            seen.proto, seen.dport
        ),
        Hook::Output => format!(
            "ufw allow out proto {} to {to} port {}",
            seen.proto, seen.dport
        ),
        _ if seen.daddr.is_none() => format!("ufw allow {}/{}", seen.dport, seen.proto),
        _ => format!("ufw allow proto {} to {to} port {}", seen.proto, seen.dport),
    };
    let note = if flow.from_host {
        "ufw's rules for the host's own connections".to_string()
    } else {
        format!(
            "ufw's rule for traffic the {hook} hook sees; ufw owns these tables, so use ufw, not nft or iptables"
        )
    };
    vec![fix("ufw", command, note)]
}

fn firewalld(flow: &super::flow::Flow, hook: Hook, seen: &Seen) -> Vec<Fix> {
    let reload = "&& firewall-cmd --reload";
    match hook {
        Hook::Forward | Hook::Postrouting => {
            let mut out = Vec::new();
            if let Some(b) = &seen.bridge {
                out.push(fix(
                    "firewall-cmd",
                    format!("firewall-cmd --permanent --zone=trusted --add-interface={b} {reload}"),
                    "puts netd's bridge in the trusted zone, whose target accepts traffic forwarded to it",
                ));
            }
            if let (Some(addr), false) = (seen.daddr, flow.from_host) {
                out.push(fix(
                    "firewall-cmd",
                    format!(
                        "firewall-cmd --permanent --add-forward-port=port={}:proto={}:toport={}:toaddr={addr} {reload}",
                        flow.host_port, flow.proto, seen.dport
                    ),
                    "or let firewalld forward the port itself: its forward chain accepts connections it DNATs",
                ));
            }
            out
        }
        _ => vec![fix(
            "firewall-cmd",
            format!(
                "firewall-cmd --permanent --add-port={}/{} {reload}",
                seen.dport, seen.proto
            ),
            "opens the port in the default zone",
        )],
    }
}
