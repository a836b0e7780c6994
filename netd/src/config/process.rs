//! `[[namespace.NAME.process]]` tables: processes `netd run` supervises in
//! the namespace. Users and groups are only checked for form here; they
//! are looked up when the process starts, as they may not exist yet.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use super::located::Process;
use super::report::{Loc, Report};
use super::schema::{self, Scalar};
use super::validate::once_each;
use super::values;
use crate::model::{ProcessConfig, check_process_name, shown};
use crate::supervise::{Capability, RestartPolicy};

/// Backoff defaults of the config: the first restart after a second, at
/// most a minute apart.
const RESTART_DELAY: Duration = Duration::from_secs(1);
const RESTART_DELAY_MAX: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Below this a crash loop would spin; above a day is a typo.
const MIN_DELAY: f64 = 0.1;
const MAX_SECONDS: f64 = 86_400.0;

pub(super) fn lower_process(report: &mut Report<'_>, loc: Loc, p: schema::Process) -> Process {
    let name_loc = loc.field("name", p.name.span());
    reported(report, &name_loc, check_process_name(p.name.get_ref()));
    let command = p.command.get_ref();
    let command_loc = loc.field("command", p.command.span());
    if command.is_empty() {
        report.error(&command_loc, "the command cannot be empty");
    } else if command.contains('/') && !command.starts_with('/') {
        report.error(
            &command_loc,
            format!(
                "`{command}` is a relative path; write an absolute path, or a bare name that is \
                 looked up in PATH"
            ),
        );
    }
    no_nul(report, &command_loc, command);
    for (i, arg) in p.args.iter().enumerate() {
        no_nul(report, &loc.item("args", i, arg.span()), arg.get_ref());
    }
    let env = env(report, &loc, p.env);
    let working_dir = p.working_dir.and_then(|w| {
        let wloc = loc.field("working_dir", w.span());
        no_nul(report, &wloc, w.get_ref());
        values::absolute_path(report, &wloc, w.get_ref())
    });
    let user = p.user.and_then(|u| account(report, &loc, "user", u));
    let group = p.group.and_then(|g| account(report, &loc, "group", g));
    let capabilities = p.capabilities.map(|list| capabilities(report, &loc, &list));
    let restart = p.restart.map_or(RestartPolicy::Always, |r| {
        restart_policy(report, &loc.field("restart", r.span()), r.get_ref())
    });
    let restart_delay =
        secs(report, &loc, "restart_delay", p.restart_delay, MIN_DELAY).unwrap_or(RESTART_DELAY);
    let mut restart_delay_max = secs(
        report,
        &loc,
        "restart_delay_max",
        p.restart_delay_max.clone(),
        MIN_DELAY,
    )
    .unwrap_or(RESTART_DELAY_MAX);
    if let Some(max) = &p.restart_delay_max
        && restart_delay_max < restart_delay
    {
        report.error(
            &loc.field("restart_delay_max", max.span()),
            format!(
                "restart_delay_max ({}s) is below restart_delay ({}s); the cap cannot be \
                 smaller than the first delay",
                restart_delay_max.as_secs_f64(),
                restart_delay.as_secs_f64()
            ),
        );
    }
    restart_delay_max = restart_delay_max.max(restart_delay);
    let stop_timeout =
        secs(report, &loc, "stop_timeout", p.stop_timeout, 0.0).unwrap_or(STOP_TIMEOUT);
    let stop_signal = p.stop_signal.map_or(nix::libc::SIGTERM, |s| {
        signal(report, &loc.field("stop_signal", s.span()), s.get_ref())
    });
    let config = ProcessConfig {
        name: p.name.get_ref().clone(),
        command: command.clone(),
        args: p.args.into_iter().map(Spanned::into_inner).collect(),
        env,
        working_dir,
        user,
        group,
        capabilities,
        no_new_privs: p.no_new_privs.unwrap_or(true),
        restart,
        restart_delay,
        restart_delay_max,
        stop_signal,
        stop_timeout,
    };
    Process {
        name: name_loc.at(p.name.into_inner()),
        config,
    }
}

/// Process names are unique within their namespace: they name the process
/// in logs and in `netd status`.
pub(super) fn names_unique(processes: &[Process], report: &mut Report<'_>) {
    let names = processes
        .iter()
        .map(|p| (p.name.value.as_str(), &p.name.loc));
    once_each(report, names, |name, first| {
        format!(
            "process `{name}` is already defined at {first}; names are unique within a namespace"
        )
    });
}

fn reported(report: &mut Report<'_>, loc: &Loc, checked: Result<(), String>) -> bool {
    checked.map_err(|e| report.error(loc, e)).is_ok()
}

/// A NUL cannot reach exec: the kernel takes C strings.
fn no_nul(report: &mut Report<'_>, loc: &Loc, text: &str) {
    if text.contains('\0') {
        report.error(
            loc,
            "contains a NUL character, which a process cannot be given",
        );
    }
}

fn env(
    report: &mut Report<'_>,
    loc: &Loc,
    table: BTreeMap<Spanned<String>, Spanned<String>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let kloc = loc.field("env", key.span());
        let kloc = kloc.field(key.get_ref(), key.span());
        let k = key.get_ref();
        if k.is_empty() || k.contains('=') {
            report.error(
                &kloc,
                format!("`{k}` is not an environment variable name (no `=`, not empty)"),
            );
        }
        no_nul(report, &kloc, k);
        no_nul(report, &kloc, value.get_ref());
        out.insert(key.into_inner(), value.into_inner());
    }
    out
}

/// A user or group: a name as useradd accepts it, or a numeric id.
fn account(report: &mut Report<'_>, parent: &Loc, key: &str, v: Spanned<Scalar>) -> Option<String> {
    let loc = parent.field(key, v.span());
    let text = match v.into_inner() {
        Scalar::Int(n) if (0..i128::from(u32::MAX)).contains(&n) => return Some(n.to_string()),
        Scalar::Int(n) => {
            report.error(
                &loc,
                format!("{key} id {n} is out of range; use 0..{}", u32::MAX),
            );
            return None;
        }
        Scalar::Float(_) => {
            report.error(&loc, format!("expected a {key} name or a numeric id"));
            return None;
        }
        Scalar::Text(t) => t,
    };
    let bad = text.is_empty()
        || text.len() > 32
        || text.starts_with('-')
        || text
            .chars()
            .any(|c| matches!(c, ':' | '/' | ',') || c.is_whitespace() || c.is_control());
    if bad {
        report.error(
            &loc,
            format!(
                "`{}` is not a valid {key} name; use a name such as \"bird\" or a numeric id",
                shown(&text)
            ),
        );
        return None;
    }
    Some(text)
}

fn capabilities(report: &mut Report<'_>, loc: &Loc, list: &[Spanned<String>]) -> Vec<Capability> {
    let mut out = Vec::new();
    for (i, name) in list.iter().enumerate() {
        match Capability::parse(name.get_ref()) {
            Ok(c) if !out.contains(&c) => out.push(c),
            Ok(_) => {}
            Err(e) => report.error(&loc.item("capabilities", i, name.span()), e),
        }
    }
    out.sort();
    out
}

fn restart_policy(report: &mut Report<'_>, loc: &Loc, text: &str) -> RestartPolicy {
    match text {
        "always" => RestartPolicy::Always,
        "on-failure" => RestartPolicy::OnFailure,
        "never" => RestartPolicy::Never,
        _ => {
            report.error(
                loc,
                format!(
                    "unknown restart policy `{text}`; use \"always\", \"on-failure\" or \"never\""
                ),
            );
            RestartPolicy::Always
        }
    }
}

/// Seconds as an integer or a float, at least `min`, at most a day.
pub(super) fn secs(
    report: &mut Report<'_>,
    parent: &Loc,
    key: &str,
    value: Option<Spanned<Scalar>>,
    min: f64,
) -> Option<Duration> {
    let v = value?;
    let loc = parent.field(key, v.span());
    let n = match v.get_ref() {
        Scalar::Int(n) => *n as f64,
        Scalar::Float(f) => *f,
        Scalar::Text(t) => {
            report.error(
                &loc,
                format!("`{t}` is not a number of seconds; write a number such as 5 or 0.5"),
            );
            return None;
        }
    };
    if n.is_finite() && (min..=MAX_SECONDS).contains(&n) {
        return Some(Duration::from_secs_f64(n));
    }
    report.error(
        &loc,
        format!("{key} = {n} is out of range; use {min}..={MAX_SECONDS} seconds"),
    );
    None
}

/// `"SIGTERM"`, `"TERM"`, `"sigterm"` or a number up to SIGRTMAX.
fn signal(report: &mut Report<'_>, loc: &Loc, v: &Scalar) -> i32 {
    let parsed = match v {
        Scalar::Int(n) => i32::try_from(*n)
            .ok()
            .filter(|n| (1..=nix::libc::SIGRTMAX()).contains(n)),
        Scalar::Text(t) => {
            let upper = t.to_ascii_uppercase();
            let name = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            name.parse::<nix::sys::signal::Signal>()
                .ok()
                .map(|s| s as i32)
        }
        Scalar::Float(_) => None,
    };
    parsed.unwrap_or_else(|| {
        let shown_value = match v {
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(t) => shown(t),
        };
        report.error(
            loc,
            format!(
                "`{shown_value}` is not a signal; write a name such as \"SIGTERM\" or \"INT\", \
                 or a number from 1 to {}",
                nix::libc::SIGRTMAX()
            ),
        );
        nix::libc::SIGTERM
    })
}
