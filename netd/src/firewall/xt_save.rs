//! `iptables-nft-save` / `ip6tables-nft-save` output, parsed into each
//! chain's rules with their `-m` matches and options. `nft -j` shows only
//! the name of an iptables match; the save output is where its options
//! are. Pure: running the tools is the caller's job.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::ruleset::Family;

/// One option of a match, `[!] --name args...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XtOpt {
    pub name: String,
    pub neg: bool,
    pub args: Vec<String>,
}

/// One `-m NAME` match with its options, as iptables-save prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XtMatch {
    pub name: String,
    pub opts: Vec<XtOpt>,
}

/// One `-A` line: its matches in order and where it jumps (`-j` / `-g`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRule {
    pub matches: Vec<XtMatch>,
    pub jump: Option<String>,
    pub goto: bool,
}

/// (family, table, chain).
type ChainKey = (Family, String, String);

/// The rules of every chain of the save output, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct XtSave {
    chains: BTreeMap<ChainKey, Vec<SaveRule>>,
    /// Chains with a line that could not be parsed: none of their rules
    /// can be paired with nft's.
    broken: BTreeSet<ChainKey>,
}

impl XtSave {
    /// Parses the output of `iptables-nft-save` (`family` ip) or
    /// `ip6tables-nft-save` (ip6). Lines it does not understand make their
    /// chain unusable rather than the whole output.
    pub fn parse(family: Family, text: &str) -> XtSave {
        let mut save = XtSave::default();
        let mut table: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('*') {
                table = Some(name.to_string());
            } else if line == "COMMIT" {
                table = None;
            } else if let Some(decl) = line.strip_prefix(':') {
                let (Some(t), Some(chain)) = (&table, decl.split_whitespace().next()) else {
                    continue;
                };
                save.chains
                    .entry((family, t.clone(), chain.to_string()))
                    .or_default();
            } else if let Some(t) = &table {
                save.add_rule_line(family, t, line);
            }
        }
        save
    }

    fn add_rule_line(&mut self, family: Family, table: &str, line: &str) {
        // `iptables-save -c` puts the counters first: `[12:345] -A ...`.
        let line = match line.split_once(' ') {
            Some((counters, rest)) if counters.starts_with('[') => rest.trim_start(),
            _ => line,
        };
        let mut words = line.split_whitespace();
        let chain = match (words.next(), words.next()) {
            (Some("-A"), Some(chain)) => chain.to_string(),
            // A line that is not a rule: nothing can be said of any chain
            // of the table, so all of it is given up.
            _ => {
                let keys: Vec<ChainKey> = self
                    .chains
                    .keys()
                    .filter(|(f, t, _)| *f == family && t == table)
                    .cloned()
                    .collect();
                self.broken.extend(keys);
                return;
            }
        };
        let key = (family, table.to_string(), chain);
        match tokens(line).and_then(|toks| rule(toks.get(2..)?)) {
            Some(r) => self.chains.entry(key).or_default().push(r),
            None => {
                self.broken.insert(key);
            }
        }
    }

    /// Adds another family's output.
    pub fn extend(&mut self, other: XtSave) {
        self.chains.extend(other.chains);
        self.broken.extend(other.broken);
    }

    /// The rules of a chain, in order; None when the output has no such
    /// chain or one of its lines could not be parsed.
    pub fn rules(&self, family: Family, table: &str, chain: &str) -> Option<&[SaveRule]> {
        let key = (family, table.to_string(), chain.to_string());
        if self.broken.contains(&key) {
            return None;
        }
        self.chains.get(&key).map(Vec::as_slice)
    }

    /// Whether the output lists the table at all.
    pub fn has_table(&self, family: Family, table: &str) -> bool {
        self.chains
            .keys()
            .chain(&self.broken)
            .any(|(f, t, _)| *f == family && t == table)
    }
}

impl XtMatch {
    pub fn opt(&self, name: &str) -> Option<&XtOpt> {
        self.opts.iter().find(|o| o.name == name)
    }
}

#[derive(Debug)]
struct Token {
    text: String,
    quoted: bool,
}

/// Splits a line as iptables-save quotes it: double quotes, with `\"` and
/// `\\` inside. None for an unterminated quote.
fn tokens(line: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Some(out);
        };
        let mut text = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => text.push(chars.next()?),
                    c => text.push(c),
                }
            }
            out.push(Token { text, quoted: true });
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                text.push(c);
            }
            out.push(Token {
                text,
                quoted: false,
            });
        }
    }
}

/// Options of the rule itself (not of a match) and how many arguments each
/// takes.
fn rule_option_args(name: &str) -> Option<usize> {
    Some(match name {
        "-p" | "--protocol" | "-s" | "--source" | "-d" | "--destination" | "-i"
        | "--in-interface" | "-o" | "--out-interface" => 1,
        "-f" | "--fragment" => 0,
        "-c" | "--set-counters" => 2,
        _ => return None,
    })
}

fn is_option(t: &Token) -> bool {
    !t.quoted && (t.text == "!" || (t.text.len() > 1 && t.text.starts_with('-')))
}

/// The words after `-A CHAIN`. None when a word fits nowhere.
fn rule(toks: &[Token]) -> Option<SaveRule> {
    let mut r = SaveRule {
        matches: Vec::new(),
        jump: None,
        goto: false,
    };
    let mut neg = false;
    // Whether the options that follow belong to the last match.
    let mut in_match = false;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        i += 1;
        if t.quoted {
            return None;
        }
        let word = t.text.as_str();
        match word {
            "!" => {
                neg = true;
                continue;
            }
            "-m" | "--match" => {
                let name = toks.get(i)?;
                i += 1;
                r.matches.push(XtMatch {
                    name: name.text.clone(),
                    opts: Vec::new(),
                });
                in_match = true;
            }
            // The target's own options follow; explain needs only its name.
            "-j" | "--jump" | "-g" | "--goto" => {
                r.jump = Some(toks.get(i)?.text.clone());
                r.goto = word == "-g" || word == "--goto";
                return Some(r);
            }
            _ => {
                if let Some(n) = rule_option_args(word) {
                    // A rule option ends the match before it.
                    in_match = false;
                    i += n;
                } else if word.starts_with("--") && in_match {
                    let m = r.matches.last_mut()?;
                    let mut args = Vec::new();
                    while let Some(a) = toks.get(i).filter(|a| !is_option(a)) {
                        args.push(a.text.clone());
                        i += 1;
                    }
                    m.opts.push(XtOpt {
                        name: word.trim_start_matches('-').to_string(),
                        neg,
                        args,
                    });
                } else {
                    return None;
                }
            }
        }
        neg = false;
    }
    Some(r)
}

impl fmt::Display for XtOpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.neg {
            f.write_str("! ")?;
        }
        write!(f, "--{}", self.name)?;
        for a in &self.args {
            if a.is_empty() || a.contains(char::is_whitespace) || a.contains('"') {
                write!(f, " \"{}\"", a.replace('\\', "\\\\").replace('"', "\\\""))?;
            } else {
                write!(f, " {a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for XtMatch {
    /// The options only, as iptables-save prints them after `-m NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, o) in self.opts.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{o}")?;
        }
        Ok(())
    }
}
