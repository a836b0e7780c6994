//! netd's entry point: parse the command line, set up logging, run the
//! command, map failures to exit codes (0 ok, 1 runtime failure, 2 bad
//! config or usage).

use std::io::IsTerminal;
use std::process::ExitCode;

use netd::cli::{self, Cli, CliError, Command, LogFormat};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn init_logging(cli: &Cli) {
    // One-shot commands already print each change on stdout, so their log
    // stays at warnings unless asked; NETD_LOG overrides (e.g. NETD_LOG=debug
    // or NETD_LOG=netd::apply=debug).
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let default = format!("{default},netlink_proto=error");
    let asked = std::env::var("NETD_LOG").ok();
    let filter: Targets = asked
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| default.parse().unwrap_or_default());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let registry = tracing_subscriber::registry().with(filter);
    match cli.log_format {
        // Under systemd, journald keeps the time and reads the priority.
        LogFormat::Text if netd::systemd::under_journald() => registry
            .with(
                layer
                    .with_ansi(false)
                    .event_format(netd::systemd::JournalFormat),
            )
            .init(),
        LogFormat::Text => registry.with(layer).init(),
        LogFormat::Json => registry.with(layer.json()).init(),
    }
    if let Some(asked) = asked.filter(|s| s.parse::<Targets>().is_err()) {
        tracing::warn!("NETD_LOG={asked:?} is not a list of [TARGET=]LEVEL; using {default}");
    }
}

/// Errors quote names from files and the command line; whatever produced
/// the message, no value in it can forge a line or drown it.
fn report(err: &CliError) -> ExitCode {
    cli::error_line(format_args!(
        "{}",
        netd::model::shown_quoted(&err.to_string())
    ));
    ExitCode::from(err.exit_code())
}

fn main() -> ExitCode {
    let cli = match cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(stop) => {
            // Help piped into a closed reader (`netd --help | true`) is
            // not an error.
            let text = stop.text.trim_end_matches('\n');
            if stop.to_stderr {
                cli::error_line(format_args!("{text}"));
            } else {
                cli::line(format_args!("{text}"));
            }
            return ExitCode::from(stop.code);
        }
    };
    init_logging(&cli);
    let reads_only = match &cli.command {
        Command::Check { .. } => true,
        Command::Anycast { command } => command.reads_only(),
        _ => false,
    };
    if !reads_only && let Err(e) = cli::require_root() {
        return report(&CliError::Runtime(e));
    }
    if let Command::Exec { name, command } = &cli.command {
        // Only returns on failure.
        return report(&cli::exec(&cli, name, command));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(&CliError::Runtime(format!("cannot start the runtime: {e}"))),
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => report(&err),
    }
}
