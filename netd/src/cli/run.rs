//! `netd run` and `netd reload`.

use std::path::Path;

use super::output::print_json;
use super::{Cli, CliError};
use crate::daemon::protocol::{self, Command, Request};
use crate::daemon::{self, ConfigSource, DaemonError};

impl From<DaemonError> for CliError {
    fn from(e: DaemonError) -> Self {
        match e {
            DaemonError::Config(errors) => CliError::Config(errors),
            DaemonError::Engine(e) => e.into(),
            DaemonError::Setup(message) => CliError::Runtime(message),
        }
    }
}

pub async fn run(cli: &Cli, config: &Path, prune: bool) -> Result<u8, CliError> {
    let source = ConfigSource {
        path: std::path::absolute(config).unwrap_or_else(|_| config.to_path_buf()),
        netns_dir: cli.netns_dir.clone(),
        state_dir: cli.state_dir.clone(),
        prune,
    };
    daemon::run(source, cli.wait()).await?;
    Ok(0)
}

/// The state directory a daemon started with these flags would use.
pub(crate) fn state_dir(cli: &Cli) -> std::path::PathBuf {
    super::dirs(cli).1
}

/// Asks the daemon; an error when none runs.
pub(crate) async fn ask_daemon(
    cli: &Cli,
    request: &Request,
) -> Result<Option<serde_json::Value>, CliError> {
    protocol::ask(&state_dir(cli), request)
        .await
        .map_err(|e| CliError::Runtime(format!("cannot talk to the netd daemon: {e}")))
}

/// Prints a daemon's answer to reload or apply; exit 1 if it failed.
pub(crate) fn print_answer(answer: &serde_json::Value, json: bool) -> Result<u8, CliError> {
    if answer["ok"] != true && answer.get("error").is_some() {
        let message = answer["error"].as_str().unwrap_or("the daemon refused");
        return Err(CliError::Runtime(message.to_string()));
    }
    if json {
        print_json(answer);
    } else {
        let lines = answer["lines"].as_array().cloned().unwrap_or_default();
        if lines.is_empty() {
            println!("no changes");
        }
        for l in lines {
            println!("{}", l.as_str().unwrap_or_default());
        }
        for f in answer["failed"].as_array().cloned().unwrap_or_default() {
            eprintln!("error: {}", f.as_str().unwrap_or_default());
        }
    }
    Ok(if answer["ok"] == true { 0 } else { 1 })
}

pub async fn reload(cli: &Cli, json: bool) -> Result<u8, CliError> {
    match ask_daemon(cli, &Request::new(Command::Reload)).await? {
        Some(answer) => print_answer(&answer, json),
        None => Err(CliError::Runtime(format!(
            "no netd daemon is running (no socket at {}); start it with `netd run`",
            protocol::socket_path(&state_dir(cli)).display()
        ))),
    }
}
