//! One rule against a packet: a rule is false as soon as one of its matches
//! is definitely false, whatever the others are; otherwise its condition is
//! true or unknown, and its action is what its first terminal statement does.

use super::compare::Lookup;
use super::expr::{Expr, Stmt, Verdict};
use super::parse::{MATCH_LIKE, single};
use super::ruleset::Rule;
use super::text::json_words;
use super::value::{Ctx, Tri};
use super::xt_eval::eval_xt_match;

/// What a rule does once its matches hold.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// No terminal statement: the next rule.
    Continue,
    Verdict(Verdict),
    /// A verdict map: each possible outcome (None: no element, go on).
    Vmap(Vec<(String, Option<Verdict>)>),
    /// A NAT statement: ends the chain, like accept.
    Nat,
    /// A statement whose effect cannot be known.
    Unknowable(String),
    /// `notrack` ahead of conntrack: the connection is never tracked, so
    /// netd's DNAT (or the reply's translation back) never happens.
    Notrack,
}

#[derive(Debug, Clone)]
pub(crate) struct RuleEval {
    pub cond: Tri,
    pub action: Action,
}

/// xt targets are known by name alone: these end the rule with a verdict.
fn xt_target(name: &str) -> Option<Action> {
    Some(match name {
        "ACCEPT" => Action::Verdict(Verdict::Accept),
        "DROP" => Action::Verdict(Verdict::Drop),
        "REJECT" => Action::Verdict(Verdict::Reject(None)),
        "RETURN" => Action::Verdict(Verdict::Return),
        "MASQUERADE" | "SNAT" | "DNAT" | "REDIRECT" | "NETMAP" => Action::Nat,
        "LOG" | "NFLOG" | "ULOG" | "MARK" | "CONNMARK" | "TCPMSS" | "CHECKSUM" | "TRACE" | "CT"
        | "CLASSIFY" | "DSCP" | "TOS" | "TTL" | "HL" | "SET" | "AUDIT" => Action::Continue,
        _ => return None,
    })
}

/// What a notrack does where the packet is: nothing once conntrack has
/// seen it, an untracked connection before.
fn notrack(ctx: &Ctx<'_>, what: &str) -> Option<Action> {
    match ctx.pkt.tracked {
        Some(true) => None,
        Some(false) => Some(Action::Notrack),
        None => Some(Action::Unknowable(format!(
            "{what} at conntrack's own priority (whether it runs first is not known)"
        ))),
    }
}

/// nft adds a match on the protocol a reject type needs (`meta l4proto tcp`
/// for a TCP reset, the family for an ICMP type) and leaves it out of its
/// listing: the rule does not match other packets.
fn reject_applies(ctx: &Ctx<'_>, with: &str) -> bool {
    let v6 = ctx.pkt.flow.is_ipv6();
    if with.starts_with("with tcp reset") {
        ctx.pkt.flow.proto == crate::model::Proto::Tcp
    } else if with.starts_with("with icmpv6 ") {
        v6
    } else if with.starts_with("with icmp ") {
        !v6
    } else {
        true
    }
}

pub(crate) fn eval_rule(ctx: &Ctx<'_>, rule: &Rule) -> RuleEval {
    let mut cond = Tri::True;
    let done = |cond: Tri, action: Action| RuleEval { cond, action };
    for stmt in &rule.stmts {
        match stmt {
            Stmt::Match { op, left, right } => {
                cond = cond.and(ctx.compare(*op, left, right));
                if cond == Tri::False {
                    return done(Tri::False, Action::Continue);
                }
            }
            Stmt::Counter | Stmt::Log { .. } | Stmt::Effect(_) => {}
            // Within the rate (explain's assumption): `over` never holds.
            Stmt::Limit { over: true, .. } => return done(Tri::False, Action::Continue),
            Stmt::Limit { over: false, .. } => {}
            Stmt::Notrack => {
                if let Some(action) = notrack(ctx, "notrack") {
                    return done(cond, action);
                }
            }
            Stmt::Xt {
                target: false,
                name,
                options,
            } => cond = cond.and(eval_xt_match(ctx, name, options.as_ref())),
            Stmt::Xt {
                target: true, name, ..
            } if name == "NOTRACK" || name == "CT" => {
                let what = if name == "CT" {
                    "xt target CT (nft -j does not show whether it is --notrack)"
                } else {
                    "xt target NOTRACK"
                };
                if let Some(action) = notrack(ctx, what) {
                    if name == "CT" && matches!(action, Action::Notrack) {
                        return done(cond, Action::Unknowable(what.into()));
                    }
                    return done(cond, action);
                }
            }
            Stmt::Xt {
                target: true, name, ..
            } => match xt_target(name) {
                Some(Action::Continue) => {}
                Some(action) => return done(cond, action),
                None => return done(cond, Action::Unknowable(format!("xt target {name}"))),
            },
            Stmt::Verdict(Verdict::Reject(Some(with))) if !reject_applies(ctx, with) => {
                return done(Tri::False, Action::Continue);
            }
            Stmt::Verdict(v) => return done(cond, Action::Verdict(v.clone())),
            Stmt::Nat(nat) => {
                let v6 = ctx.pkt.flow.is_ipv6();
                if nat.family.as_deref().is_some_and(|f| (f == "ip6") != v6) {
                    // The other family's NAT is a no-op in an inet chain.
                    continue;
                }
                if let Some(Expr::Lookup { key, map }) = &nat.addr {
                    match ctx.lookup(key, map) {
                        Lookup::Found(_) => {}
                        Lookup::Absent => return done(Tri::False, Action::Continue),
                        Lookup::Candidates(c) => cond = cond.and(Tri::Unknown(c[0].0.clone())),
                        Lookup::Unknown(r) => cond = cond.and(Tri::Unknown(r)),
                    }
                }
                return done(cond, Action::Nat);
            }
            Stmt::Vmap { key, map } => {
                let action = match ctx.lookup(key, map) {
                    Lookup::Found(Expr::Verdict(v)) => Action::Verdict(v),
                    Lookup::Found(other) => {
                        Action::Unknowable(format!("verdict map element {other}"))
                    }
                    Lookup::Absent => Action::Continue,
                    Lookup::Candidates(c) => {
                        let mut outcomes: Vec<(String, Option<Verdict>)> = c
                            .into_iter()
                            .map(|(_, k, data)| match data {
                                Expr::Verdict(v) => (format!("{key} is {k}"), Some(v)),
                                _ => (format!("{key} is {k}"), None),
                            })
                            .collect();
                        outcomes.push((format!("{key} is none of the map's keys"), None));
                        Action::Vmap(outcomes)
                    }
                    Lookup::Unknown(r) => Action::Unknowable(r),
                };
                return done(cond, action);
            }
            Stmt::Opaque(v) => {
                let kind = single(v).map(|(k, _)| k).unwrap_or("");
                if MATCH_LIKE.contains(&kind) {
                    cond = cond.and(Tri::Unknown(format!("cannot evaluate {}", json_words(v))));
                } else {
                    return done(cond, Action::Unknowable(stmt.to_string()));
                }
            }
        }
        if cond == Tri::False {
            return done(Tri::False, Action::Continue);
        }
    }
    done(cond, Action::Continue)
}
