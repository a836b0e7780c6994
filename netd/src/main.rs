//! netd's entry point: parse the command line, set up logging, run the
//! command, map failures to exit codes (0 ok, 1 runtime failure, 2 bad
//! config or usage).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use netd::cli::{self, Cli, CliError, Command, LogFormat};
use tracing_subscriber::EnvFilter;

fn init_logging(cli: &Cli) {
    // One-shot commands already print each change on stdout, so their log
    // stays at warnings unless asked; NETD_LOG overrides (e.g. NETD_LOG=debug).
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("NETD_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},netlink_proto=error")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        // Under systemd, journald keeps the time and reads the priority.
        LogFormat::Text if netd::systemd::under_journald() => builder
            .with_ansi(false)
            .event_format(netd::systemd::JournalFormat)
            .init(),
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn report(err: &CliError) -> ExitCode {
    eprintln!("{err}");
    ExitCode::from(err.exit_code())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
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
