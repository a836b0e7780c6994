use std::time::{Duration, Instant};

use super::{Forced, ProcessState, ServiceHealth, describe_exit};
use crate::anycast::check::Probe;
use crate::model::{Anycast, Check, CheckKind, Routing, Speaker};

fn check(kind: CheckKind, rise: u32, fall: u32) -> Check {
    Check {
        kind,
        interval: Duration::from_secs(1),
        interval_transition: Duration::from_millis(200),
        timeout: Duration::from_millis(500),
        rise,
        fall,
    }
}

fn dns() -> CheckKind {
    CheckKind::Dns {
        address: "203.0.113.53".parse().expect("address"),
        port: 53,
        name: "ns.example".into(),
        qtype: "A".into(),
        rcode: "NOERROR".into(),
        answer: None,
    }
}

fn tcp() -> CheckKind {
    CheckKind::Tcp {
        address: "203.0.113.53".parse().expect("address"),
        port: 53,
    }
}

fn service(checks: Vec<Check>, process: Option<&str>) -> Anycast {
    Anycast {
        name: "dns".into(),
        namespace: "svc".into(),
        prefixes: vec!["203.0.113.53/32".parse().expect("prefix")],
        announce_table: 100,
        withdraw_on_exit: true,
        process: process.map(str::to_string),
        speaker: Speaker::Bird,
        checks,
        routing: Routing::default(),
    }
}

fn pass() -> Probe {
    Probe {
        ok: true,
        latency: Duration::from_millis(1),
        detail: "rcode NOERROR".into(),
    }
}

fn timeout() -> Probe {
    Probe {
        ok: false,
        latency: Duration::from_millis(500),
        detail: "timed out after 500 ms".into(),
    }
}

/// A dnsmasq service with a dns (rise 2, fall 2) and a tcp (rise 1) check.
fn dnsmasq() -> ServiceHealth {
    let checks = vec![check(dns(), 2, 2), check(tcp(), 1, 1)];
    ServiceHealth::new(&service(checks, Some("dnsmasq")), false)
}

fn announce(s: &ServiceHealth) -> (bool, String) {
    let v = s.verdict();
    (v.announce, v.reason)
}

#[test]
fn announces_once_the_process_runs_and_every_check_has_risen() {
    let t = Instant::now();
    let mut s = dnsmasq();
    assert_eq!(announce(&s), (false, "process dnsmasq not running".into()));
    s.on_process_start(t);
    assert_eq!(
        announce(&s),
        (false, "check dns#0 down: not checked yet".into())
    );
    s.record(0, &pass(), t);
    assert_eq!(
        announce(&s),
        (false, "check dns#0 rising: 1 of 2 passes".into())
    );
    s.record(0, &pass(), t);
    s.record(1, &timeout(), t);
    assert_eq!(
        announce(&s),
        (false, "check tcp#1 down: timed out after 500 ms".into())
    );
    s.record(1, &pass(), t);
    assert_eq!(
        announce(&s),
        (true, "all 2 checks up, process dnsmasq running".into())
    );
    // One failure of a fall-2 check is not yet a withdrawal.
    s.record(0, &timeout(), t);
    assert!(s.verdict().announce);
    s.record(0, &timeout(), t);
    assert_eq!(
        announce(&s),
        (false, "check dns#0 down: timed out after 500 ms".into())
    );
}

#[test]
fn a_process_exit_withdraws_at_once_and_rising_again_takes_rise_passes() {
    let t = Instant::now();
    let mut s = ServiceHealth::new(&service(vec![check(dns(), 2, 2)], Some("dnsmasq")), true);
    assert!(s.verdict().announce, "found announced: no flap at start");
    let changes = s.on_process_exit("status 1", t);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].0, "dns#0");
    assert_eq!(changes[0].1.reason, "process dnsmasq exited (status 1)");
    assert_eq!(
        announce(&s),
        (false, "process dnsmasq exited (status 1)".into())
    );
    assert_eq!(
        s.process().map(|p| &p.state),
        Some(&ProcessState::Exited("status 1".into()))
    );
    s.on_process_start(t);
    assert_eq!(
        announce(&s),
        (
            false,
            "check dns#0 down: process dnsmasq exited (status 1)".into()
        )
    );
    s.record(0, &pass(), t);
    assert!(!s.verdict().announce);
    s.record(0, &pass(), t);
    assert_eq!(
        announce(&s),
        (true, "check dns#0 up, process dnsmasq running".into())
    );
}

#[test]
fn a_forced_state_wins_over_health() {
    let t = Instant::now();
    let mut s = dnsmasq();
    s.force(Some(Forced::Announce));
    assert_eq!(
        announce(&s),
        (true, "forced by netd anycast announce".into())
    );
    s.on_process_start(t);
    for _ in 0..2 {
        s.record(0, &pass(), t);
        s.record(1, &pass(), t);
    }
    s.force(Some(Forced::Withdraw));
    assert_eq!(
        announce(&s),
        (false, "forced by netd anycast withdraw".into())
    );
    s.force(None);
    assert!(s.verdict().announce);
    assert_eq!(s.forced(), None);
}

#[test]
fn without_checks_the_process_decides_and_without_both_it_announces() {
    let t = Instant::now();
    let mut tied = ServiceHealth::new(&service(vec![], Some("web")), false);
    tied.on_process_start(t);
    assert_eq!(
        announce(&tied),
        (true, "no checks, process web running".into())
    );
    assert!(tied.on_process_exit("signal 9", t).is_empty());
    assert_eq!(
        announce(&tied),
        (false, "process web exited (signal 9)".into())
    );

    let mut free = ServiceHealth::new(&service(vec![], None), false);
    assert_eq!(announce(&free), (true, "no checks".into()));
    free.on_process_start(t);
    assert!(free.on_process_exit("status 1", t).is_empty());
    assert!(free.verdict().announce, "no process is tied to it");
}

#[test]
fn exits_read_as_status_or_signal() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    assert_eq!(describe_exit(ExitStatus::from_raw(1 << 8)), "status 1");
    assert_eq!(describe_exit(ExitStatus::from_raw(9)), "signal 9");
}

/// Random probes, process exits and starts and forced states: the verdict
/// is announce exactly when forced to, or when unforced with the process
/// running and every check up; after an exit, no check is up again before
/// `rise` passes recorded since.
#[test]
fn random_events_keep_the_verdict_rules() {
    use crate::testutil::xorshift::XorShift;
    let mut rng = XorShift::new(53);
    let t = Instant::now();
    for _ in 0..500 {
        let rises = [1 + rng.below(3) as u32, 1 + rng.below(3) as u32];
        let checks = vec![
            check(dns(), rises[0], 1 + rng.below(3) as u32),
            check(tcp(), rises[1], 1 + rng.below(3) as u32),
        ];
        let mut s = ServiceHealth::new(&service(checks, Some("app")), rng.chance(2));
        // Per check since the last exit: the run of passes, and whether it
        // ever reached `rise`.
        let mut since_exit: Option<[(u32, bool); 2]> = None;
        for _ in 0..80 {
            match rng.below(10) {
                0 => {
                    s.on_process_exit("status 1", t);
                    since_exit = Some([(0, false); 2]);
                }
                1 => s.on_process_start(t),
                2 => s.force(*rng.pick(&[None, Some(Forced::Announce), Some(Forced::Withdraw)])),
                _ => {
                    let i = rng.below(2) as usize;
                    let ok = rng.chance(2);
                    s.record(i, &if ok { pass() } else { timeout() }, t);
                    if let Some(runs) = &mut since_exit {
                        let (run, risen) = &mut runs[i];
                        *run = if ok { *run + 1 } else { 0 };
                        *risen |= *run >= rises[i];
                    }
                }
            }
            let running = s
                .process()
                .is_some_and(|p| p.state == ProcessState::Running);
            let all_up = s.checks().iter().all(|c| c.health.state().is_up());
            let expected = match s.forced() {
                Some(f) => f == Forced::Announce,
                None => running && all_up,
            };
            assert_eq!(s.verdict().announce, expected, "{:?}", s.verdict());
            if let Some(runs) = since_exit {
                for (c, (_, risen)) in s.checks().iter().zip(runs) {
                    assert!(
                        !c.health.state().is_up() || risen,
                        "{} up too soon",
                        c.label
                    );
                }
            }
        }
    }
}
