use std::collections::VecDeque;
use std::fmt::Write;
use std::time::{Duration, Instant};

use super::{Direction, Health, Schedule, State};
use crate::anycast::check::Probe;
use crate::testutil::{golden, xorshift::XorShift};

const INTERVAL: Duration = Duration::from_millis(1000);
const TRANSITION: Duration = Duration::from_millis(200);

fn schedule(rise: u32, fall: u32) -> Schedule {
    Schedule {
        rise,
        fall,
        interval: INTERVAL,
        interval_transition: TRANSITION,
    }
}

fn probe(ok: bool) -> Probe {
    Probe {
        ok,
        latency: Duration::from_millis(3),
        detail: if ok { "connected" } else { "refused" }.to_string(),
    }
}

/// A check in `state`, reached through the public API only.
fn in_state(rise: u32, fall: u32, state: State) -> Health {
    let t = Instant::now();
    let (mut h, inputs) = match state {
        State::Down => (Health::new(schedule(rise, fall)), vec![]),
        State::Rising(n) => (Health::new(schedule(rise, fall)), vec![true; n as usize]),
        State::Up => (Health::assume_up(schedule(rise, fall)), vec![]),
        State::Falling(n) => (
            Health::assume_up(schedule(rise, fall)),
            vec![false; n as usize],
        ),
    };
    for ok in inputs {
        h.record(&probe(ok), t);
    }
    assert_eq!(h.state(), state, "rise {rise} fall {fall}");
    h
}

fn every_state(rise: u32, fall: u32) -> Vec<State> {
    let mut states = vec![State::Down];
    states.extend((1..rise).map(State::Rising));
    states.push(State::Up);
    states.extend((1..fall).map(State::Falling));
    states
}

/// Every state × pass/fail × rise and fall in 1..=4, rendered one line per
/// transition and compared with a reviewed golden table.
#[test]
fn transition_table() {
    let mut table = String::new();
    for rise in 1..=4 {
        for fall in 1..=4 {
            for from in every_state(rise, fall) {
                for ok in [true, false] {
                    let mut h = in_state(rise, fall, from);
                    let change = h.record(&probe(ok), Instant::now());
                    let change = match change.map(|c| c.to) {
                        Some(Direction::Up) => "became up",
                        Some(Direction::Down) => "became down",
                        None => "-",
                    };
                    writeln!(
                        table,
                        "rise {rise} fall {fall}: {:<10} {:<4} -> {:<10} {change:<11} next {} ms",
                        from.to_string(),
                        if ok { "pass" } else { "fail" },
                        h.state().to_string(),
                        h.next_delay().as_millis(),
                    )
                    .expect("write to a string");
                }
            }
        }
    }
    golden("anycast/health-transitions.txt", &table);
}

/// The same rules written out by hand for rise 3, fall 2.
#[test]
fn transitions_rise_3_fall_2_by_hand() {
    use Direction::{Down as BecameDown, Up as BecameUp};
    use State::*;
    let rows = [
        (Down, true, Rising(1), None),
        (Down, false, Down, None),
        (Rising(1), true, Rising(2), None),
        (Rising(1), false, Down, None),
        (Rising(2), true, Up, Some(BecameUp)),
        (Rising(2), false, Down, None),
        (Up, true, Up, None),
        (Up, false, Falling(1), None),
        (Falling(1), true, Up, None),
        (Falling(1), false, Down, Some(BecameDown)),
    ];
    for (from, ok, to, change) in rows {
        let mut h = in_state(3, 2, from);
        let got = h.record(&probe(ok), Instant::now());
        assert_eq!((h.state(), got.map(|c| c.to)), (to, change), "{from} {ok}");
    }
}

#[test]
fn a_change_carries_the_deciding_probe_and_its_time() {
    let t0 = Instant::now();
    let mut h = Health::assume_up(schedule(2, 1));
    let failed = Probe {
        ok: false,
        latency: Duration::from_millis(500),
        detail: "timed out after 500 ms".into(),
    };
    let change = h.record(&failed, t0).expect("fall 1 goes down at once");
    assert_eq!(change.reason, "timed out after 500 ms");
    assert_eq!(change.at, t0);
    assert_eq!(h.last_change(), Some(&change));
    assert_eq!(h.reason(), "timed out after 500 ms");
    let last = h.last().expect("a probe was recorded");
    assert_eq!((last.ok, last.latency), (false, Duration::from_millis(500)));
}

#[test]
fn a_reset_puts_an_up_check_down_and_it_needs_rise_passes() {
    let t = Instant::now();
    let mut h = Health::assume_up(schedule(2, 3));
    let change = h.reset("process dnsmasq exited (status 1)", t);
    assert_eq!(change.map(|c| c.to), Some(Direction::Down));
    assert_eq!(h.reason(), "process dnsmasq exited (status 1)");
    assert!(h.record(&probe(true), t).is_none());
    assert_eq!(h.state(), State::Rising(1));
    assert_eq!(h.record(&probe(true), t).map(|c| c.to), Some(Direction::Up));
    // A check that was not up changes nothing when reset.
    let mut rising = in_state(3, 1, State::Rising(2));
    assert!(rising.reset("process exited", t).is_none());
    assert_eq!(rising.state(), State::Down);
}

/// The trailing run of `value` in `history`.
fn trailing(history: &VecDeque<bool>, value: bool) -> u32 {
    history.iter().rev().take_while(|&&r| r == value).count() as u32
}

/// Random pass/fail sequences against properties stated on the history
/// itself, not on the state machine's counters.
#[test]
fn random_sequences_obey_rise_and_fall() {
    let mut rng = XorShift::new(9);
    let t0 = Instant::now();
    for _ in 0..3000 {
        let rise = 1 + rng.below(5) as u32;
        let fall = 1 + rng.below(5) as u32;
        let start_up = rng.chance(3);
        let pass_one_in = 1 + rng.below(4);
        let mut h = if start_up {
            Health::assume_up(schedule(rise, fall))
        } else {
            Health::new(schedule(rise, fall))
        };
        let mut history = VecDeque::new();
        let mut last_flip = None;
        for step in 0..rng.below(60) {
            let now = t0 + Duration::from_secs(step);
            let was_up = h.state().is_up();
            if rng.chance(15) {
                // A process exit: down at once, and the history starts anew.
                let change = h.reset("process exited", now);
                assert_eq!(change.is_some(), was_up);
                if change.is_some() {
                    last_flip = Some(now);
                }
                assert_eq!(h.state(), State::Down);
                history.clear();
                continue;
            }
            let ok = rng.chance(pass_one_in);
            history.push_back(ok);
            let change = h.record(&probe(ok), now);
            let up = h.state().is_up();
            let passes = trailing(&history, true);
            let failures = trailing(&history, false);
            let ctx = format!("rise {rise} fall {fall} up0 {start_up} {history:?}");
            if was_up {
                assert_eq!(up, failures < fall, "{ctx}");
            } else {
                assert_eq!(up, passes >= rise, "{ctx}");
            }
            assert_eq!(change.is_some(), up != was_up, "{ctx}");
            if let Some(c) = &change {
                assert_eq!(c.to == Direction::Up, up, "{ctx}");
                assert_eq!(c.reason, probe(ok).detail, "{ctx}");
                last_flip = Some(now);
            }
            assert_eq!(h.last_change().map(|c| c.at), last_flip, "{ctx}");
            assert_eq!(
                (h.consecutive_passes(), h.consecutive_failures()),
                (passes, failures),
                "{ctx}"
            );
            match h.state() {
                State::Rising(n) => assert!(n == passes && 0 < n && n < rise, "{ctx}"),
                State::Falling(n) => assert!(n == failures && 0 < n && n < fall, "{ctx}"),
                State::Down => assert_eq!(passes, 0, "{ctx}"),
                State::Up => assert_eq!(failures, 0, "{ctx}"),
            }
            let transition = (up && failures > 0) || (!up && passes > 0);
            assert_eq!(h.state().in_transition(), transition, "{ctx}");
            let delay = if transition { TRANSITION } else { INTERVAL };
            assert_eq!(h.next_delay(), delay, "{ctx}");
        }
    }
}
