//! The supervisor's bookkeeping with a fake `Os` that records what it was
//! asked to do and hands out exits the test queues.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::machine::Exit;
use super::os::Os;
use super::runner::Supervisor;
use super::spawn::SpawnError;
use crate::model::{Desired, Namespace, ProcessConfig};
use crate::supervise::RestartPolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Spawn { ns: String, name: String, pid: i32 },
    Signal { pid: i32, signal: i32 },
}

#[derive(Default)]
struct Fake {
    calls: Vec<Call>,
    next_pid: i32,
    exits: Vec<(i32, Exit)>,
    fail_spawn: bool,
}

struct Shared(Arc<Mutex<Fake>>);

impl Os for Shared {
    fn spawn(&mut self, _: &Path, ns: &str, cfg: &ProcessConfig) -> Result<i32, SpawnError> {
        let mut f = self.0.lock().unwrap();
        if f.fail_spawn {
            return Err(SpawnError::Resolve("no such command".into()));
        }
        f.next_pid += 1;
        let pid = 100 + f.next_pid;
        f.calls.push(Call::Spawn {
            ns: ns.into(),
            name: cfg.name.clone(),
            pid,
        });
        Ok(pid)
    }

    fn signal(&mut self, pid: i32, signal: i32) {
        self.0
            .lock()
            .unwrap()
            .calls
            .push(Call::Signal { pid, signal });
    }

    fn reap_one(&mut self) -> Option<(i32, Exit)> {
        let mut f = self.0.lock().unwrap();
        (!f.exits.is_empty()).then(|| f.exits.remove(0))
    }
}

fn process(name: &str) -> ProcessConfig {
    ProcessConfig {
        name: name.into(),
        command: "/bin/app".into(),
        args: Vec::new(),
        env: Default::default(),
        working_dir: None,
        user: None,
        group: None,
        capabilities: None,
        no_new_privs: true,
        restart: RestartPolicy::Always,
        restart_delay: Duration::from_secs(1),
        restart_delay_max: Duration::from_secs(60),
        stop_signal: nix::libc::SIGTERM,
        stop_timeout: Duration::from_secs(10),
    }
}

fn desired(processes: &[(&str, ProcessConfig)]) -> Desired {
    let mut d = Desired::empty(PathBuf::from("/run/netns"), PathBuf::from("/run/netd"));
    for (ns, p) in processes {
        d.namespaces
            .entry(ns.to_string())
            .or_insert_with(|| Namespace::empty(ns))
            .processes
            .push(p.clone());
    }
    d
}

fn supervisor() -> (Supervisor, Arc<Mutex<Fake>>) {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let s = Supervisor::with_os(PathBuf::from("/run/netns"), Box::new(Shared(fake.clone())));
    (s, fake)
}

fn calls(fake: &Arc<Mutex<Fake>>) -> Vec<Call> {
    std::mem::take(&mut fake.lock().unwrap().calls)
}

fn spawn(ns: &str, name: &str, pid: i32) -> Call {
    Call::Spawn {
        ns: ns.into(),
        name: name.into(),
        pid,
    }
}

const TERM: i32 = nix::libc::SIGTERM;

#[test]
fn a_reload_starts_new_stops_removed_restarts_changed_and_keeps_the_rest() {
    let (mut s, fake) = supervisor();
    let t0 = Instant::now();
    s.set_processes(
        &desired(&[
            ("web", process("app")),
            ("web", process("bird")),
            ("db", process("pg")),
        ]),
        t0,
    );
    assert_eq!(
        calls(&fake),
        [
            spawn("db", "pg", 101),
            spawn("web", "app", 102),
            spawn("web", "bird", 103)
        ]
    );
    // bird gets a new argument, pg leaves, app is unchanged, log is new.
    let mut bird = process("bird");
    bird.args = vec!["-f".into()];
    let reload = desired(&[
        ("web", process("app")),
        ("web", bird),
        ("web", process("log")),
    ]);
    let t1 = t0 + Duration::from_secs(5);
    s.set_processes(&reload, t1);
    assert_eq!(
        calls(&fake),
        [
            Call::Signal {
                pid: 101,
                signal: TERM
            },
            Call::Signal {
                pid: 103,
                signal: TERM
            },
            spawn("web", "log", 104),
        ]
    );
    // The same config again changes nothing.
    s.set_processes(&reload, t1);
    assert_eq!(calls(&fake), []);
    // Both stopped processes end: bird starts again with its new config,
    // pg is forgotten.
    fake.lock().unwrap().exits = vec![(101, Exit::Signal(TERM)), (103, Exit::Code(0))];
    s.reap(t1);
    assert_eq!(calls(&fake), [spawn("web", "bird", 105)]);
    let names: Vec<(String, String, i32)> = s.running_pids();
    assert_eq!(
        names,
        [
            ("web".into(), "app".into(), 102),
            ("web".into(), "bird".into(), 105),
            ("web".into(), "log".into(), 104),
        ]
    );
    let bird = &s.status(t1)[1];
    assert_eq!((bird.state, bird.restarts), ("running", 1));
    assert_eq!(s.take_exits().len(), 2);
    assert!(s.take_exits().is_empty());
}

#[test]
fn new_restart_settings_apply_without_a_restart_and_start_a_stopped_process() {
    let (mut s, fake) = supervisor();
    let t0 = Instant::now();
    let mut once = process("once");
    once.restart = RestartPolicy::Never;
    s.set_processes(
        &desired(&[("web", process("app")), ("web", once.clone())]),
        t0,
    );
    fake.lock().unwrap().exits = vec![(102, Exit::Code(1))];
    s.reap(t0);
    calls(&fake);
    let mut app = process("app");
    app.restart_delay = Duration::from_secs(5);
    app.stop_timeout = Duration::from_secs(1);
    once.restart = RestartPolicy::Always;
    s.set_processes(&desired(&[("web", app.clone()), ("web", once)]), t0);
    assert_eq!(
        calls(&fake),
        [spawn("web", "once", 103)],
        "app keeps running"
    );
    // The new stop_timeout (1 s, not 10 s) rules the next stop.
    s.set_processes(&desired(&[]), t0);
    assert_eq!(s.next_wake(), Some(t0 + Duration::from_secs(1)));
}

#[test]
fn a_crash_waits_for_the_backoff_and_status_shows_it() {
    let (mut s, fake) = supervisor();
    let t0 = Instant::now();
    s.set_processes(&desired(&[("web", process("app"))]), t0);
    calls(&fake);
    fake.lock().unwrap().exits = vec![(101, Exit::Signal(9)), (999, Exit::Code(0))];
    let t1 = t0 + Duration::from_secs(2);
    s.reap(t1);
    assert_eq!(calls(&fake), [], "the orphan 999 is only reaped");
    let st = &s.status(t1)[0];
    assert_eq!(
        (st.state, st.pid, st.restarts, st.last_exit.as_deref()),
        ("waiting", None, 1, Some("killed by signal 9"))
    );
    let wake = s.next_wake().expect("a restart is due");
    assert_eq!(wake, t1 + Duration::from_secs(1));
    s.tick(wake - Duration::from_millis(1));
    assert_eq!(calls(&fake), []);
    s.tick(wake);
    assert_eq!(calls(&fake), [spawn("web", "app", 102)]);
    let st = &s.status(wake + Duration::from_secs(7))[0];
    assert_eq!(
        (st.state, st.pid, st.uptime_seconds),
        ("running", Some(102), Some(7))
    );
}

#[test]
fn restart_never_ends_failed_or_stopped() {
    let (mut s, fake) = supervisor();
    let t0 = Instant::now();
    let mut once = process("once");
    once.restart = RestartPolicy::Never;
    let mut job = once.clone();
    job.name = "job".into();
    s.set_processes(&desired(&[("web", once), ("web", job)]), t0);
    fake.lock().unwrap().exits = vec![(101, Exit::Code(0)), (102, Exit::Code(3))];
    s.reap(t0);
    let states: Vec<&str> = s.status(t0).iter().map(|p| p.state).collect();
    assert_eq!(states, ["stopped", "failed"], "job, then once");
    assert_eq!(s.next_wake(), None);
}

#[test]
fn a_stop_that_is_ignored_ends_with_sigkill() {
    let (mut s, fake) = supervisor();
    let t0 = Instant::now();
    s.set_processes(&desired(&[("web", process("app"))]), t0);
    s.set_processes(&desired(&[]), t0);
    assert_eq!(s.next_wake(), Some(t0 + Duration::from_secs(10)));
    s.tick(t0 + Duration::from_secs(10));
    let got = calls(&fake);
    assert_eq!(
        got[1..],
        [
            Call::Signal {
                pid: 101,
                signal: TERM
            },
            Call::Signal {
                pid: 101,
                signal: nix::libc::SIGKILL
            },
        ]
    );
    assert_eq!(s.status(t0)[0].state, "stopping");
    fake.lock().unwrap().exits = vec![(101, Exit::Signal(9))];
    s.reap(t0 + Duration::from_secs(10));
    assert!(s.status(t0).is_empty(), "forgotten once it ended");
}

#[test]
fn a_failed_spawn_is_retried_after_the_backoff() {
    let (mut s, fake) = supervisor();
    fake.lock().unwrap().fail_spawn = true;
    let t0 = Instant::now();
    s.set_processes(&desired(&[("web", process("app"))]), t0);
    let st = &s.status(t0)[0];
    assert_eq!(
        (st.state, st.last_exit.as_deref()),
        ("waiting", Some("could not be started"))
    );
    fake.lock().unwrap().fail_spawn = false;
    s.tick(t0 + Duration::from_secs(1));
    assert_eq!(calls(&fake), [spawn("web", "app", 101)]);
}

#[tokio::test]
async fn stop_all_signals_everything_and_returns_once_all_are_reaped() {
    let (mut s, fake) = supervisor();
    let t0 = Instant::now();
    s.set_processes(
        &desired(&[("web", process("app")), ("db", process("pg"))]),
        t0,
    );
    calls(&fake);
    fake.lock().unwrap().exits = vec![(101, Exit::Code(0)), (102, Exit::Signal(TERM))];
    s.stop_all().await;
    assert_eq!(
        calls(&fake),
        [
            Call::Signal {
                pid: 101,
                signal: TERM
            },
            Call::Signal {
                pid: 102,
                signal: TERM
            },
        ]
    );
    assert!(s.status(Instant::now()).is_empty());
}
