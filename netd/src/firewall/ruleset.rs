//! The host ruleset as `nft -j list ruleset` gives it: tables, chains,
//! rules and named sets. Parsing is tolerant: an object it does not know
//! (flowtables, counters, ct helpers, a newer nft's additions) is counted,
//! a malformed one is skipped with a warning, and neither stops the rest.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value as Json;

use super::expr::{Expr, Stmt};
use super::owner::{Owner, classify};
use super::parse::{parse_elem, parse_stmt};
use super::text::rule_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl Family {
    pub(super) fn parse(s: &str) -> Option<Family> {
        Some(match s {
            "ip" => Family::Ip,
            "ip6" => Family::Ip6,
            "inet" => Family::Inet,
            "arp" => Family::Arp,
            "bridge" => Family::Bridge,
            "netdev" => Family::Netdev,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
            Family::Arp => "arp",
            Family::Bridge => "bridge",
            Family::Netdev => "netdev",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    Ingress,
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    Egress,
}

impl Hook {
    /// Ingress and egress chains are bound to devices.
    pub fn is_device_hook(self) -> bool {
        matches!(self, Hook::Ingress | Hook::Egress)
    }

    fn parse(s: &str) -> Option<Hook> {
        Some(match s {
            "ingress" => Hook::Ingress,
            "prerouting" => Hook::Prerouting,
            "input" => Hook::Input,
            "forward" => Hook::Forward,
            "output" => Hook::Output,
            "postrouting" => Hook::Postrouting,
            "egress" => Hook::Egress,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Ingress => "ingress",
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
            Hook::Egress => "egress",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Accept,
    Drop,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        })
    }
}

/// What makes a chain a base chain: it is attached to a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    /// `filter`, `nat` or `route`.
    pub kind: String,
    pub hook: Hook,
    pub prio: i32,
    pub policy: Policy,
    /// The device of netdev ingress/egress chains.
    pub dev: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub handle: u64,
    pub comment: Option<String>,
    pub stmts: Vec<Stmt>,
}

impl Rule {
    /// The rule as nft would print it (close to it).
    pub fn text(&self) -> String {
        rule_text(&self.stmts, self.comment.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    pub handle: u64,
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
}

/// A named set or map. `elems` is None when nft listed no elements (an empty
/// set lists none too, which is not the same as unknown contents: see
/// [`NamedSet::elements`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSet {
    pub name: String,
    pub is_map: bool,
    pub flags: Vec<String>,
    pub elems: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub family: Family,
    pub name: String,
    pub handle: u64,
    pub owner: Owner,
    /// Other tools whose chains are in this table too (ufw and Docker share
    /// `ip filter`).
    pub also: Vec<Owner>,
    pub chains: Vec<Chain>,
    pub sets: Vec<NamedSet>,
    /// Objects of kinds netd does not model (flowtables, counters, ...).
    pub other: BTreeMap<String, usize>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn set(&self, name: &str) -> Option<&NamedSet> {
        self.sets.iter().find(|s| s.name == name)
    }

    pub fn base_chains(&self) -> impl Iterator<Item = (&Chain, &BaseChain)> {
        self.chains
            .iter()
            .filter_map(|c| c.base.as_ref().map(|b| (c, b)))
    }

    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ruleset {
    pub tables: Vec<Table>,
    /// nft's version, from the metainfo object.
    pub nft_version: Option<String>,
    /// Objects that could not be used (no table, malformed), one line each.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not `nft -j list ruleset` output: no top-level \"nftables\" array")]
    NotRuleset,
}

impl Ruleset {
    /// Parses the text of `nft -j list ruleset`.
    pub fn from_json_str(text: &str) -> Result<Ruleset, ParseError> {
        let v: Json = serde_json::from_str(text)?;
        Ruleset::from_json(&v)
    }

    pub fn from_json(v: &Json) -> Result<Ruleset, ParseError> {
        let objects = v
            .get("nftables")
            .and_then(Json::as_array)
            .ok_or(ParseError::NotRuleset)?;
        let mut rs = Ruleset::default();
        // Tables first, whatever the order of the dump; then what goes in them.
        for obj in objects {
            if let Some(t) = obj.get("table") {
                match table(t) {
                    Some(t) => rs.tables.push(t),
                    None => rs.warnings.push(format!("skipped a malformed table: {t}")),
                }
            } else if let Some(m) = obj.get("metainfo") {
                rs.nft_version = m.get("version").and_then(Json::as_str).map(String::from);
            }
        }
        for obj in objects {
            let Some((kind, body)) = super::parse::single(obj) else {
                rs.warnings.push(format!("skipped an object: {obj}"));
                continue;
            };
            match kind {
                "table" | "metainfo" | "rule" => {}
                "chain" => rs.add_chain(body),
                "set" | "map" => rs.add_set(body, kind == "map"),
                _ => rs.count_other(kind, body),
            }
        }
        for obj in objects {
            if let Some(r) = obj.get("rule") {
                rs.add_rule(r);
            }
        }
        for t in &mut rs.tables {
            let (owner, also) = classify(t);
            t.owner = owner;
            t.also = also;
        }
        Ok(rs)
    }

    pub fn table(&self, family: Family, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.family == family && t.name == name)
    }

    fn table_mut(&mut self, body: &Json) -> Option<&mut Table> {
        let family = body
            .get("family")
            .and_then(Json::as_str)
            .and_then(Family::parse)?;
        let name = body.get("table").and_then(Json::as_str)?;
        self.tables
            .iter_mut()
            .find(|t| t.family == family && t.name == name)
    }

    fn add_chain(&mut self, body: &Json) {
        let Some(name) = body.get("name").and_then(Json::as_str) else {
            self.warnings
                .push(format!("skipped a chain without a name: {body}"));
            return;
        };
        let chain = Chain {
            name: name.to_string(),
            handle: body.get("handle").and_then(Json::as_u64).unwrap_or(0),
            base: base_chain(body),
            rules: Vec::new(),
        };
        match self.table_mut(body) {
            Some(t) => t.chains.push(chain),
            None => self
                .warnings
                .push(format!("skipped chain {name}: its table is not listed")),
        }
    }

    fn add_set(&mut self, body: &Json, is_map: bool) {
        let Some(name) = body.get("name").and_then(Json::as_str) else {
            return;
        };
        let set = NamedSet {
            name: name.to_string(),
            is_map,
            flags: match body.get("flags") {
                Some(Json::Array(a)) => a
                    .iter()
                    .filter_map(|f| f.as_str().map(String::from))
                    .collect(),
                Some(Json::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            },
            elems: match body.get("elem") {
                Some(Json::Array(items)) => items.iter().map(parse_elem).collect(),
                Some(other) => vec![parse_elem(other)],
                None => Vec::new(),
            },
        };
        match self.table_mut(body) {
            Some(t) => t.sets.push(set),
            None => self
                .warnings
                .push(format!("skipped set {name}: its table is not listed")),
        }
    }

    fn count_other(&mut self, kind: &str, body: &Json) {
        match self.table_mut(body) {
            Some(t) => *t.other.entry(kind.to_string()).or_default() += 1,
            None => self.warnings.push(format!("skipped a {kind} object")),
        }
    }

    fn add_rule(&mut self, body: &Json) {
        let chain_name = body.get("chain").and_then(Json::as_str).unwrap_or("");
        let rule = Rule {
            handle: body.get("handle").and_then(Json::as_u64).unwrap_or(0),
            comment: body.get("comment").and_then(Json::as_str).map(String::from),
            stmts: body
                .get("expr")
                .and_then(Json::as_array)
                .map(|e| e.iter().map(parse_stmt).collect())
                .unwrap_or_default(),
        };
        let warning = match self.table_mut(body) {
            Some(t) => match t.chains.iter_mut().find(|c| c.name == chain_name) {
                Some(c) => {
                    c.rules.push(rule);
                    None
                }
                None => Some(format!(
                    "skipped rule handle {} of {} {}: chain {chain_name} is not listed",
                    rule.handle, t.family, t.name
                )),
            },
            None => Some(format!(
                "skipped rule handle {}: its table is not listed",
                rule.handle
            )),
        };
        self.warnings.extend(warning);
    }
}

fn table(body: &Json) -> Option<Table> {
    Some(Table {
        family: Family::parse(body.get("family")?.as_str()?)?,
        name: body.get("name")?.as_str()?.to_string(),
        handle: body.get("handle").and_then(Json::as_u64).unwrap_or(0),
        owner: Owner::User,
        also: Vec::new(),
        chains: Vec::new(),
        sets: Vec::new(),
        other: BTreeMap::new(),
    })
}

fn base_chain(body: &Json) -> Option<BaseChain> {
    let hook = Hook::parse(body.get("hook")?.as_str()?)?;
    let prio = match body.get("prio") {
        Some(Json::Number(n)) => n.as_i64().and_then(|p| i32::try_from(p).ok())?,
        // Newer nft may write a named priority.
        Some(Json::String(s)) => super::prio::parse_name(s)?,
        _ => 0,
    };
    Some(BaseChain {
        kind: body
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or("filter")
            .to_string(),
        hook,
        prio,
        policy: match body.get("policy").and_then(Json::as_str) {
            Some("drop") => Policy::Drop,
            _ => Policy::Accept,
        },
        dev: match body.get("dev") {
            Some(Json::String(d)) => Some(d.clone()),
            Some(Json::Array(devs)) => Some(
                devs.iter()
                    .filter_map(Json::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        },
    })
}
