//! Text and JSON rendering shared by the commands. Every `--json` document
//! is one object with `schema_version` at the top (see docs/json.md); a
//! failure under `--json` is such a document too, with an `error` object.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::CliError;
use crate::apply::Report;
use crate::plan::Plan;

/// Bumped when a field changes meaning or goes away; new fields do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// `value` (an object) with `schema_version` added at its top level.
pub fn versioned(value: &impl Serialize) -> Value {
    let mut out = Map::new();
    out.insert("schema_version".into(), json!(SCHEMA_VERSION));
    match serde_json::to_value(value) {
        Ok(Value::Object(fields)) => out.extend(fields),
        Ok(other) => {
            out.insert("value".into(), other);
        }
        Err(e) => {
            out.insert(
                "error".into(),
                json!({"kind": "runtime", "exit_code": 1, "message": format!("cannot render JSON: {e}")}),
            );
        }
    }
    Value::Object(out)
}

pub fn print_json(value: &impl Serialize) {
    print_value(&versioned(value));
}

/// Prints a document that already carries its `schema_version`.
pub fn print_value(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}

/// The `--json` form of a failure: the same facts as the text on stderr,
/// with the exit code the process ends with.
pub fn error_json(err: &CliError) -> Value {
    let kind = match err {
        CliError::Config(_) => "config",
        CliError::Usage(_) => "usage",
        CliError::Runtime(_) => "runtime",
        CliError::Conflicts(_) => "conflict",
        CliError::Refused(_) => "strict",
        CliError::Busy { .. } => "busy",
    };
    let mut e = json!({
        "kind": kind,
        "exit_code": err.exit_code(),
        "message": err.to_string(),
    });
    match err {
        CliError::Config(errors) => e["errors"] = json!(errors),
        CliError::Conflicts(conflicts) => e["conflicts"] = json!(conflicts),
        CliError::Refused(refusals) => e["refusals"] = json!(refusals),
        CliError::Busy { pid, .. } => e["pid"] = json!(pid),
        CliError::Usage(_) | CliError::Runtime(_) => {}
    }
    versioned(&json!({ "error": e }))
}

fn print_orphans(plan: &Plan) {
    for o in &plan.orphans {
        eprintln!(
            "note: {o} is netd's but no longer in the config; `netd apply --prune` removes it"
        );
    }
}

pub fn print_plan(plan: &Plan) {
    if plan.is_empty() {
        println!("no changes");
    }
    for c in &plan.changes {
        println!("{c}");
    }
    print_orphans(plan);
}

pub fn print_report(report: &Report, plan: &Plan) {
    if report.outcomes.is_empty() {
        println!("no changes");
    }
    for c in report.done() {
        println!("{c}");
    }
    let failed: Vec<_> = report.failed().collect();
    if !failed.is_empty() {
        for o in &failed {
            eprintln!("error: {}: {}", o.change, o.error.as_deref().unwrap_or(""));
        }
        eprintln!(
            "applied {} of {} changes, {} failed; what was applied stays, and `netd apply` converges from here once the cause is fixed",
            report.outcomes.len() - failed.len(),
            report.outcomes.len(),
            failed.len()
        );
    }
    print_orphans(plan);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, ConfigErrors};

    #[test]
    fn every_document_carries_the_schema_version() {
        let v = versioned(&json!({"changes": []}));
        assert_eq!(v["schema_version"], 1);
        assert!(v["changes"].is_array());
    }

    #[test]
    fn a_config_error_is_located_with_numbers() {
        let err = CliError::Config(ConfigErrors(vec![ConfigError {
            file: "netd.toml".into(),
            line: 3,
            column: 7,
            key: "namespace.web.interface[0].mtu".into(),
            message: "mtu 70000 is out of range".into(),
        }]));
        let v = error_json(&err);
        assert_eq!(v["schema_version"], 1);
        let e = &v["error"];
        assert_eq!(
            (e["kind"].as_str(), e["exit_code"].as_u64()),
            (Some("config"), Some(2))
        );
        assert_eq!(e["errors"][0]["line"], 3);
        assert_eq!(e["errors"][0]["key"], "namespace.web.interface[0].mtu");
    }

    #[test]
    fn conflicts_and_refusals_keep_exit_code_1() {
        let conflict = crate::plan::Conflict {
            object: "link eth0".into(),
            problem: "exists and is not netd's".into(),
        };
        let v = error_json(&CliError::Conflicts(vec![conflict]));
        assert_eq!(v["error"]["kind"], "conflict");
        assert_eq!(v["error"]["exit_code"], 1);
        assert_eq!(v["error"]["conflicts"][0]["object"], "link eth0");
        let v = error_json(&CliError::Refused(vec!["publish web 22/tcp".into()]));
        assert_eq!(
            (
                v["error"]["kind"].as_str(),
                v["error"]["exit_code"].as_u64()
            ),
            (Some("strict"), Some(1))
        );
        assert_eq!(v["error"]["refusals"][0], "publish web 22/tcp");
        let busy = CliError::Busy {
            pid: Some(4242),
            message: "another netd (pid 4242) is applying".into(),
        };
        let v = error_json(&busy);
        assert_eq!(
            (v["error"]["kind"].as_str(), v["error"]["pid"].as_u64()),
            (Some("busy"), Some(4242))
        );
    }
}
