//! The text of an explanation: the verdict and what decided it first, then
//! the path through every hook and base chain, then how to allow the flow.

use std::fmt::Write as _;

use super::flow::{Flow, HostAddr};
use super::outcome::{ChainPass, Decision, Explanation, FlowVerdict, HookPass, Outcome};
use super::packet::Phase;

/// A decision inside a chain whose table is already named.
fn short(d: &Decision) -> String {
    match d {
        Decision::Rule(r) => format!("rule {} handle {}: {}", r.chain, r.handle, r.text),
        Decision::Policy {
            chain,
            reached_end_of,
            policy,
            ..
        } if reached_end_of != chain => {
            format!("policy {policy} (end of {reached_end_of}, reached by goto)")
        }
        Decision::Policy { policy, .. } => format!("policy {policy}"),
    }
}

fn outcome_lines(out: &mut String, o: &Outcome, indent: usize, full: bool) {
    let pad = " ".repeat(indent);
    let name = |d: &Decision| if full { d.to_string() } else { short(d) };
    match o {
        Outcome::Accept { decision } => {
            let _ = writeln!(out, "{pad}accept: {}", name(decision));
        }
        Outcome::Drop { decision } => {
            let _ = writeln!(out, "{pad}DROP: {}", name(decision));
        }
        Outcome::Undetermined {
            at,
            reason,
            branches,
        } => {
            let _ = writeln!(
                out,
                "{pad}undetermined at {}\n{pad}  ({reason})",
                if full {
                    at.to_string()
                } else {
                    format!("{} handle {}: {}", at.chain, at.handle, at.text)
                }
            );
            for b in branches {
                let _ = writeln!(out, "{pad}  if {}:", b.assume);
                outcome_lines(out, &b.outcome, indent + 4, full);
            }
        }
    }
}

fn flow_line(f: &Flow) -> String {
    let host = match f.host {
        HostAddr::Addr(a) if a.is_ipv6() => format!("[{a}]:{}", f.host_port),
        HostAddr::Addr(a) => format!("{a}:{}", f.host_port),
        HostAddr::AnyLocal => format!("(any local address):{}", f.host_port),
    };
    let target = if f.target.is_ipv6() {
        format!("[{}]:{}", f.target, f.target_port)
    } else {
        format!("{}:{}", f.target, f.target_port)
    };
    let from = if f.from_host {
        " (from the host itself)".to_string()
    } else {
        format!(", in on {}", f.iif)
    };
    format!(
        "{} {} -> {host}{from}, DNAT to {target} on {}",
        f.proto, f.source, f.bridge
    )
}

fn chain_line(out: &mut String, c: &ChainPass) {
    let _ = writeln!(
        out,
        "    {} {} {}  ({}, {}, priority {}{})",
        c.family,
        c.table,
        c.chain,
        c.owner,
        c.kind,
        c.priority,
        if c.after_dnat { ", after DNAT" } else { "" }
    );
    match (&c.outcome, &c.skipped) {
        (Some(o), _) => outcome_lines(out, o, 6, false),
        (None, Some(why)) => {
            let _ = writeln!(out, "      skipped: {why}");
        }
        (None, None) => {}
    }
}

fn path_lines(out: &mut String, hooks: &[HookPass]) {
    for h in hooks {
        let _ = writeln!(out, "  {}: {}", h.hook, h.packet);
        if h.chains.is_empty() {
            let _ = writeln!(out, "    no base chains");
        }
        for c in &h.chains {
            chain_line(out, c);
        }
    }
}

pub(crate) fn explanation_text(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "flow: {}", flow_line(&e.flow));
    let verdict = match e.verdict {
        FlowVerdict::Accepted => "accepted",
        FlowVerdict::Dropped => "DROPPED",
        FlowVerdict::Undetermined => "undetermined",
    };
    match &e.decided_by {
        Some(d) if d.packet != Phase::First => {
            let _ = writeln!(out, "verdict: {verdict} ({})", d.packet);
        }
        _ => {
            let _ = writeln!(out, "verdict: {verdict}");
        }
    }
    if let Some(d) = &e.decided_by {
        let _ = writeln!(
            out,
            "  in {} {} {} at hook {}{}:",
            d.family,
            d.table,
            d.chain,
            d.hook,
            if d.packet == Phase::First {
                String::new()
            } else {
                format!(", for the {}", d.packet)
            }
        );
        outcome_lines(&mut out, &d.outcome, 4, true);
    }
    for h in &e.host {
        let what = match h.effect {
            FlowVerdict::Dropped => "DROPPED by the host",
            _ => "undetermined",
        };
        let _ = writeln!(
            out,
            "  {what}: {}
    check: {}",
            h.reason, h.check
        );
    }
    for (title, hooks) in [
        ("path", &e.hooks),
        ("reply path", &e.reply),
        ("later packets' path", &e.later),
    ] {
        if hooks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        path_lines(&mut out, hooks);
    }
    if !e.fixes.is_empty() {
        let _ = writeln!(out, "to allow it:");
        for f in &e.fixes {
            let _ = writeln!(out, "  {}", f.command);
            let _ = writeln!(out, "      ({})", f.note);
        }
    }
    if !e.notes.is_empty() {
        let _ = writeln!(out, "notes:");
        for n in &e.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}
