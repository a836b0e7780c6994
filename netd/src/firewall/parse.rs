//! Statements and expressions from `nft -j` JSON. Every JSON value becomes
//! something: what is not understood is kept as [`Stmt::Opaque`] or
//! [`Expr::Other`], never an error.

use serde_json::Value as Json;

use super::expr::{Expr, Nat, NatKind, Op, Stmt, Verdict};

/// The single key of a one-key JSON object, as nft writes every statement
/// and most expressions.
pub(crate) fn single(v: &Json) -> Option<(&str, &Json)> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn str_field(v: &Json, key: &str) -> Option<String> {
    v.get(key).and_then(Json::as_str).map(str::to_string)
}

fn string_list(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Statements whose effect is on state explain does not track, and that
/// never end a rule.
const EFFECTS: &[&str] = &[
    "mangle",
    "set",
    "map",
    "ct helper",
    "ct timeout",
    "ct expectation",
    "flow",
    "dup",
    "last",
    "secmark",
];

/// Opaque statements that act like a match (the rule goes on or stops),
/// with no verdict of their own: explain treats them as a match it cannot
/// evaluate, rather than as an unknown verdict.
pub(crate) const MATCH_LIKE: &[&str] = &["match", "quota", "meter", "ct count", "tproxy"];

pub fn parse_stmt(v: &Json) -> Stmt {
    let Some((key, body)) = single(v) else {
        return Stmt::Opaque(v.clone());
    };
    match key {
        "match" => {
            let op = body.get("op").and_then(Json::as_str).and_then(Op::parse);
            match (op, body.get("left"), body.get("right")) {
                (Some(op), Some(l), Some(r)) => Stmt::Match {
                    op,
                    left: parse_expr(l),
                    right: parse_expr(r),
                },
                _ => Stmt::Opaque(v.clone()),
            }
        }
        "counter" => Stmt::Counter,
        "log" => Stmt::Log {
            prefix: str_field(body, "prefix"),
        },
        "limit" => Stmt::Limit {
            text: limit_text(body),
            over: body.get("inv").and_then(Json::as_bool) == Some(true),
        },
        "notrack" => Stmt::Notrack,
        "vmap" => match (body.get("key"), body.get("data")) {
            (Some(k), Some(d)) => Stmt::Vmap {
                key: parse_expr(k),
                map: parse_expr(d),
            },
            _ => Stmt::Opaque(v.clone()),
        },
        "dnat" | "snat" | "masquerade" | "redirect" => Stmt::Nat(Nat {
            kind: match key {
                "dnat" => NatKind::Dnat,
                "snat" => NatKind::Snat,
                "masquerade" => NatKind::Masquerade,
                _ => NatKind::Redirect,
            },
            family: str_field(body, "family"),
            addr: body.get("addr").map(parse_expr),
            port: body.get("port").map(parse_expr),
            flags: string_list(body.get("flags")),
        }),
        "xt" => Stmt::Xt {
            target: body.get("type").and_then(Json::as_str) == Some("target"),
            name: str_field(body, "name").unwrap_or_default(),
            options: None,
        },
        _ => match parse_verdict(key, body) {
            Some(verdict) => Stmt::Verdict(verdict),
            None if EFFECTS.contains(&key) => Stmt::Effect(v.clone()),
            None => Stmt::Opaque(v.clone()),
        },
    }
}

fn parse_verdict(key: &str, body: &Json) -> Option<Verdict> {
    let target = || str_field(body, "target");
    Some(match key {
        "accept" => Verdict::Accept,
        "drop" => Verdict::Drop,
        "return" => Verdict::Return,
        "continue" => Verdict::Continue,
        "jump" => Verdict::Jump(target()?),
        "goto" => Verdict::Goto(target()?),
        "reject" => Verdict::Reject(reject_text(body)),
        "queue" => Verdict::Queue(crate::firewall::text::json_words(body)),
        _ => return None,
    })
}

fn reject_text(body: &Json) -> Option<String> {
    let kind = body.get("type").and_then(Json::as_str);
    let what = body.get("expr").and_then(Json::as_str);
    match (kind, what) {
        (Some("tcp reset"), _) => Some("with tcp reset".into()),
        (Some(k), Some(w)) => Some(format!("with {k} {w}")),
        (Some(k), None) => Some(format!("with {k}")),
        _ => None,
    }
}

fn limit_text(body: &Json) -> String {
    let rate = body.get("rate").and_then(Json::as_u64).unwrap_or(0);
    let per = body.get("per").and_then(Json::as_str).unwrap_or("second");
    let unit = body.get("rate_unit").and_then(Json::as_str);
    let over = if body.get("inv").and_then(Json::as_bool) == Some(true) {
        "over "
    } else {
        ""
    };
    let mut s = match unit {
        Some(u) if u != "packets" => format!("limit rate {over}{rate} {u}/{per}"),
        _ => format!("limit rate {over}{rate}/{per}"),
    };
    if let Some(b) = body.get("burst").and_then(Json::as_u64)
        && b != 5
    {
        s.push_str(&format!(" burst {b} packets"));
    }
    s
}

pub fn parse_expr(v: &Json) -> Expr {
    match v {
        Json::String(s) => match s.strip_prefix('@') {
            Some(name) => Expr::SetRef(name.to_string()),
            None => Expr::Str(s.clone()),
        },
        Json::Number(n) => match n.as_u64() {
            Some(n) => Expr::Num(n),
            None => Expr::Other(v.clone()),
        },
        Json::Bool(b) => Expr::Bool(*b),
        Json::Array(items) => Expr::List(items.iter().map(parse_expr).collect()),
        Json::Object(_) => parse_object_expr(v),
        Json::Null => Expr::Other(v.clone()),
    }
}

fn parse_object_expr(v: &Json) -> Expr {
    let Some((key, body)) = single(v) else {
        return Expr::Other(v.clone());
    };
    let other = || Expr::Other(v.clone());
    match key {
        "payload" => match (str_field(body, "protocol"), str_field(body, "field")) {
            (Some(proto), Some(field)) => Expr::Payload { proto, field },
            // Raw payload (`@th,0,16`): kept, never known.
            _ => other(),
        },
        "meta" => str_field(body, "key").map_or_else(other, Expr::Meta),
        "ct" => match str_field(body, "key") {
            Some(key) => Expr::Ct {
                key,
                dir: str_field(body, "dir"),
            },
            None => other(),
        },
        "fib" => match str_field(body, "result") {
            Some(result) => Expr::Fib {
                result,
                flags: string_list(body.get("flags")),
            },
            None => other(),
        },
        "concat" => match body.as_array() {
            Some(items) => Expr::Concat(items.iter().map(parse_expr).collect()),
            None => other(),
        },
        "prefix" => {
            let addr = str_field(body, "addr");
            let len = body
                .get("len")
                .and_then(Json::as_u64)
                .and_then(|l| u8::try_from(l).ok());
            match (addr, len) {
                (Some(addr), Some(len)) => Expr::Prefix { addr, len },
                _ => other(),
            }
        }
        "range" => match body.as_array().map(Vec::as_slice) {
            Some([a, b]) => Expr::Range(Box::new(parse_expr(a)), Box::new(parse_expr(b))),
            _ => other(),
        },
        "set" => match body {
            Json::Array(items) => Expr::Set(items.iter().map(parse_elem).collect()),
            // A one-element set may be written without the array.
            single_elem => Expr::Set(vec![parse_elem(single_elem)]),
        },
        "map" => match (body.get("key"), body.get("data")) {
            (Some(k), Some(d)) => Expr::Lookup {
                key: Box::new(parse_expr(k)),
                map: Box::new(parse_expr(d)),
            },
            _ => other(),
        },
        "elem" => body.get("val").map_or_else(other, parse_expr),
        "&" | "|" | "^" | "<<" | ">>" => match body.as_array().map(Vec::as_slice) {
            Some([a, b]) => Expr::Binop {
                op: key.to_string(),
                left: Box::new(parse_expr(a)),
                right: Box::new(parse_expr(b)),
            },
            _ => other(),
        },
        _ => match parse_verdict(key, body) {
            Some(verdict) => Expr::Verdict(verdict),
            None => other(),
        },
    }
}

/// An element of a set or map: `[key, data]` pairs are map elements, and
/// `{"elem": {"val": ...}}` wrappers (timeouts, comments) are unwrapped.
pub fn parse_elem(v: &Json) -> Expr {
    match v {
        Json::Array(pair) if pair.len() == 2 => Expr::Pair(
            Box::new(parse_elem(&pair[0])),
            Box::new(parse_expr(&pair[1])),
        ),
        _ => parse_expr(v),
    }
}
