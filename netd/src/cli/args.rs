//! clap definitions. Every command's help ends with an example.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub(super) const DEFAULT_CONFIG: &str = "/etc/netd/netd.toml";

#[derive(Debug, Parser)]
#[command(
    name = "netd",
    version,
    about = "Long-lived network namespaces, bridges and links, converged from a TOML file",
    after_help = "Examples:\n  netd check -c /etc/netd/netd.toml\n  netd plan\n  netd apply --json\n  netd status\n  netd exec web -- ip addr"
)]
pub struct Cli {
    /// Config file, for the commands that read one; may also follow the command
    #[arg(
        short = 'c',
        long = "config",
        id = "config_before",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Where namespaces are pinned (default /run/netns, or [daemon] netns_dir)
    #[arg(long, global = true, value_name = "DIR", value_parser = absolute_dir)]
    pub netns_dir: Option<PathBuf>,
    /// Where netd records what it created (default /run/netd, or [daemon] state_dir)
    #[arg(long, global = true, value_name = "DIR", value_parser = absolute_dir)]
    pub state_dir: Option<PathBuf>,
    /// Seconds a command that changes anything waits for another netd
    /// that is applying; 0 fails at once
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30.0, value_parser = wait_seconds)]
    pub wait: f64,
    /// Log line format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log more: -v for each kernel change, -vv for debug
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config; touches nothing. Lists every mistake with file:line:column.
    #[command(
        after_help = "Examples:\n  netd check -c examples/two-namespaces.toml\n  netd check --json | jq '.error.errors[]?.message'"
    )]
    Check {
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Machine-readable output (docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// Show the changes `apply` would make, without making them.
    #[command(
        after_help = "Examples:\n  netd plan -c /etc/netd/netd.toml\n  netd plan --json | jq '.changes[] | select(.op == \"delete\")'\n  netd plan --exit-code >/dev/null; [ $? -eq 3 ] && echo \"changes pending\""
    )]
    Plan {
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Machine-readable output (docs/json.md)
        #[arg(long)]
        json: bool,
        /// Exit 3 when changes are pending, 0 when there are none
        /// (1 and 2 still mean a failure and a bad config)
        #[arg(long)]
        exit_code: bool,
        /// Also remove netd's namespaces and bridges that left the config
        #[arg(long)]
        prune: bool,
    },
    /// Converge the kernel to the config once; a second run makes no changes.
    #[command(
        after_help = "Examples:\n  netd apply -c /etc/netd/netd.toml\n  netd apply --prune --json"
    )]
    Apply {
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        #[arg(long)]
        json: bool,
        /// Also remove netd's namespaces and bridges that left the config
        #[arg(long)]
        prune: bool,
    },
    /// Show netd's namespaces, links, addresses, routes and bridges as the kernel has them.
    ///
    /// Exits 3 when a namespace netd owns is missing, or when the kernel
    /// differs from the config for something netd already owns (drift).
    #[command(
        after_help = "Examples:\n  netd status\n  netd status --json | jq '.namespaces[].name'\n  netd status >/dev/null || echo \"netd's objects are missing or drifted\""
    )]
    Status {
        /// Machine-readable output (docs/json.md)
        #[arg(long)]
        json: bool,
        /// Config to compare against (default /etc/netd/netd.toml if it
        /// exists); without one, only missing namespaces are reported
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Remove a namespace netd owns (and its links), or everything netd owns.
    /// Foreign objects are never touched; adopted namespaces are released, not removed.
    #[command(after_help = "Examples:\n  netd destroy web\n  netd destroy --all")]
    Destroy {
        /// Namespace to remove
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Remove every namespace, link and bridge netd owns, and its state
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Inspect the host firewall against netd's published ports
    #[command(
        after_help = "Examples:\n  netd firewall show\n  netd firewall explain web:80\n  netd firewall check"
    )]
    Firewall {
        #[command(subcommand)]
        command: super::firewall::FirewallCommand,
    },
    /// Run as a daemon: converge, then repair drift as it happens and
    /// supervise the config's processes, until SIGTERM. SIGHUP or
    /// `netd reload` reads the config again. Namespaces, links, addresses
    /// and rules stay in place when it stops.
    #[command(after_help = "Examples:
  netd run -c /etc/netd/netd.toml
  NETD_LOG=debug netd run

Under systemd, use examples/systemd/netd.service (Type=notify).")]
    Run {
        #[arg(short, long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Also remove netd's namespaces and bridges that leave the config
        /// (at start, on reload and at each resync)
        #[arg(long)]
        prune: bool,
    },
    /// Ask the running daemon to read its config again and converge to it.
    /// An invalid config is reported and the running one stays.
    #[command(after_help = "Examples:
  netd reload
  netd reload --json | jq .changes")]
    Reload {
        /// Machine-readable output (docs/json.md)
        #[arg(long)]
        json: bool,
    },
    /// Health-checked anycast services: the routing daemon's config, and
    /// forcing a service's announcement in the running daemon
    #[command(
        after_help = "Examples:\n  netd anycast config dns --bird > /etc/netd/anycast-dns.conf\n  netd anycast withdraw dns\n  netd anycast release dns"
    )]
    Anycast {
        #[command(subcommand)]
        command: super::anycast::AnycastCommand,
    },
    /// Run a command inside a namespace; /etc/netns/NAME/* replace the same files in /etc, as with `ip netns exec`.
    #[command(after_help = "Example:\n  netd exec web -- ip -br addr")]
    Exec {
        name: String,
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
}

/// A relative directory would depend on where netd happens to be started,
/// and the state records names relative to it: only absolute ones.
fn absolute_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(format!(
            "`{}` is not an absolute path; give the full path, such as /run/netns",
            crate::model::shown(text)
        ))
    }
}

fn wait_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "`{}` is not a number of seconds from 0 to 86400",
            crate::model::shown(text)
        )),
    }
}

impl Cli {
    /// How long a writer waits for the lock.
    pub fn wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.wait)
    }
}
