//! `netd check`: validation only.

use std::path::Path;

use super::CliError;

pub fn run(path: &Path) -> Result<u8, CliError> {
    let desired = crate::config::load(path).map_err(CliError::Config)?;
    println!(
        "{}: ok ({} namespaces, {} bridges)",
        path.display(),
        desired.namespaces.len(),
        desired.bridges.len()
    );
    Ok(0)
}
