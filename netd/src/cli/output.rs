//! Text and JSON rendering shared by the commands.

use crate::apply::Report;
use crate::plan::Plan;

pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
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
