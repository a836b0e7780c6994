//! `[[anycast.NAME.check]]`: one table for every kind of check. Each kind
//! takes its own keys; a key of another kind is reported rather than
//! ignored, since a forgotten `kind` would otherwise check something else.

use std::net::IpAddr;
use std::time::Duration;

use toml::Spanned;

use super::process::secs;
use super::report::{Loc, Report};
use super::schema::AnycastCheck;
use super::values;
use crate::model::{
    Check, CheckKind, DEFAULT_CHECK_INTERVAL, DEFAULT_CHECK_TIMEOUT, DEFAULT_FALL, DEFAULT_RISE,
};

/// The shortest interval: checks any faster cost CPU without catching
/// anything sooner than BFD would.
const MIN_INTERVAL: f64 = 0.05;
const MIN_TIMEOUT: f64 = 0.01;
const MAX_STREAK: i64 = 100;

pub const QTYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"];
pub const RCODES: &[&str] = &[
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
];

pub(super) fn lower_check(
    report: &mut Report<'_>,
    loc: &Loc,
    c: AnycastCheck,
    default_address: Option<IpAddr>,
) -> Option<Check> {
    let kind_name = c.kind.get_ref().as_str();
    let allowed: &[&str] = match kind_name {
        "tcp" => &["address", "port"],
        "udp" => &["address", "port", "payload", "expect"],
        "http" => &["address", "port", "path", "host", "status", "body"],
        "dns" => &["address", "port", "name", "qtype", "rcode", "answer"],
        "exec" => &["command", "args"],
        other => {
            report.error(
                &loc.field("kind", c.kind.span()),
                format!("unknown check kind `{other}`; use tcp, udp, http, dns or exec"),
            );
            return None;
        }
    };
    for (key, span) in given_keys(&c) {
        if !allowed.contains(&key) {
            report.error(
                &loc.field(key, span),
                format!("`{key}` does not apply to a {kind_name} check"),
            );
        }
    }
    let timing = timing(report, loc, &c);
    let kind = lower_kind(report, loc, c, default_address)?;
    let (interval, interval_transition, timeout, rise, fall) = timing?;
    Some(Check {
        kind,
        interval,
        interval_transition,
        timeout,
        rise,
        fall,
    })
}

type Timing = (Duration, Duration, Duration, u32, u32);

fn timing(report: &mut Report<'_>, loc: &Loc, c: &AnycastCheck) -> Option<Timing> {
    let interval = secs(report, loc, "interval", c.interval.clone(), MIN_INTERVAL)
        .unwrap_or(DEFAULT_CHECK_INTERVAL);
    let transition = secs(
        report,
        loc,
        "interval_transition",
        c.interval_transition.clone(),
        MIN_INTERVAL,
    )
    .unwrap_or(interval);
    let timeout = secs(report, loc, "timeout", c.timeout.clone(), MIN_TIMEOUT)
        .unwrap_or(DEFAULT_CHECK_TIMEOUT);
    let mut ok = true;
    if let Some(t) = &c.timeout {
        for (key, limit) in [("interval", interval), ("interval_transition", transition)] {
            if timeout >= limit {
                report.error(
                    &loc.field("timeout", t.span()),
                    format!(
                        "timeout {} s is not below {key} {} s; a check must end before the \
                         next one starts",
                        timeout.as_secs_f64(),
                        limit.as_secs_f64()
                    ),
                );
                ok = false;
                break;
            }
        }
    } else if DEFAULT_CHECK_TIMEOUT >= transition.min(interval) {
        report.error(
            loc,
            format!(
                "the default timeout ({} s) is not below the interval; set `timeout` below {} s",
                DEFAULT_CHECK_TIMEOUT.as_secs_f64(),
                transition.min(interval).as_secs_f64()
            ),
        );
        ok = false;
    }
    let rise = streak(report, loc, "rise", &c.rise, DEFAULT_RISE);
    let fall = streak(report, loc, "fall", &c.fall, DEFAULT_FALL);
    ok.then_some((interval, transition, timeout, rise?, fall?))
}

fn streak(
    report: &mut Report<'_>,
    loc: &Loc,
    key: &str,
    value: &Option<Spanned<i64>>,
    default: u32,
) -> Option<u32> {
    let Some(v) = value else {
        return Some(default);
    };
    let n = *v.get_ref();
    if (1..=MAX_STREAK).contains(&n) {
        return Some(n as u32);
    }
    report.error(
        &loc.field(key, v.span()),
        format!("{key} = {n} is out of range; use 1..={MAX_STREAK} consecutive results"),
    );
    None
}

fn lower_kind(
    report: &mut Report<'_>,
    loc: &Loc,
    c: AnycastCheck,
    default_address: Option<IpAddr>,
) -> Option<CheckKind> {
    let kind_name = c.kind.get_ref().clone();
    if kind_name == "exec" {
        let Some(command) = c.command else {
            report.error(loc, "an exec check needs `command`");
            return None;
        };
        if command.get_ref().is_empty() {
            report.error(
                &loc.field("command", command.span()),
                "the command cannot be empty",
            );
            return None;
        }
        return Some(CheckKind::Exec {
            command: command.into_inner(),
            args: c
                .args
                .unwrap_or_default()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
        });
    }
    let address = match &c.address {
        Some(a) => values::ip(
            report,
            &loc.field("address", a.span()),
            a.get_ref(),
            "an address",
        )?,
        None => default_address?,
    };
    let default_port = match kind_name.as_str() {
        "dns" => Some(53),
        "http" => Some(80),
        _ => None,
    };
    let port = match &c.port {
        Some(p) => match u16::try_from(*p.get_ref()) {
            Ok(port) if port != 0 => port,
            _ => {
                report.error(
                    &loc.field("port", p.span()),
                    format!("port {} is out of range; use 1..=65535", p.get_ref()),
                );
                return None;
            }
        },
        None => match default_port {
            Some(port) => port,
            None => {
                report.error(loc, format!("a {kind_name} check needs `port`"));
                return None;
            }
        },
    };
    let text = |v: Option<Spanned<String>>| v.map(Spanned::into_inner);
    Some(match kind_name.as_str() {
        "tcp" => CheckKind::Tcp { address, port },
        "udp" => {
            let Some(payload) = c.payload else {
                report.error(loc, "a udp check needs `payload`, the datagram it sends");
                return None;
            };
            CheckKind::Udp {
                address,
                port,
                payload: payload.into_inner().into_bytes(),
                expect: c.expect.map(|e| e.into_inner().into_bytes()),
            }
        }
        "http" => {
            let path = match c.path {
                Some(p) if !p.get_ref().starts_with('/') => {
                    report.error(
                        &loc.field("path", p.span()),
                        format!("`{}` must start with /", p.get_ref()),
                    );
                    return None;
                }
                Some(p) => p.into_inner(),
                None => "/".to_string(),
            };
            let status = match c.status {
                Some(s) if !(100..=599).contains(s.get_ref()) => {
                    report.error(
                        &loc.field("status", s.span()),
                        format!(
                            "status {} is not an HTTP status; use 100..=599",
                            s.get_ref()
                        ),
                    );
                    return None;
                }
                Some(s) => *s.get_ref() as u16,
                None => 200,
            };
            CheckKind::Http {
                address,
                port,
                path,
                host: text(c.host),
                status,
                body: text(c.body),
            }
        }
        _ => {
            let Some(name) = c.name else {
                report.error(loc, "a dns check needs `name`, the name it queries");
                return None;
            };
            let qtype = one_of(report, loc, "qtype", c.qtype, QTYPES, "A")?;
            let rcode = one_of(report, loc, "rcode", c.rcode, RCODES, "NOERROR")?;
            CheckKind::Dns {
                address,
                port,
                name: name.into_inner(),
                qtype,
                rcode,
                answer: text(c.answer),
            }
        }
    })
}

fn one_of(
    report: &mut Report<'_>,
    loc: &Loc,
    key: &str,
    value: Option<Spanned<String>>,
    allowed: &[&str],
    default: &str,
) -> Option<String> {
    let Some(v) = value else {
        return Some(default.to_string());
    };
    let upper = v.get_ref().to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        return Some(upper);
    }
    report.error(
        &loc.field(key, v.span()),
        format!(
            "unknown {key} `{}`; use one of {}",
            v.get_ref(),
            allowed.join(", ")
        ),
    );
    None
}

/// The kind-specific keys the user wrote, with where they are.
fn given_keys(c: &AnycastCheck) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let mut keys = Vec::new();
    let mut add = |key: &'static str, span: Option<std::ops::Range<usize>>| {
        if let Some(span) = span {
            keys.push((key, span));
        }
    };
    add("address", c.address.as_ref().map(Spanned::span));
    add("port", c.port.as_ref().map(Spanned::span));
    add("name", c.name.as_ref().map(Spanned::span));
    add("qtype", c.qtype.as_ref().map(Spanned::span));
    add("rcode", c.rcode.as_ref().map(Spanned::span));
    add("answer", c.answer.as_ref().map(Spanned::span));
    add("path", c.path.as_ref().map(Spanned::span));
    add("host", c.host.as_ref().map(Spanned::span));
    add("status", c.status.as_ref().map(Spanned::span));
    add("body", c.body.as_ref().map(Spanned::span));
    add("payload", c.payload.as_ref().map(Spanned::span));
    add("expect", c.expect.as_ref().map(Spanned::span));
    add("command", c.command.as_ref().map(Spanned::span));
    add(
        "args",
        c.args.as_ref().and_then(|a| a.first().map(Spanned::span)),
    );
    keys
}
