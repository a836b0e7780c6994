//! The running daemon's part of `netd status`: its pid, its repairs and
//! its processes. The rest of status is read from the kernel directly, so
//! it is right even when the daemon is busy or gone.

use std::path::Path;

use serde_json::Value;

use crate::daemon::protocol::{self, Command, Request};

/// The daemon's answer, or None when no daemon runs. A daemon that does
/// not answer in time is reported, not waited for.
pub(super) async fn ask(state_dir: &Path) -> Option<Value> {
    match protocol::ask_briefly(state_dir, &Request::new(Command::Status)).await {
        Ok(Some(answer)) if answer["ok"] == true => Some(answer["daemon"].clone()),
        Ok(Some(answer)) => {
            tracing::warn!(answer = %answer, "the netd daemon refused the status request");
            None
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask the netd daemon");
            None
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

pub(super) fn print(daemon: &Value) {
    let stats = &daemon["stats"];
    println!(
        "daemon pid {} since {}, watching {} namespaces; {} drift repairs (last {}), {} full syncs",
        text(&daemon["pid"]),
        text(&daemon["started"]),
        text(&daemon["watching"]["namespaces"]),
        text(&stats["repairs"]["count"]),
        text(&stats["repairs"]["last"]),
        text(&stats["resyncs"]["count"]),
    );
    if let Some(e) = stats["last_error"].as_str() {
        println!("  last cycle failed: {e}");
    }
    for p in daemon["processes"].as_array().into_iter().flatten() {
        println!(
            "  process {}/{} {} pid {} restarts {} last exit {} uptime {}s",
            text(&p["namespace"]),
            text(&p["name"]),
            text(&p["state"]),
            text(&p["pid"]),
            text(&p["restarts"]),
            text(&p["last_exit"]),
            text(&p["uptime_seconds"]),
        );
    }
    print_anycast(daemon);
}

/// One line per anycast service, then one per check.
fn print_anycast(daemon: &Value) {
    let Some(services) = daemon["anycast"].as_object() else {
        return;
    };
    for (name, s) in services {
        let state = if s["announced"] == true {
            "announced"
        } else {
            "withdrawn"
        };
        let forced = s["forced"]
            .as_str()
            .map(|f| format!(" (forced: {f})"))
            .unwrap_or_default();
        println!(
            "  anycast {name} in {}: {state}{forced}: {}",
            text(&s["namespace"]),
            text(&s["reason"]),
        );
        if let Some(t) = s["last_transition"].as_object() {
            println!(
                "    last {} at {}: {}",
                text(&t["to"]),
                wall_clock(&t["at"]),
                text(&t["reason"])
            );
        }
        for c in s["checks"].as_array().into_iter().flatten() {
            println!(
                "    check {} {} (passes {}/{}, failures {}/{}) last {} in {} ms: {}",
                text(&c["check"]),
                text(&c["state"]),
                text(&c["passes"]),
                text(&c["rise"]),
                text(&c["failures"]),
                text(&c["fall"]),
                if c["last_ok"] == true { "pass" } else { "fail" },
                text(&c["last_latency_ms"]),
                text(&c["last_detail"]),
            );
        }
    }
}

/// Seconds since the epoch, as the JSON has them, in RFC 3339 for people.
fn wall_clock(v: &Value) -> String {
    match v.as_f64() {
        Some(secs) if secs.is_finite() && secs >= 0.0 => humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs),
        )
        .to_string(),
        _ => text(v),
    }
}
