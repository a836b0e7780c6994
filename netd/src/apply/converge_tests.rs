//! Property: one apply converges. For seeded random configs applied in
//! sequence against the model kernel (with its side effects), the plan
//! after an apply is empty; with failures injected into an apply, the plan
//! after one more (clean) apply is. Every planned change is reported once.

use std::fmt::Write;

use super::apply;
use crate::config;
use crate::model::Desired;
use crate::plan::{self, Plan};
use crate::state::State;
use crate::testutil::fake_kernel::FakeKernel;
use crate::testutil::xorshift::XorShift;

const BRIDGES: [(&str, u8); 2] = [("br0", 0), ("br1", 1)];
const MTUS: [Option<u32>; 4] = [None, Some(1400), Some(1500), Some(9000)];

fn interface(rng: &mut XorShift, text: &mut String, ns: usize, slot: usize, bridges: &[u8]) {
    let name = ["eth0", "eth1", "d0"][slot];
    let dummy = slot == 2 || (slot == 1 && rng.chance(4));
    let _ = writeln!(text, "[[namespace.n{ns}.interface]]\nname = \"{name}\"");
    let mut addrs = Vec::new();
    let base = 10 + ns * 30 + slot * 8;
    if dummy {
        let _ = writeln!(text, "kind = \"dummy\"");
        addrs.push(format!("198.51.100.{}/32", base + rng.below(4) as usize));
    } else {
        let b = *rng.pick(bridges);
        let _ = writeln!(text, "bridge = \"br{b}\"");
        for k in 0..4 {
            if rng.chance(2) {
                addrs.push(format!("10.60.{b}.{}/24", base + k));
            }
        }
        if rng.chance(3) {
            addrs.push(format!("fd60:{b}::{:x}/64", base + rng.below(4) as usize));
        }
        match rng.below(4) {
            0 => {
                let _ = writeln!(text, "host_name = \"h{ns}{name}\"");
            }
            1 => {
                let _ = writeln!(text, "host_name = \"x{ns}{name}\"");
            }
            _ => {}
        }
    }
    let list: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
    let _ = writeln!(text, "addresses = [{}]", list.join(", "));
    if let Some(mtu) = rng.pick(&MTUS) {
        let _ = writeln!(text, "mtu = {mtu}");
    }
    match rng.below(3) {
        0 => {
            let _ = writeln!(text, "ipv6_link_local = true");
        }
        1 => {
            let _ = writeln!(text, "ipv6_link_local = false");
        }
        _ => {}
    }
}

/// A config over a small universe of names and addresses, so that
/// successive configs share most objects and differ in a few.
fn random_config(rng: &mut XorShift) -> String {
    let mut text = String::new();
    let mut bridges = Vec::new();
    for (name, b) in BRIDGES {
        if b == 0 || rng.chance(2) {
            bridges.push(b);
            let _ = writeln!(text, "[bridge.{name}]\naddresses = [\"10.60.{b}.1/24\"]");
            if let Some(mtu) = rng.pick(&MTUS) {
                let _ = writeln!(text, "mtu = {mtu}");
            }
        }
    }
    for ns in 0..4 {
        if rng.chance(4) {
            continue;
        }
        let _ = writeln!(text, "[namespace.n{ns}]");
        if rng.chance(2) {
            let _ = writeln!(
                text,
                "sysctl = {{ \"net.ipv4.ip_forward\" = {} }}",
                rng.below(2)
            );
        }
        if rng.chance(3) {
            let _ = writeln!(
                text,
                "loopback = [\"192.0.2.{}/32\"]",
                ns * 10 + rng.below(3) as usize
            );
        }
        let mut body = String::new();
        for slot in 0..3 {
            if slot == 0 || rng.chance(3) {
                interface(rng, &mut body, ns, slot, &bridges);
            }
        }
        // A default route through the first IPv4 subnet of eth0, and one
        // more route, when there is one to go through.
        let first_v4 = body
            .lines()
            .find(|l| l.starts_with("addresses = [\"10.60."))
            .and_then(|l| l.split("10.60.").nth(1))
            .and_then(|rest| rest.split('.').next())
            .map(str::to_string);
        if let Some(b) = first_v4 {
            if rng.chance(2) {
                let _ = writeln!(text, "gateway = \"10.60.{b}.1\"");
            }
            if rng.chance(2) {
                let metric = if rng.chance(2) { "\nmetric = 50" } else { "" };
                let _ = writeln!(
                    body,
                    "[[namespace.n{ns}.route]]\ndestination = \"203.0.113.0/24\"\ngateway = \"10.60.{b}.254\"{metric}"
                );
            }
        }
        text.push_str(&body);
    }
    text
}

fn changes(plan: &Plan) -> String {
    plan.changes.iter().map(|c| format!("  {c}\n")).collect()
}

/// Plans and applies once; returns the plan.
fn apply_once(fake: &FakeKernel, desired: &Desired, state: &mut State) -> Plan {
    let observed = fake.observe(desired, state);
    let plan = plan::plan(desired, &observed, state, true).expect("no conflicts");
    let report = futures::executor::block_on(apply(fake, &plan, &observed, state));
    assert_eq!(
        report.outcomes.len(),
        plan.changes.len(),
        "every change reported once:\n{}",
        changes(&plan)
    );
    plan
}

fn run(seed: u64, steps: usize) {
    let mut rng = XorShift::new(seed);
    let fake = FakeKernel::default();
    let mut state = State::default();
    for step in 0..steps {
        let text = random_config(&mut rng);
        let desired = config::parse(&text, "/p/netd.toml")
            .unwrap_or_else(|e| panic!("seed {seed} step {step}: bad config {e:?}\n{text}"));
        let inject = rng.chance(3);
        if inject {
            *fake.failures.borrow_mut() = Some((XorShift::new(rng.next()), 5));
        }
        let mut plan = apply_once(&fake, &desired, &mut state);
        if inject {
            *fake.failures.borrow_mut() = None;
            plan = apply_once(&fake, &desired, &mut state);
        }
        let observed = fake.observe(&desired, &state);
        let left = plan::plan(&desired, &observed, &state, true).expect("no conflicts");
        assert!(
            left.is_empty(),
            "seed {seed} step {step} (failures injected: {inject}): not converged in one apply\nleft:\n{}applied:\n{}config:\n{text}",
            changes(&left),
            changes(&plan),
        );
    }
}

#[test]
fn one_apply_converges_for_random_configs() {
    for seed in 1..=200 {
        run(seed, 12);
    }
}
