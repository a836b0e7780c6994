//! Command-line interface: clap definitions, one file per command, and the
//! mapping of failures to exit codes (0 ok, 1 runtime failure, 2 bad config
//! or usage).

// Every command's output goes through these, so that a reader closing the
// pipe early (`netd firewall show | head -1`) ends the output quietly
// rather than with a panic. Defined before the modules, which they cover.
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::cli::stdout::line(format_args!($($arg)*))
    };
}
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::stdout::text(format_args!($($arg)*))
    };
}
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::error_line(format_args!($($arg)*))
    };
}

mod args;
mod check;
mod converge;
mod destroy;
mod exec;
mod firewall;
mod hostnet;
mod output;
mod parse;
mod privilege;
mod status;
mod stdout;
mod strict;

use std::path::PathBuf;

pub use args::{Cli, Command, LogFormat};
pub use exec::exec;
pub use parse::{Stop, parse_from};
pub use privilege::require_root;
pub use stdout::{error_line, line, stdout_closed};

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

/// The writer lock for a command that changes the kernel or the state.
pub(crate) fn writer_lock(
    cli: &Cli,
    state_dir: &std::path::Path,
) -> Result<crate::state::WriterLock, CliError> {
    let wait = std::time::Duration::from_secs_f64(cli.wait);
    crate::state::WriterLock::acquire(state_dir, wait).map_err(CliError::runtime)
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
