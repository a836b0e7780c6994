//! The command line as netd reads it: clap's parse, plus what clap cannot
//! say. `-c FILE` may come before the command (`netd -c f.toml plan`), and
//! clap's own errors echo the offending argument only as [`shown`] would.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::args::{Cli, Command};
use super::firewall::FirewallCommand;
use crate::model::{shown, shown_quoted};

/// What parsing ended in when it did not yield a command to run: text for
/// stdout (help, version) or stderr (a usage error), and the exit code.
#[derive(Debug)]
pub struct Stop {
    pub text: String,
    pub to_stderr: bool,
    pub code: u8,
}

pub fn parse_from<I, T>(args: I) -> Result<Cli, Stop>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = Cli::command()
        .try_get_matches_from(&args)
        .map_err(|e| stop(&e))?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| stop(&e))?;
    let before = cli.config.take();
    if let Some(path) = before {
        put_config(&mut cli.command, &matches, path)?;
    }
    Ok(cli)
}

/// `netd -c FILE COMMAND`: FILE becomes the command's config, unless the
/// command names one too, which is a mistake worth saying.
fn put_config(command: &mut Command, matches: &ArgMatches, path: PathBuf) -> Result<(), Stop> {
    let given_after = deepest(matches)
        .try_get_raw("config")
        .ok()
        .flatten()
        .is_some()
        && deepest(matches).value_source("config") == Some(ValueSource::CommandLine);
    if given_after {
        return Err(usage(
            "-c/--config is given both before and after the command; give it once",
        ));
    }
    if let Command::Status { config, .. } = command {
        *config = Some(path);
    } else if let Some(slot) = config_of(command) {
        *slot = path;
    }
    // Commands without a config (destroy, exec) ignore it, so that scripts
    // can put `-c` first on every line.
    Ok(())
}

fn deepest(matches: &ArgMatches) -> &ArgMatches {
    match matches.subcommand() {
        Some((_, sub)) => deepest(sub),
        None => matches,
    }
}

fn config_of(command: &mut Command) -> Option<&mut PathBuf> {
    match command {
        Command::Check { config, .. }
        | Command::Plan { config, .. }
        | Command::Apply { config, .. }
        | Command::Run { config, .. } => Some(config),
        Command::Firewall {
            command: FirewallCommand::Explain { config, .. } | FirewallCommand::Check { config, .. },
        } => Some(config),
        Command::Anycast { command } => command.config_mut(),
        _ => None,
    }
}

fn usage(message: &str) -> Stop {
    Stop {
        text: format!("error: {message}\n\nFor more information, try '--help'.\n"),
        to_stderr: true,
        code: 2,
    }
}

fn stop(e: &clap::Error) -> Stop {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Stop {
            text,
            to_stderr: false,
            code: 0,
        },
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Stop {
            text,
            to_stderr: true,
            code: 2,
        },
        _ => Stop {
            text: echoed_safely(&text),
            to_stderr: true,
            code: 2,
        },
    }
}

/// clap quotes an offending argument in single quotes, verbatim but for
/// the ANSI sequences it strips: every quoted part goes through [`shown`]
/// (cut, newlines and controls escaped); elsewhere, control characters
/// other than clap's own line breaks are escaped.
fn echoed_safely(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('\'').enumerate() {
        if i > 0 {
            out.push('\'');
        }
        if i % 2 == 1 {
            out.push_str(&shown(part));
        } else {
            out.push_str(&shown_quoted(part));
        }
    }
    out
}

#[cfg(test)]
mod tests;
