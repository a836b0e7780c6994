//! Integrate mode: comment-tagged accept rules in the host chains a policy
//! names, so that a host `policy drop` forward chain lets published traffic
//! through. netd adds and removes exactly its own tagged rules, nothing else.

use serde_json::{Value, json};

use super::apply::{NftObserved, TAG};
use crate::model::{ChainRef, Desired, PolicyMode, Proto, Publish};

/// One rule netd wants in a host chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub chain: ChainRef,
    /// Also its identity: the rule's content in words.
    pub comment: String,
    pub expr: Vec<Value>,
}

fn accept_rule(p: &Publish, family: &str) -> (String, Vec<Value>) {
    let l3 = if p.is_ipv6() { "ip6" } else { "ip" };
    let l4 = match p.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    };
    let port = if p.to_port.start == p.to_port.end {
        json!(p.to_port.start)
    } else {
        json!({"range": [p.to_port.start, p.to_port.end]})
    };
    let comment = format!("{TAG}{} {} {l4} {} ({family})", p.ns, p.target, p.to_port);
    let expr = vec![
        json!({"match": {"op": "==", "left": {"payload": {"protocol": l3, "field": "daddr"}}, "right": p.target.to_string()}}),
        json!({"match": {"op": "==", "left": {"payload": {"protocol": l4, "field": "dport"}}, "right": port}}),
        json!({"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}),
        json!({"accept": null}),
    ];
    (comment, expr)
}

/// The tagged rules the policy asks for: one per publish in each named
/// chain that filters forwarded traffic and matches the publish's family.
pub fn wanted(desired: &Desired, observed: &NftObserved) -> Result<Vec<Wanted>, String> {
    if desired.policy.mode != PolicyMode::Integrate {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chain in &desired.policy.integrate_chains {
        let hook = observed
            .chains
            .iter()
            .find(|(f, t, c, _)| *f == chain.family && *t == chain.table && *c == chain.chain)
            .map(|(_, _, _, hook)| hook.clone());
        let Some(hook) = hook else {
            return Err(format!(
                "the policy names chain {} {} {}, which the host ruleset does not have; load the host firewall first or fix the policy",
                chain.family, chain.table, chain.chain
            ));
        };
        // Published traffic is forwarded to the namespace; an accept in any
        // other hook would not be reached by it.
        if hook.as_deref() != Some("forward") {
            continue;
        }
        for p in desired.namespaces.values().flat_map(|n| &n.publish) {
            let fits = match chain.family.as_str() {
                "ip" => !p.is_ipv6(),
                "ip6" => p.is_ipv6(),
                _ => true,
            };
            if fits {
                let (comment, expr) = accept_rule(p, &chain.family);
                out.push(Wanted {
                    chain: chain.clone(),
                    comment,
                    expr,
                });
            }
        }
    }
    Ok(out)
}

/// The transaction that turns the tagged rules in the kernel into `wanted`,
/// or None when they already match. Rules are inserted at the top of their
/// chain, ahead of the host's drops.
pub fn commands(wanted: &[Wanted], observed: &NftObserved) -> Option<(usize, usize, Value)> {
    let have: Vec<(&str, &str, &str, &str)> = observed
        .tagged
        .iter()
        .map(|r| {
            (
                r.family.as_str(),
                r.table.as_str(),
                r.chain.as_str(),
                r.comment.as_str(),
            )
        })
        .collect();
    let want: Vec<(&str, &str, &str, &str)> = wanted
        .iter()
        .map(|w| {
            (
                w.chain.family.as_str(),
                w.chain.table.as_str(),
                w.chain.chain.as_str(),
                w.comment.as_str(),
            )
        })
        .collect();
    let mut sorted_have = have.clone();
    let mut sorted_want = want.clone();
    sorted_have.sort();
    sorted_want.sort();
    if sorted_have == sorted_want {
        return None;
    }
    let mut cmds = Vec::new();
    for r in &observed.tagged {
        cmds.push(json!({"delete": {"rule": {
            "family": r.family, "table": r.table, "chain": r.chain, "handle": r.handle
        }}}));
    }
    for w in wanted {
        cmds.push(json!({"insert": {"rule": {
            "family": w.chain.family, "table": w.chain.table, "chain": w.chain.chain,
            "expr": w.expr, "comment": w.comment
        }}}));
    }
    Some((
        wanted.len(),
        observed.tagged.len(),
        json!({"nftables": cmds}),
    ))
}
