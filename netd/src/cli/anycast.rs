//! `netd anycast`: force a service's announcement for maintenance, and
//! release it.

use super::output::print_json;
use super::run::{ask_daemon, state_dir};
use super::{Cli, CliError};
use crate::daemon::protocol::{self, AnycastAction, Command, Request};

/// Anycast services of the running daemon.
#[derive(Debug, clap::Subcommand)]
pub enum AnycastCommand {
    /// Withdraw a service whatever its checks say, until `release`. Kept
    /// across restarts of netd.
    #[command(after_help = "Example:\n  netd anycast withdraw dns     # drain before maintenance")]
    Withdraw {
        service: String,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Announce a service whatever its checks say, until `release`. Kept
    /// across restarts of netd.
    #[command(after_help = "Example:\n  netd anycast announce dns")]
    Announce {
        service: String,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Let the checks decide again.
    #[command(after_help = "Example:\n  netd anycast release dns")]
    Release {
        service: String,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

impl AnycastCommand {
    pub(crate) fn json(&self) -> bool {
        match self {
            AnycastCommand::Withdraw { json, .. }
            | AnycastCommand::Announce { json, .. }
            | AnycastCommand::Release { json, .. } => *json,
        }
    }
}

pub async fn run(cli: &Cli, command: &AnycastCommand) -> Result<u8, CliError> {
    let (service, action, json) = match command {
        AnycastCommand::Withdraw { service, json } => (service, AnycastAction::Withdraw, *json),
        AnycastCommand::Announce { service, json } => (service, AnycastAction::Announce, *json),
        AnycastCommand::Release { service, json } => (service, AnycastAction::Release, *json),
    };
    let mut request = Request::new(Command::Anycast);
    request.service = Some(service.clone());
    request.action = Some(action);
    let Some(answer) = ask_daemon(cli, &request).await? else {
        return Err(CliError::Runtime(format!(
            "no netd daemon is running (no socket at {}); anycast services live in `netd run`",
            protocol::socket_path(&state_dir(cli)).display()
        )));
    };
    if answer["ok"] != true {
        let message = answer["error"].as_str().unwrap_or("the daemon refused");
        return Err(CliError::Runtime(message.to_string()));
    }
    if json {
        print_json(&answer);
    } else {
        match action {
            AnycastAction::Release => println!("{service}: released; its checks decide again"),
            _ => println!(
                "{service}: forced to {} until `netd anycast release {service}`",
                action.as_str()
            ),
        }
    }
    Ok(0)
}
