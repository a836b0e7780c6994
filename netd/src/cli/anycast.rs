//! `netd anycast …`: the routing daemon's config for a service, read from
//! the config file; and, through the running daemon, forcing a service's
//! announcement for maintenance and releasing it.

use std::path::{Path, PathBuf};

use super::args::DEFAULT_CONFIG;
use super::output::print_json;
use super::run::{ask_daemon, state_dir};
use super::{Cli, CliError};
use crate::anycast::render::{Daemon, Protocol, render};
use crate::daemon::protocol::{self, AnycastAction, Command, Request};

#[derive(Debug, clap::Subcommand)]
pub enum AnycastCommand {
    /// Print the routing daemon's config for a service, to run in its namespace
    ///
    /// A complete BIRD 2 or FRR 8.4 config: router id, the import of netd's
    /// announce routes, an export filter limited to the service's prefixes,
    /// the BGP sessions or OSPF links, BFD (100 ms × 3) unless turned off,
    /// graceful restart off. Its header shows the `[[namespace.NAME.process]]`
    /// entries that run it. Reads the config only; exits 2 with nothing on
    /// stdout when the service cannot be served that way.
    #[command(after_help = "Examples:
  netd anycast config dns --bird > /etc/netd/anycast-dns.conf
  bird -p -c /etc/netd/anycast-dns.conf
  netd anycast config dns --frr --ospf -c /etc/netd/netd.toml > /etc/netd/anycast-dns.conf
  vtysh -C -f /etc/netd/anycast-dns.conf")]
    #[command(group(clap::ArgGroup::new("daemon").required(true).args(["bird", "frr"])))]
    Config {
        /// The service: NAME of an [anycast.NAME] section
        name: String,
        /// A config for BIRD 2 (speaker = "bird")
        #[arg(long)]
        bird: bool,
        /// A config for FRR 8.4: zebra, bgpd or ospfd/ospf6d, bfdd (speaker = "frr")
        #[arg(long)]
        frr: bool,
        /// Announce over BGP ([anycast.NAME.bgp]); the default
        #[arg(long, conflicts_with = "ospf")]
        bgp: bool,
        /// Announce over OSPF ([anycast.NAME.ospf])
        #[arg(long)]
        ospf: bool,
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
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
    /// The config file the command reads, for `netd -c FILE anycast …`.
    pub(super) fn config_mut(&mut self) -> Option<&mut PathBuf> {
        match self {
            AnycastCommand::Config { config, .. } => Some(config),
            _ => None,
        }
    }

    /// Whether the command only reads the config (and so needs no root).
    pub fn reads_only(&self) -> bool {
        matches!(self, AnycastCommand::Config { .. })
    }

    pub(crate) fn json(&self) -> bool {
        match self {
            AnycastCommand::Config { .. } => false,
            AnycastCommand::Withdraw { json, .. }
            | AnycastCommand::Announce { json, .. }
            | AnycastCommand::Release { json, .. } => *json,
        }
    }
}

pub async fn run(cli: &Cli, command: &AnycastCommand) -> Result<u8, CliError> {
    let (service, action, json) = match command {
        AnycastCommand::Config {
            name,
            frr,
            ospf,
            config,
            ..
        } => {
            let daemon = if *frr { Daemon::Frr } else { Daemon::Bird };
            let protocol = if *ospf { Protocol::Ospf } else { Protocol::Bgp };
            return config_text(config, name, daemon, protocol).map(|text| {
                print!("{text}");
                0
            });
        }
        AnycastCommand::Withdraw { service, json } => (service, AnycastAction::Withdraw, *json),
        AnycastCommand::Announce { service, json } => (service, AnycastAction::Announce, *json),
        AnycastCommand::Release { service, json } => (service, AnycastAction::Release, *json),
    };
    force(cli, service, action, json).await
}

/// Asks the running daemon to force or release a service's state.
async fn force(
    cli: &Cli,
    service: &str,
    action: AnycastAction,
    json: bool,
) -> Result<u8, CliError> {
    let mut request = Request::new(Command::Anycast);
    request.service = Some(service.to_string());
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

fn config_text(
    path: &Path,
    name: &str,
    daemon: Daemon,
    protocol: Protocol,
) -> Result<String, CliError> {
    let desired = crate::config::load(path).map_err(CliError::Config)?;
    render(&desired, name, daemon, protocol).map_err(|e| CliError::Usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::AnycastCommand;
    use crate::cli::{Command, parse_from};

    /// The parsed `anycast config`, or parsing's exit code.
    fn parse(args: &[&str]) -> Result<(String, bool, bool, String), u8> {
        let cli = parse_from(std::iter::once("netd").chain(args.iter().copied()))
            .map_err(|stop| stop.code)?;
        match cli.command {
            Command::Anycast {
                command:
                    AnycastCommand::Config {
                        name,
                        frr,
                        ospf,
                        config,
                        ..
                    },
            } => Ok((name, frr, ospf, config.display().to_string())),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn one_daemon_is_required_and_bgp_is_the_default() {
        let default = crate::cli::args::DEFAULT_CONFIG;
        assert_eq!(
            parse(&["anycast", "config", "dns", "--bird"]),
            Ok(("dns".into(), false, false, default.into()))
        );
        assert_eq!(
            parse(&["anycast", "config", "dns", "--frr", "--ospf"]),
            Ok(("dns".into(), true, true, default.into()))
        );
        for args in [
            &["anycast", "config", "dns"][..],
            &["anycast", "config", "dns", "--bird", "--frr"],
            &["anycast", "config", "dns", "--bird", "--bgp", "--ospf"],
            &["anycast", "config", "--bird"],
        ] {
            assert_eq!(parse(args), Err(2), "{args:?}");
        }
    }

    #[test]
    fn the_config_may_come_before_the_command() {
        let (_, _, _, config) =
            parse(&["-c", "f.toml", "anycast", "config", "dns", "--bird"]).expect("parses");
        assert_eq!(Path::new(&config), Path::new("f.toml"));
    }
}
