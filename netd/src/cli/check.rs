//! `netd check`: validation only.

use std::path::Path;

use serde::Serialize;

use super::CliError;
use super::output::print_json;

#[derive(Serialize)]
struct Checked {
    config: String,
    ok: bool,
    namespaces: usize,
    bridges: usize,
    interfaces: usize,
    publishes: usize,
}

pub fn run(path: &Path, json: bool) -> Result<u8, CliError> {
    let desired = crate::config::load(path).map_err(CliError::Config)?;
    let ns = desired.namespaces.values();
    let checked = Checked {
        config: path.display().to_string(),
        ok: true,
        namespaces: desired.namespaces.len(),
        bridges: desired.bridges.len(),
        interfaces: ns.clone().map(|n| n.interfaces.len()).sum(),
        publishes: ns.map(|n| n.publish.len()).sum(),
    };
    if json {
        print_json(&checked);
    } else {
        println!(
            "{}: ok ({} namespaces, {} bridges)",
            checked.config, checked.namespaces, checked.bridges
        );
    }
    Ok(0)
}
