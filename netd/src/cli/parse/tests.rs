use std::path::Path;

use super::*;

fn parse(args: &[&str]) -> Result<Cli, Stop> {
    parse_from(std::iter::once("netd").chain(args.iter().copied()))
}

fn config(cli: &Cli) -> Option<&Path> {
    match &cli.command {
        Command::Check { config, .. } | Command::Plan { config, .. } => Some(config),
        Command::Status { config, .. } => config.as_deref(),
        Command::Firewall {
            command: FirewallCommand::Check { config, .. },
        } => Some(config),
        _ => None,
    }
}

#[test]
fn config_may_come_before_the_command() {
    let cli = parse(&["-c", "f.toml", "plan"]).unwrap();
    assert_eq!(config(&cli), Some(Path::new("f.toml")));
    let cli = parse(&["--config=g.toml", "firewall", "check"]).unwrap();
    assert_eq!(config(&cli), Some(Path::new("g.toml")));
    let cli = parse(&["plan", "-c", "h.toml"]).unwrap();
    assert_eq!(config(&cli), Some(Path::new("h.toml")));
    let cli = parse(&["check"]).unwrap();
    assert_eq!(config(&cli), Some(Path::new("/etc/netd/netd.toml")));
    let cli = parse(&["-c", "s.toml", "status"]).unwrap();
    assert_eq!(config(&cli), Some(Path::new("s.toml")));
    // Commands that read no config take it without complaint.
    assert!(parse(&["-c", "f.toml", "destroy", "--all"]).is_ok());
}

#[test]
fn config_given_twice_is_a_usage_error() {
    let stop = parse(&["-c", "a.toml", "check", "-c", "b.toml"]).unwrap_err();
    assert_eq!(stop.code, 2);
    assert!(stop.text.contains("give it once"), "{}", stop.text);
}

#[test]
fn directories_must_be_absolute() {
    for opt in ["--netns-dir", "--state-dir"] {
        let stop = parse(&[opt, "run/netns", "status"]).unwrap_err();
        assert_eq!(stop.code, 2);
        assert!(stop.to_stderr);
        assert!(stop.text.contains("not an absolute path"), "{}", stop.text);
    }
    assert!(parse(&["status", "--state-dir", "/tmp/s"]).is_ok());
}

#[test]
fn help_goes_to_stdout_with_exit_0() {
    let stop = parse(&["--help"]).unwrap_err();
    assert_eq!((stop.code, stop.to_stderr), (0, false));
    assert!(stop.text.contains("Usage"));
}

#[test]
fn echoed_arguments_are_cut_and_escaped() {
    let evil = format!("\x1b[31m{}\nforged", "x".repeat(100));
    let stop = parse(&["destroy", "a", &evil]).unwrap_err();
    assert_eq!(stop.code, 2);
    assert!(!stop.text.contains('\x1b'), "{}", stop.text);
    assert!(!stop.text.contains(&"x".repeat(65)), "{}", stop.text);
    assert!(!stop.text.contains("\nforged"), "{}", stop.text);

    let stop = parse(&["--wait", "1\x07", "status"]).unwrap_err();
    assert!(stop.text.contains("1\\x07"), "{}", stop.text);
}
