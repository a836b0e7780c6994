//! Command-line interface: clap definitions, one file per command, and the
//! mapping of failures to exit codes (0 ok, 1 runtime failure, 2 bad config
//! or usage).

mod args;
mod check;
mod converge;
mod destroy;
mod exec;
mod firewall;
mod output;
mod status;

use std::path::PathBuf;

pub use args::{Cli, Command, LogFormat};
pub use exec::exec;

use crate::config::ConfigErrors;
use crate::model::{DEFAULT_NETNS_DIR, DEFAULT_STATE_DIR, Desired};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(ConfigErrors),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Runtime(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Runtime(_) => 1,
        }
    }

    pub(crate) fn runtime(e: impl std::fmt::Display) -> Self {
        CliError::Runtime(e.to_string())
    }
}

impl From<crate::engine::EngineError> for CliError {
    fn from(e: crate::engine::EngineError) -> Self {
        CliError::Runtime(e.to_string())
    }
}

/// Loads the config and applies the command line's directory overrides,
/// which win over `[daemon]`.
pub(crate) fn load_config(cli: &Cli, path: &std::path::Path) -> Result<Desired, CliError> {
    let mut desired = crate::config::load(path).map_err(CliError::Config)?;
    if let Some(dir) = &cli.netns_dir {
        desired.netns_dir = dir.clone();
    }
    if let Some(dir) = &cli.state_dir {
        desired.state_dir = dir.clone();
    }
    Ok(desired)
}

/// Directories for commands that need no config.
pub(crate) fn dirs(cli: &Cli) -> (PathBuf, PathBuf) {
    (
        cli.netns_dir
            .clone()
            .unwrap_or_else(|| DEFAULT_NETNS_DIR.into()),
        cli.state_dir
            .clone()
            .unwrap_or_else(|| DEFAULT_STATE_DIR.into()),
    )
}

/// Runs every command but `exec` (which replaces the process before any
/// runtime starts). Returns the exit code.
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    match &cli.command {
        Command::Check { config } => check::run(config),
        Command::Plan {
            config,
            json,
            prune,
        } => converge::run(&cli, config, *json, *prune, false).await,
        Command::Apply {
            config,
            json,
            prune,
        } => converge::run(&cli, config, *json, *prune, true).await,
        Command::Status { json } => status::run(&cli, *json).await,
        Command::Destroy { name, all, json } => {
            destroy::run(&cli, name.as_deref(), *all, *json).await
        }
        Command::Firewall { command } => firewall::run(&cli, command).await,
        Command::Exec { .. } => Err(CliError::Usage(
            "exec is handled before the runtime starts".into(),
        )),
    }
}
