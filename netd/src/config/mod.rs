//! TOML config → `model::Desired`, with every problem reported at once.
//!
//! The pipeline: `deserialize` (text → `schema`, serde with spans), `build`
//! and `routes` (schema → `located`, the model with a location on every
//! value), `validate` (checks across the file), then `located` → model.
//! Errors are collected in a `report::Report` and sorted by position.
//! `testdata/config/valid.toml` is a complete example of the format.
//!
//! `[daemon] policy` names one of the policies in `/policies` (built into
//! the binary) or a policy file of the same format, read by `policy`; its
//! errors carry the policy file's own name, line and key.

mod anycast;
mod anycast_check;
mod build;
mod chunked;
mod daemon;
mod deserialize;
mod error;
mod file;
mod located;
mod policy;
mod process;
mod publish;
mod report;
mod routes;
mod schema;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use std::path::Path;

use crate::model::Desired;

pub use error::{ConfigError, ConfigErrors};
pub use file::MAX_CONFIG_BYTES;

/// Reads and validates the file; every problem found is in the Err, not just the first.
pub fn load(path: &Path) -> Result<Desired, ConfigErrors> {
    let file = crate::model::shown_line(&path.display().to_string());
    match file::read_capped(path) {
        Ok(text) => parse_in(&text, &file, path.parent().unwrap_or(Path::new(""))),
        Err(e) => Err(ConfigError {
            file,
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
        }
        .into()),
    }
}

/// Same, from text; `file` is the name used in error messages, and a
/// relative policy path is read from its directory.
pub fn parse(text: &str, file: &str) -> Result<Desired, ConfigErrors> {
    parse_in(
        text,
        file,
        Path::new(file).parent().unwrap_or(Path::new("")),
    )
}

fn parse_in(text: &str, file: &str, dir: &Path) -> Result<Desired, ConfigErrors> {
    let mut report = report::Report::new(file, text);
    let Some(schema) = chunked::read(text, &mut report) else {
        return Err(report.finish().expect_err("read failed without an error"));
    };
    let lowered = build::lower(schema, dir, &mut report);
    validate::check(&lowered, &mut report);
    report.finish()?;
    Ok(lowered.into_model())
}
