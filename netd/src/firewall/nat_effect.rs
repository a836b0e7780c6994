//! Another table's NAT at the hook where netd's DNAT happens: does it take
//! the connection elsewhere, race netd's, or send it where netd would?

use super::expr::{Expr, NatKind, Stmt};
use super::flow::Flow;
use super::outcome::{Decision, Outcome, RuleRef};
use super::owner::Owner;
use super::ruleset::{BaseChain, Rule, Table};

/// What a nat chain at the DNAT hook means for the connection.
pub(super) enum NatEffect {
    None,
    Note(String),
    /// It may take the connection elsewhere: the verdict is undetermined.
    Doubt(String),
    /// A foreign rule certainly maps the connection before netd's chain.
    Diverts,
    /// netd's own chain does not DNAT the flow: the publish is not in the
    /// kernel, and the connection ends at the host's own port.
    NotPublished,
}

/// Another table's DNAT that comes first takes the connection elsewhere;
/// one at netd's priority may or may not; netd's own chain not matching
/// means the publish is not loaded.
pub(super) fn nat_effect(
    flow: &Flow,
    table: &Table,
    base: &BaseChain,
    dnat_at: i32,
    outcome: &Outcome,
    hits: &[RuleRef],
) -> NatEffect {
    if table.owner == Owner::Netd {
        return match outcome {
            Outcome::Accept {
                decision: Decision::Policy { .. },
            } => NatEffect::NotPublished,
            _ => NatEffect::None,
        };
    }
    let mut effect = NatEffect::None;
    for r in hits {
        let rule = table
            .chain(&r.chain)
            .and_then(|c| c.rules.iter().find(|x| x.handle == r.handle));
        let dnats = rule.is_some_and(|rule| {
            rule.stmts.iter().any(|s| match s {
                Stmt::Nat(n) => matches!(n.kind, NatKind::Dnat | NatKind::Redirect),
                Stmt::Xt {
                    target: true, name, ..
                } => name == "DNAT" || name == "REDIRECT",
                _ => false,
            })
        });
        if !dnats {
            continue;
        }
        if rule.is_some_and(|rule| maps_to_target(flow, rule)) {
            // Another table sends it where netd would: the same namespace
            // address and port.
            continue;
        }
        let certain = matches!(outcome, Outcome::Accept { decision: Decision::Rule(d) } if d == r);
        if certain && base.prio < dnat_at {
            return NatEffect::Diverts;
        }
        let what = if certain { "rewrites" } else { "may rewrite" };
        effect = if base.prio == dnat_at {
            NatEffect::Doubt(format!(
                "rule {r} {what} this connection's destination at the same priority as netd's DNAT: which runs first depends on the order the chains were registered"
            ))
        } else {
            NatEffect::Doubt(format!(
                "rule {r} {what} this connection's destination before netd's DNAT: if it matches, netd's publish does not apply"
            ))
        };
    }
    if let NatEffect::None = effect
        && base.prio == dnat_at
    {
        return NatEffect::Note(format!(
            "{} {} {} is a nat chain at netd's own priority; it does not map this connection",
            table.family, table.name, base.hook
        ));
    }
    effect
}

/// Whether a DNAT rule sends the connection to the flow's own target
/// address and port, literally.
fn maps_to_target(flow: &Flow, rule: &Rule) -> bool {
    rule.stmts.iter().any(|s| {
        let Stmt::Nat(n) = s else { return false };
        let addr = match &n.addr {
            Some(Expr::Str(a)) => a.parse::<std::net::IpAddr>().ok(),
            _ => None,
        };
        let port = match &n.port {
            Some(Expr::Num(p)) => u16::try_from(*p).ok(),
            None => Some(flow.host_port),
            _ => None,
        };
        n.kind == NatKind::Dnat && addr == Some(flow.target) && port == Some(flow.target_port)
    })
}
