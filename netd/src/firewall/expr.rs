//! The statements and expressions of a rule, parsed from `nft -j` output.
//!
//! Only what explain can reason about gets a variant of its own; everything
//! else is kept as [`Stmt::Opaque`] / [`Expr::Other`] with its JSON, so that
//! a ruleset written by any tool (or a newer nft) parses and is displayed,
//! never refused.

use serde_json::Value as Json;

use super::parse::single;
use super::xt_eval::modelled;
use super::xt_save::XtMatch;

/// One statement of a rule, in rule order.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `left op right`: the rule goes on only if it holds.
    Match {
        op: Op,
        left: Expr,
        right: Expr,
    },
    Verdict(Verdict),
    /// `key vmap @map` or `key vmap { k : verdict, ... }`.
    Vmap {
        key: Expr,
        map: Expr,
    },
    Counter,
    Log {
        prefix: Option<String>,
    },
    /// A rate limit. Explain assumes the flow is within the rate: `limit
    /// rate N` holds, `limit rate over N` does not.
    Limit {
        text: String,
        over: bool,
    },
    /// `notrack`: ahead of conntrack it keeps the connection untracked, so
    /// no NAT applies to it; after conntrack it does nothing.
    Notrack,
    Nat(Nat),
    /// An iptables-nft compat expression. `nft -j` gives only its name;
    /// a match's options come from `iptables-nft-save` when it could be
    /// paired with the rule (see [`attach_xt_save`](super::attach_xt_save)),
    /// else they are not known. Targets are known by name.
    Xt {
        target: bool,
        name: String,
        options: Option<XtMatch>,
    },
    /// A statement with a side effect but no verdict (mangle, set update,
    /// notrack, ...): explain steps over it. The JSON is kept for display.
    Effect(Json),
    /// Anything else, kept verbatim.
    Opaque(Json),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`, or the implicit operator of a plain match.
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `in`: flag test (`ct state established,related`) or set membership.
    In,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    /// `reject [with ...]`, the text after `reject`.
    Reject(Option<String>),
    Return,
    Continue,
    Jump(String),
    Goto(String),
    /// `queue ...`: userspace decides; explain cannot know.
    Queue(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    Dnat,
    Snat,
    Masquerade,
    Redirect,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Nat {
    pub kind: NatKind,
    /// `ip` / `ip6` in inet tables; the statement is a no-op for the other family.
    pub family: Option<String>,
    pub addr: Option<Expr>,
    pub port: Option<Expr>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Payload {
        proto: String,
        field: String,
    },
    Meta(String),
    Ct {
        key: String,
        dir: Option<String>,
    },
    Fib {
        result: String,
        flags: Vec<String>,
    },
    Concat(Vec<Expr>),
    /// `left & right`, `left | right`, ...
    Binop {
        op: String,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// A map lookup, `key map @name` or `key map { ... }`.
    Lookup {
        key: Box<Expr>,
        map: Box<Expr>,
    },
    Str(String),
    Num(u64),
    Bool(bool),
    Prefix {
        addr: String,
        len: u8,
    },
    Range(Box<Expr>, Box<Expr>),
    /// An anonymous set; map elements are [`Expr::Pair`]s.
    Set(Vec<Expr>),
    /// A flag list, `established,related`.
    List(Vec<Expr>),
    /// `@name`: a named set or map of the same table.
    SetRef(String),
    /// `key : value` of a map element.
    Pair(Box<Expr>, Box<Expr>),
    Verdict(Verdict),
    Other(Json),
}

impl Op {
    pub(super) fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            ">" => Op::Gt,
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "in" => Op::In,
            _ => return None,
        })
    }
}

impl Stmt {
    /// The kind of an opaque statement for `show`: its JSON key, and the
    /// expression kind that made a match opaque.
    pub fn opaque_kind(&self) -> Option<String> {
        match self {
            Stmt::Opaque(v) => Some(match single(v) {
                Some(("match", body)) => {
                    let kind = body
                        .get("left")
                        .and_then(single)
                        .map(|(k, _)| k)
                        .unwrap_or("?");
                    format!("match on {kind}")
                }
                Some((k, _)) => k.to_string(),
                None => "statement".to_string(),
            }),
            Stmt::Match { left, right, .. } => left
                .opaque_kind()
                .or_else(|| right.opaque_kind())
                .map(|k| format!("match on {k}")),
            Stmt::Xt {
                target: false,
                name,
                options: Some(_),
            } if modelled(name) => None,
            Stmt::Xt { target, name, .. } => Some(format!(
                "xt {} {name}",
                if *target { "target" } else { "match" }
            )),
            _ => None,
        }
    }
}

impl Expr {
    fn opaque_kind(&self) -> Option<String> {
        match self {
            Expr::Other(v) => Some(
                single(v)
                    .map(|(k, body)| match (k, body.get("base")) {
                        ("payload", Some(_)) => "raw payload".to_string(),
                        _ => k.to_string(),
                    })
                    .unwrap_or_else(|| "value".to_string()),
            ),
            Expr::Concat(items) | Expr::Set(items) | Expr::List(items) => {
                items.iter().find_map(Expr::opaque_kind)
            }
            Expr::Binop { left, right, .. }
            | Expr::Lookup {
                key: left,
                map: right,
            }
            | Expr::Pair(left, right)
            | Expr::Range(left, right) => left.opaque_kind().or_else(|| right.opaque_kind()),
            _ => None,
        }
    }
}
