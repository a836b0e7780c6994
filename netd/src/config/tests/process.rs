//! `[[namespace.NAME.process]]` and the `[daemon]` keys of `netd run`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{BASE, assert_each_one_error, load, parse, testdata};
use crate::model::DEFAULT_RESYNC_INTERVAL;
use crate::supervise::{Capability, RestartPolicy};

fn caps(names: &[&str]) -> Vec<Capability> {
    names
        .iter()
        .map(|n| Capability::parse(n).unwrap())
        .collect()
}

#[test]
fn processes_and_daemon_settings_parse_into_the_model() {
    let d = load(&testdata("valid.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.daemon.resync_interval, Duration::from_secs(30));
    assert_eq!(
        d.daemon.metrics,
        Some("127.0.0.1:9100".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(d.daemon.socket_group.as_deref(), Some("netd"));

    let web = &d.namespaces["web"].processes;
    let names: Vec<&str> = web.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["app", "bird"], "config order is kept");
    let app = &web[0];
    assert_eq!(app.command, "/usr/bin/busybox");
    assert_eq!(app.args, ["httpd", "-f", "-p", "80"]);
    assert_eq!(app.env["LANG"], "C.UTF-8");
    assert_eq!(app.working_dir, Some(PathBuf::from("/srv/www")));
    assert_eq!(
        (app.user.as_deref(), app.group.as_deref()),
        (Some("www-data"), Some("33"))
    );
    assert_eq!(app.capabilities, None, "not given: left as they are");
    assert!(app.no_new_privs, "on by default");
    assert_eq!(app.restart, RestartPolicy::OnFailure);
    assert_eq!(app.restart_delay, Duration::from_millis(500));
    assert_eq!(app.restart_delay_max, Duration::from_secs(30));
    assert_eq!(app.stop_signal, nix::libc::SIGINT);
    assert_eq!(app.stop_timeout, Duration::from_secs(5));

    let bird = &web[1];
    assert_eq!(bird.command, "bird", "a bare name is looked up at start");
    assert_eq!(
        bird.capabilities,
        Some(caps(&["NET_BIND_SERVICE", "NET_ADMIN", "NET_RAW"])),
        "kept in kernel order"
    );
    assert!(!bird.no_new_privs);
    assert_eq!(bird.restart, RestartPolicy::Always);
    assert_eq!(bird.stop_signal, nix::libc::SIGTERM);
    assert!(d.namespaces["db"].processes.is_empty());
}

#[test]
fn defaults_of_a_minimal_process_and_daemon() {
    let text = format!("{BASE}[[namespace.web.process]]\nname = \"app\"\ncommand = \"/bin/app\"\n");
    let d = parse(&text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.daemon.resync_interval, DEFAULT_RESYNC_INTERVAL);
    assert_eq!((d.daemon.metrics, d.daemon.socket_group), (None, None));
    let p = &d.namespaces["web"].processes[0];
    assert_eq!(
        (p.restart, p.restart_delay, p.restart_delay_max),
        (
            RestartPolicy::Always,
            Duration::from_secs(1),
            Duration::from_secs(60)
        )
    );
    assert_eq!(
        (p.stop_signal, p.stop_timeout),
        (nix::libc::SIGTERM, Duration::from_secs(10))
    );
    assert!(p.no_new_privs && p.args.is_empty() && p.env.is_empty());
    assert_eq!((&p.user, &p.group, &p.working_dir), (&None, &None, &None));
    let spec = crate::supervise::ProcessSpec::from_config(p);
    assert_eq!(spec.backoff.initial, Duration::from_secs(1));
    assert_eq!(spec.backoff.max, Duration::from_secs(60));
}

#[test]
fn process_mistakes_are_named_at_their_key() {
    let p = "[[namespace.web.process]]\nname = \"app\"\ncommand = \"/bin/app\"\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "[[namespace.web.process]]\nname = \"app\"\n".into(),
            "namespace.web.process[0]",
            "missing required key `command`",
        ),
        (
            format!("{p}capabilities = [\"CAP_NET\"]\n"),
            "namespace.web.process[0].capabilities[0]",
            "did you mean CAP_NET_BIND_SERVICE",
        ),
        (
            format!("{p}stop_signal = 0\n"),
            "namespace.web.process[0].stop_signal",
            "is not a signal",
        ),
        (
            format!("{p}stop_signal = \"HUP\"\nuser = \"\"\n"),
            "namespace.web.process[0].user",
            "not a valid user name",
        ),
        (
            format!("{p}restart_delay = 2\nrestart_delay_max = 1\n"),
            "namespace.web.process[0].restart_delay_max",
            "below restart_delay",
        ),
        (
            format!("{p}env = {{ \"\" = \"x\" }}\n"),
            "namespace.web.process[0].env.\"\"",
            "not an environment variable name",
        ),
        (
            format!("{p}args = [\"a\\u0000b\"]\n"),
            "namespace.web.process[0].args[0]",
            "NUL",
        ),
        (
            format!("{p}colour = \"red\"\n"),
            "namespace.web.process[0].colour",
            "unknown key `colour`",
        ),
        (
            format!("{p}{p}"),
            "namespace.web.process[1].name",
            "already defined at namespace.web.process[0].name (line 10)",
        ),
        (
            "[daemon]\nresync_interval = 0\n".into(),
            "daemon.resync_interval",
            "out of range",
        ),
        (
            "[daemon]\nmetrics = \"localhost\"\n".into(),
            "daemon.metrics",
            "127.0.0.1:9100",
        ),
        (
            "[daemon]\nsocket_group = \"a b\"\n".into(),
            "daemon.socket_group",
            "not a valid group name",
        ),
    ];
    let cases: Vec<(&str, &str, &str)> = cases
        .iter()
        .map(|(text, key, needle)| (text.as_str(), *key, *needle))
        .collect();
    assert_each_one_error(&cases);
}

#[test]
fn the_same_process_name_may_be_used_in_two_namespaces() {
    let text = format!(
        "{BASE}[[namespace.web.process]]\nname = \"bird\"\ncommand = \"bird\"\n\
         [namespace.db]\n[[namespace.db.process]]\nname = \"bird\"\ncommand = \"bird\"\n"
    );
    let d = parse(&text, "netd.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.namespaces["db"].processes[0].name, "bird");
}
