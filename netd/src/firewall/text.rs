//! nft-like text for rules, so that a rule explain names reads like the
//! `nft list ruleset` line the user will look for. Close to nft's own
//! output, not byte-identical (counters are shown without their values).

use std::fmt::{self, Display, Formatter, Write as _};

use serde_json::Value as Json;

use super::expr::{Expr, Nat, NatKind, Op, Stmt, Verdict};
use super::parse::{parse_expr, single};

impl Display for Verdict {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Reject(None) => f.write_str("reject"),
            Verdict::Reject(Some(with)) => write!(f, "reject {with}"),
            Verdict::Return => f.write_str("return"),
            Verdict::Continue => f.write_str("continue"),
            Verdict::Jump(c) => write!(f, "jump {c}"),
            Verdict::Goto(c) => write!(f, "goto {c}"),
            Verdict::Queue(args) if args.is_empty() => f.write_str("queue"),
            Verdict::Queue(args) => write!(f, "queue {args}"),
        }
    }
}

/// How values are written next to a given left-hand side.
#[derive(Clone, Copy, Default)]
struct Style {
    /// Interface names: quoted.
    quote: bool,
    /// Marks: hexadecimal, as nft prints them.
    hex: bool,
    /// fib results: `missing` / `exists` for false / true.
    fib: bool,
}

impl Style {
    fn of(left: &Expr) -> Style {
        match left {
            Expr::Meta(k) => Style {
                quote: matches!(k.as_str(), "iifname" | "oifname" | "iif" | "oif"),
                hex: k == "mark",
                fib: false,
            },
            Expr::Ct { key, .. } => Style {
                hex: key == "mark",
                ..Style::default()
            },
            Expr::Fib { .. } => Style {
                fib: true,
                ..Style::default()
            },
            Expr::Binop { left, .. } => Style::of(left),
            Expr::Concat(items) => Style {
                quote: items.iter().any(|i| Style::of(i).quote),
                ..Style::default()
            },
            _ => Style::default(),
        }
    }
}

struct Styled<'a>(&'a Expr, Style);

impl<'a> Display for Styled<'a> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let Styled(e, style) = *self;
        let sub = |x: &'a Expr| Styled(x, style);
        match e {
            Expr::Payload { proto, field } => write!(f, "{proto} {field}"),
            Expr::Meta(k) => match k.as_str() {
                "iifname" | "oifname" | "iif" | "oif" | "iiftype" | "oiftype" => f.write_str(k),
                _ => write!(f, "meta {k}"),
            },
            Expr::Ct { key, dir: None } => write!(f, "ct {key}"),
            Expr::Ct { key, dir: Some(d) } => write!(f, "ct {d} {key}"),
            Expr::Fib { result, flags } => write!(f, "fib {} {result}", flags.join(" . ")),
            Expr::Concat(items) => join(f, items.iter().map(sub), " . "),
            Expr::Binop { op, left, right } => {
                let style = Style::of(left);
                write!(f, "{} {op} {}", Styled(left, style), Styled(right, style))
            }
            Expr::Lookup { key, map } => {
                write!(f, "{} map {}", Styled(key, Style::of(key)), sub(map))
            }
            Expr::Str(s) if style.quote && !s.starts_with('$') => write!(f, "\"{s}\""),
            Expr::Str(s) => f.write_str(s),
            Expr::Num(n) if style.hex => write!(f, "0x{n:08x}"),
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Bool(b) if style.fib => f.write_str(if *b { "exists" } else { "missing" }),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Prefix { addr, len } => write!(f, "{addr}/{len}"),
            Expr::Range(a, b) => write!(f, "{}-{}", sub(a), sub(b)),
            Expr::Set(items) => {
                f.write_str("{ ")?;
                join(f, items.iter().map(sub), ", ")?;
                f.write_str(" }")
            }
            Expr::List(items) => join(f, items.iter().map(sub), ","),
            Expr::SetRef(name) => write!(f, "@{name}"),
            Expr::Pair(k, v) => write!(f, "{} : {}", sub(k), sub(v)),
            Expr::Verdict(v) => write!(f, "{v}"),
            Expr::Other(v) => f.write_str(&json_words(v)),
        }
    }
}

fn join<T: Display>(
    f: &mut Formatter<'_>,
    items: impl Iterator<Item = T>,
    sep: &str,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Styled(self, Style::default()).fmt(f)
    }
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq | Op::In => "",
            Op::Ne => "!= ",
            Op::Lt => "< ",
            Op::Gt => "> ",
            Op::Le => "<= ",
            Op::Ge => ">= ",
        })
    }
}

impl Display for Nat {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            NatKind::Dnat => "dnat",
            NatKind::Snat => "snat",
            NatKind::Masquerade => "masquerade",
            NatKind::Redirect => "redirect",
        })?;
        if let Some(fam) = &self.family {
            write!(f, " {fam}")?;
        }
        let v6 = self.family.as_deref() == Some("ip6")
            || matches!(&self.addr, Some(Expr::Str(a)) if a.contains(':'));
        match (&self.addr, &self.port) {
            (Some(addr @ Expr::Str(_)), Some(port)) if v6 => write!(f, " to [{addr}]:{port}")?,
            (Some(addr), Some(port)) => write!(f, " to {addr}:{port}")?,
            (Some(addr), None) => write!(f, " to {addr}")?,
            (None, Some(port)) => write!(f, " to :{port}")?,
            (None, None) => {}
        }
        if !self.flags.is_empty() {
            write!(f, " {}", self.flags.join(","))?;
        }
        Ok(())
    }
}

impl Display for Stmt {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            // nft writes `==` after a binary operation, where it would
            // otherwise read as part of it.
            Stmt::Match {
                op: Op::Eq,
                left: left @ Expr::Binop { .. },
                right,
            } => write!(f, "{left} == {}", Styled(right, Style::of(left))),
            Stmt::Match { op, left, right } => {
                write!(f, "{} {op}{}", left, Styled(right, Style::of(left)))
            }
            Stmt::Verdict(v) => write!(f, "{v}"),
            Stmt::Vmap { key, map } => {
                write!(f, "{key} vmap {}", Styled(map, Style::of(key)))
            }
            Stmt::Counter => f.write_str("counter"),
            Stmt::Log { prefix: None } => f.write_str("log"),
            Stmt::Log { prefix: Some(p) } => write!(f, "log prefix \"{p}\""),
            Stmt::Limit { text, .. } => f.write_str(text),
            Stmt::Notrack => f.write_str("notrack"),
            Stmt::Nat(nat) => write!(f, "{nat}"),
            Stmt::Xt {
                target,
                name,
                options,
            } => {
                write!(f, "xt {} {name}", if *target { "target" } else { "match" })?;
                match options {
                    Some(m) if !m.opts.is_empty() => write!(f, " {m}"),
                    _ => Ok(()),
                }
            }
            Stmt::Effect(v) => f.write_str(&effect_text(v)),
            Stmt::Opaque(v) => f.write_str(&json_words(v)),
        }
    }
}

fn effect_text(v: &Json) -> String {
    match single(v) {
        Some(("mangle", body)) => match (body.get("key"), body.get("value")) {
            (Some(k), Some(val)) => {
                let key = parse_expr(k);
                let style = Style::of(&key);
                format!("{key} set {}", Styled(&parse_expr(val), style))
            }
            _ => json_words(v),
        },
        _ => json_words(v),
    }
}

/// nft-like words for any JSON expression or statement: `{"queue":
/// {"num": 1}}` becomes `queue num 1`. Known expressions nested inside are
/// written as expressions.
pub(crate) fn json_words(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Array(items) => items.iter().map(json_words).collect::<Vec<_>>().join(", "),
        Json::Object(obj) => {
            if let Some((k, body)) = single(v) {
                if k == "key" {
                    return json_words(body);
                }
                let known = parse_expr(v);
                if !matches!(known, Expr::Other(_)) {
                    return known.to_string();
                }
                let rest = json_words(body);
                return if rest.is_empty() {
                    k.to_string()
                } else {
                    format!("{k} {rest}")
                };
            }
            // `{"key": "mtu"}` of `{"rt": ...}` reads `rt mtu`, as nft writes it.
            let mut out = String::new();
            for (k, val) in obj {
                if !out.is_empty() {
                    out.push(' ');
                }
                if k == "key" {
                    out.push_str(&json_words(val));
                } else {
                    let _ = write!(out, "{k} {}", json_words(val));
                }
            }
            out
        }
    }
}

/// The text of a rule: its statements, then its comment.
pub fn rule_text(stmts: &[Stmt], comment: Option<&str>) -> String {
    let mut out = stmts
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(c) = comment {
        let _ = write!(out, " comment \"{c}\"");
    }
    out
}
