use std::time::{Duration, Instant};

use super::*;

const TERM: i32 = nix::libc::SIGTERM;

fn spec(restart: RestartPolicy) -> ProcessSpec {
    ProcessSpec {
        restart,
        backoff: Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(8),
            reset_after: Duration::from_secs(30),
        },
        stop_signal: TERM,
        stop_timeout: Duration::from_secs(5),
    }
}

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

/// A process that was started at `t0` and has pid 100.
fn running(restart: RestartPolicy, t0: Instant) -> Process {
    let mut p = Process::new(spec(restart));
    assert_eq!(p.start(t0), vec![Action::Spawn]);
    assert_eq!(p.spawned(100, t0), vec![]);
    p
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let b = spec(RestartPolicy::Always).backoff;
    let delays: Vec<u64> = (0..7).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(delays, vec![0, 1, 2, 4, 8, 8, 8]);
    assert_eq!(b.delay(u32::MAX), Duration::from_secs(8));
}

#[test]
fn crash_loops_back_off_and_a_healthy_run_resets_the_series() {
    let t0 = Instant::now();
    let mut p = running(RestartPolicy::Always, t0);
    let mut now = t0;
    let mut waits = Vec::new();
    for pid in 101..106 {
        now += Duration::from_secs(1);
        let actions = p.exited(Exit::Code(1), now);
        let [Action::WakeAt(at)] = actions[..] else {
            panic!("expected a wait, got {actions:?}");
        };
        waits.push((at - now).as_secs());
        assert_eq!(
            p.tick(at - Duration::from_millis(1)),
            vec![Action::WakeAt(at)]
        );
        now = at;
        assert_eq!(p.tick(now), vec![Action::Spawn]);
        p.spawned(pid, now);
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 8]);
    assert_eq!(p.restarts, 5);
    // A run longer than reset_after: the next crash restarts at once.
    now += Duration::from_secs(31);
    assert_eq!(p.exited(Exit::Signal(11), now), vec![Action::Spawn]);
    assert_eq!(p.last_exit, Some(Exit::Signal(11)));
    assert_eq!(p.restarts, 6);
}

#[test]
fn restart_policies_decide_on_the_exit_status() {
    let t0 = Instant::now();
    let later = secs(t0, 60);
    for (policy, exit, restarts) in [
        (RestartPolicy::Always, Exit::Code(0), true),
        (RestartPolicy::Always, Exit::Code(3), true),
        (RestartPolicy::OnFailure, Exit::Code(0), false),
        (RestartPolicy::OnFailure, Exit::Code(3), true),
        (RestartPolicy::OnFailure, Exit::Signal(9), true),
        (RestartPolicy::OnFailure, Exit::SpawnFailed, true),
        (RestartPolicy::Never, Exit::Code(3), false),
    ] {
        let mut p = running(policy, t0);
        let actions = p.exited(exit, later);
        assert_eq!(
            actions == vec![Action::Spawn],
            restarts,
            "{policy:?} {exit:?}: {actions:?}"
        );
        if !restarts {
            assert_eq!(p.phase, Phase::Stopped);
            assert_eq!(p.next_wake(), None);
        }
    }
}

#[test]
fn stop_signals_then_kills_after_the_timeout_and_never_restarts() {
    let t0 = Instant::now();
    let mut p = running(RestartPolicy::Always, t0);
    let deadline = secs(t0, 15);
    assert_eq!(
        p.stop(secs(t0, 10)),
        vec![
            Action::Signal {
                pid: 100,
                signal: TERM
            },
            Action::WakeAt(deadline)
        ]
    );
    assert_eq!(p.tick(secs(t0, 12)), vec![Action::WakeAt(deadline)]);
    assert_eq!(p.tick(deadline), vec![Action::Kill { pid: 100 }]);
    assert_eq!(p.tick(secs(t0, 20)), vec![]);
    assert_eq!(p.exited(Exit::Signal(9), secs(t0, 20)), vec![]);
    assert_eq!(p.phase, Phase::Stopped);
    assert_eq!(p.restarts, 0);
}

#[test]
fn a_stop_asked_before_the_pid_is_known_ends_the_process_once_it_is() {
    let t0 = Instant::now();
    let mut p = Process::new(spec(RestartPolicy::Always));
    p.start(t0);
    assert_eq!(p.stop(t0), vec![]);
    let actions = p.spawned(7, t0);
    assert_eq!(
        actions[0],
        Action::Signal {
            pid: 7,
            signal: TERM
        }
    );
    assert_eq!(p.exited(Exit::Code(0), t0), vec![]);
    assert_eq!(p.phase, Phase::Stopped);
}

#[test]
fn a_waiting_process_stops_without_a_signal() {
    let t0 = Instant::now();
    let mut p = running(RestartPolicy::Always, t0);
    p.exited(Exit::Code(1), secs(t0, 1));
    assert!(matches!(p.phase, Phase::Waiting { .. }));
    assert_eq!(p.stop(secs(t0, 1)), vec![]);
    assert_eq!(p.phase, Phase::Stopped);
    assert_eq!(p.tick(secs(t0, 100)), vec![]);
}

#[test]
fn restart_ends_the_run_and_starts_again_without_backoff() {
    let t0 = Instant::now();
    let mut p = running(RestartPolicy::Never, t0);
    let actions = p.restart(secs(t0, 1));
    assert_eq!(
        actions[0],
        Action::Signal {
            pid: 100,
            signal: TERM
        }
    );
    assert_eq!(
        p.exited(Exit::Signal(TERM), secs(t0, 2)),
        vec![Action::Spawn]
    );
    assert_eq!(p.spawned(101, secs(t0, 2)), vec![]);
    assert_eq!(p.pid(), Some(101));
    assert_eq!(p.restarts, 1);
    assert_eq!(p.uptime(secs(t0, 5)), Some(Duration::from_secs(3)));
}

#[test]
fn start_during_a_stop_starts_again_once_it_has_ended() {
    let t0 = Instant::now();
    let mut p = running(RestartPolicy::Never, t0);
    p.stop(t0);
    assert_eq!(p.start(t0), vec![]);
    assert_eq!(p.exited(Exit::Code(0), secs(t0, 1)), vec![Action::Spawn]);
}

#[test]
fn a_failed_spawn_backs_off_like_a_crash() {
    let t0 = Instant::now();
    let mut p = Process::new(spec(RestartPolicy::Always));
    p.start(t0);
    assert_eq!(
        p.exited(Exit::SpawnFailed, t0),
        vec![Action::WakeAt(secs(t0, 1))]
    );
    assert_eq!(
        p.last_exit.map(|e| e.to_string()).as_deref(),
        Some("could not be started")
    );
}
