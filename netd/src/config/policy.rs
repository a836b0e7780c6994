//! `[daemon] policy`: how netd's nftables rules relate to the host's own
//! firewall. A name picks one of the policies shipped in `/policies`,
//! compiled in so that they need no file at runtime; a path names a policy
//! file of the same format. A policy file is a document of its own: its
//! errors carry its name, line and key, not the config's.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use toml::Spanned;

use super::deserialize;
use super::error::ConfigErrors;
use super::report::{Loc, Report};
use super::schema::{self, PolicyFile};
use super::validate::once_each;
use super::values;
use crate::model::{ChainRef, Policy, PolicyMode, PortRange, Proto};

pub(super) const NAMED: [(&str, &str); 3] = [
    ("respect", include_str!("../../../policies/respect.toml")),
    (
        "integrate",
        include_str!("../../../policies/integrate.toml"),
    ),
    ("strict", include_str!("../../../policies/strict.toml")),
];

/// `dir` is the config file's directory: a relative path is read from
/// there, not from wherever netd was started.
pub(super) fn lower_policy(
    report: &mut Report<'_>,
    loc: &Loc,
    value: &str,
    dir: &Path,
) -> Option<Policy> {
    if let Some((name, text)) = NAMED.iter().find(|(name, _)| *name == value) {
        let file = format!("policies/{name}.toml (built in)");
        return absorb(report, parse(text, &file, None));
    }
    // A misspelt name should not turn into "file not found".
    if !value.contains('/') && !value.ends_with(".toml") {
        report.error(
            loc,
            format!(
                "unknown policy `{value}`; use \"respect\" (the default), \"integrate\", \
                 \"strict\", or the path of a policy file (e.g. \"./policy.toml\")"
            ),
        );
        return None;
    }
    let path = dir.join(value);
    let file = path.display().to_string();
    match super::file::read_capped(&path) {
        Ok(text) => absorb(report, parse(&text, &file, Some(path))),
        Err(e) => {
            report.error(
                loc,
                format!(
                    "cannot read the policy file `{file}`: {e}; a relative path is read from \
                     the config file's directory"
                ),
            );
            None
        }
    }
}

fn absorb(report: &mut Report<'_>, parsed: Result<Policy, ConfigErrors>) -> Option<Policy> {
    parsed.map_err(|errors| report.extend(errors)).ok()
}

/// A policy file's text; `file` names it in errors.
fn parse(text: &str, file: &str, source: Option<PathBuf>) -> Result<Policy, ConfigErrors> {
    let mut report = Report::new(file, text);
    let Some(f) = deserialize::read::<PolicyFile>(text, &mut report) else {
        return Err(report.finish().expect_err("read failed without an error"));
    };
    let policy = lower_file(&mut report, f, source);
    report.finish()?;
    Ok(policy)
}

/// The sections of the modes not chosen are kept, so that switching mode
/// is a one-line change.
fn lower_file(report: &mut Report<'_>, f: PolicyFile, source: Option<PathBuf>) -> Policy {
    let mode_loc = Loc::new("mode".to_owned(), f.mode.span());
    let mode = match f.mode.get_ref().as_str() {
        "respect" => PolicyMode::Respect,
        "integrate" => PolicyMode::Integrate,
        "strict" => PolicyMode::Strict,
        other => {
            report.error(
                &mode_loc,
                format!("unknown mode `{other}`; use \"respect\", \"integrate\" or \"strict\""),
            );
            PolicyMode::default()
        }
    };
    if mode == PolicyMode::Integrate && f.integrate.chain.is_empty() {
        report.error(
            &mode_loc,
            "mode \"integrate\" needs at least one [[integrate.chain]], a host chain to add \
             netd's accept rules to; e.g. family = \"inet\", table = \"filter\", chain = \
             \"forward\"",
        );
    }
    let strict = Loc::new("strict".to_owned(), 0..0);
    Policy {
        mode,
        source,
        integrate_chains: chains(report, f.integrate.chain),
        allow_ports: f
            .strict
            .allow_ports
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                allow_port(
                    report,
                    &strict.item("allow_ports", i, p.span()),
                    p.get_ref(),
                )
            })
            .collect(),
        allow_addresses: f
            .strict
            .allow_addresses
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                allow_address(
                    report,
                    &strict.item("allow_addresses", i, a.span()),
                    a.get_ref(),
                )
            })
            .collect(),
    }
}

fn chains(report: &mut Report<'_>, chains: Vec<Spanned<schema::Chain>>) -> Vec<ChainRef> {
    let integrate = Loc::new("integrate".to_owned(), 0..0);
    let mut out: Vec<(ChainRef, Loc)> = Vec::new();
    for (i, c) in chains.into_iter().enumerate() {
        let loc = integrate.item("chain", i, c.span());
        let c = c.into_inner();
        let family_ok = matches!(c.family.get_ref().as_str(), "ip" | "ip6" | "inet");
        if !family_ok {
            report.error(
                &loc.field("family", c.family.span()),
                format!(
                    "unknown nftables family `{}`; use \"inet\", \"ip\" or \"ip6\", the families \
                     whose chains see forwarded IP traffic",
                    c.family.get_ref()
                ),
            );
        }
        let table_ok = nft_name(
            report,
            &loc.field("table", c.table.span()),
            c.table.get_ref(),
        );
        let chain_ok = nft_name(
            report,
            &loc.field("chain", c.chain.span()),
            c.chain.get_ref(),
        );
        if family_ok && table_ok && chain_ok {
            let chain = ChainRef {
                family: c.family.into_inner(),
                table: c.table.into_inner(),
                chain: c.chain.into_inner(),
            };
            out.push((chain, loc));
        }
    }
    let keys = out.iter().map(|(c, loc)| {
        let key = (c.family.as_str(), c.table.as_str(), c.chain.as_str());
        (key, loc)
    });
    once_each(report, keys, |(family, table, chain), first| {
        format!("chain `{family} {table} {chain}` is already listed at {first}; list it once")
    });
    out.into_iter().map(|(c, _)| c).collect()
}

/// A name as `nft list ruleset` prints it unquoted: a letter or `_`, then
/// letters, digits, `_`, `-`, `.` and `/`.
fn nft_name(report: &mut Report<'_>, loc: &Loc, name: &str) -> bool {
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if !well_formed {
        report.error(
            loc,
            format!(
                "`{name}` is not an nftables name; write it as `nft list ruleset` shows it \
                 (a letter or `_`, then letters, digits, `_`, `-`, `.` or `/`)"
            ),
        );
    }
    well_formed
}

/// `tcp:80`, `udp:53`, `tcp:8000-8100`.
fn allow_port(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<(Proto, PortRange)> {
    let parsed = match text.split_once(':') {
        Some((proto, ports)) => match proto.trim() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            other => Err(format!(
                "unknown protocol `{other}` in `{text}`; use tcp or udp, as in `tcp:80` or \
                 `udp:53`"
            )),
        }
        .and_then(|proto| values::parse_port_range(ports).map(|range| (proto, range))),
        None => Err(format!(
            "`{text}` is not protocol:ports; write it as `tcp:80`, `udp:53` or `tcp:8000-8100`"
        )),
    };
    parsed.map_err(|message| report.error(loc, message)).ok()
}

/// A network, or one address (as a /32 or /128).
fn allow_address(report: &mut Report<'_>, loc: &Loc, text: &str) -> Option<IpNet> {
    let net = match (text.parse::<IpNet>(), text.parse::<IpAddr>()) {
        (Ok(net), _) => net,
        (_, Ok(ip)) => return Some(IpNet::from(ip)),
        _ => {
            report.error(
                loc,
                format!(
                    "`{text}` is not an address or a network; write e.g. `192.0.2.0/24`, \
                     `2001:db8::/32` or `192.0.2.1`"
                ),
            );
            return None;
        }
    };
    if net != net.trunc() {
        report.error(
            loc,
            format!(
                "`{text}` has host bits set; write the network `{}` or the single address `{}`",
                net.trunc(),
                net.addr()
            ),
        );
        return None;
    }
    Some(net)
}
