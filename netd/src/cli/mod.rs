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

mod anycast;
mod args;
mod check;
mod converge;
mod daemon_status;
mod destroy;
mod drift;
mod exec;
mod firewall;
mod output;
mod parse;
mod privilege;
mod run;
mod status;
mod stdout;

use std::path::PathBuf;

pub use anycast::AnycastCommand;
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
    /// Objects netd would have to take over to converge; nothing changed.
    #[error("{}\nnothing was changed", lines("conflict: ", .0))]
    Conflicts(Vec<crate::plan::Conflict>),
    /// Publishes that strict mode refuses; nothing changed.
    #[error("the strict policy refuses {} publish(es):\n{}\nnothing was changed", .0.len(), lines("", .0))]
    Refused(Vec<String>),
    /// Another netd holds the writer lock (pid when it wrote it).
    #[error("{message}")]
    Busy { pid: Option<u32>, message: String },
}

fn lines<T: std::fmt::Display>(prefix: &str, items: &[T]) -> String {
    let lines: Vec<String> = items.iter().map(|i| format!("{prefix}{i}")).collect();
    lines.join("\n")
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Runtime(_)
            | CliError::Conflicts(_)
            | CliError::Refused(_)
            | CliError::Busy { .. } => 1,
        }
    }

    pub(crate) fn runtime(e: impl std::fmt::Display) -> Self {
        CliError::Runtime(e.to_string())
    }
}

impl From<crate::engine::EngineError> for CliError {
    fn from(e: crate::engine::EngineError) -> Self {
        use crate::engine::EngineError;
        use crate::state::LockError;
        match e {
            EngineError::Lock(LockError::Busy { pid, .. }) => CliError::Busy {
                pid,
                message: e.to_string(),
            },
            EngineError::Conflicts(c) => CliError::Conflicts(c),
            EngineError::Refused(r) => CliError::Refused(r),
            other => CliError::Runtime(other.to_string()),
        }
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

/// Exit code of `plan --exit-code` with changes pending, and of `status`
/// when something netd owns is missing or has drifted: distinct from the
/// failures (1, 2) so that timers and monitoring can tell them apart.
pub const EXIT_PENDING: u8 = 3;

/// Whether the command was asked for `--json`: its failures are then a JSON
/// document on stdout too.
fn wants_json(command: &Command) -> bool {
    match command {
        Command::Check { json, .. }
        | Command::Plan { json, .. }
        | Command::Apply { json, .. }
        | Command::Status { json, .. }
        | Command::Destroy { json, .. }
        | Command::Reload { json } => *json,
        Command::Firewall { command } => command.json(),
        Command::Anycast { command } => command.json(),
        Command::Exec { .. } | Command::Run { .. } => false,
    }
}

/// Runs every command but `exec` (which replaces the process before any
/// runtime starts). Returns the exit code; under `--json` a failure is also
/// printed as JSON on stdout, while the caller still reports it on stderr.
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    let result = run_command(&cli).await;
    if let Err(err) = &result
        && wants_json(&cli.command)
    {
        output::print_value(&output::error_json(err));
    }
    result
}

async fn run_command(cli: &Cli) -> Result<u8, CliError> {
    match &cli.command {
        Command::Check { config, json } => check::run(config, *json),
        Command::Plan {
            config,
            json,
            prune,
            exit_code,
        } => {
            let code = converge::run(cli, config, *json, *prune, false).await?;
            Ok(if *exit_code { code } else { 0 })
        }
        Command::Apply {
            config,
            json,
            prune,
        } => converge::run(cli, config, *json, *prune, true).await,
        Command::Status { json, config } => status::run(cli, config.as_deref(), *json).await,
        Command::Destroy { name, all, json } => {
            destroy::run(cli, name.as_deref(), *all, *json).await
        }
        Command::Firewall { command } => firewall::run(cli, command).await,
        Command::Run { config, prune } => run::run(cli, config, *prune).await,
        Command::Reload { json } => run::reload(cli, *json).await,
        Command::Anycast { command } => anycast::run(cli, command).await,
        Command::Exec { .. } => Err(CliError::Usage(
            "exec is handled before the runtime starts".into(),
        )),
    }
}
