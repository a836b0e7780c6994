//! The applier against a recording fake: ordering, index resolution, error
//! reporting. The kernel itself is covered by the sandbox tests.

use std::cell::RefCell;
use std::os::fd::RawFd;

use super::*;
use crate::config;
use crate::model::Desired;
use crate::netlink::{NlError, Request};
use crate::observe::{Observed, ObservedLink};
use crate::plan::{self, Scope};
use crate::state::{NsRecord, Origin, PinId, State};
use crate::testutil::converged;

#[derive(Default)]
struct Fake {
    calls: RefCell<Vec<String>>,
    fail_namespace: Option<&'static str>,
    /// (substring of a request, errno) → that request fails.
    fail_request: Option<(&'static str, i32)>,
    saved: RefCell<Vec<State>>,
}

impl Fake {
    fn log(&self, s: String) {
        self.calls.borrow_mut().push(s);
    }

    fn position(&self, needle: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("no call with {needle:?} in {:#?}", self.calls.borrow()))
    }
}

impl Kernel for Fake {
    async fn create_namespace(&self, ns: &str, _reuse_empty: bool) -> Result<PinId, String> {
        self.log(format!("create-ns {ns}"));
        match self.fail_namespace {
            Some(bad) if bad == ns => Err("EPERM".into()),
            _ => Ok(crate::testutil::pin_of(ns)),
        }
    }
    async fn delete_namespace(&self, ns: &str, _expected: Option<PinId>) -> Result<(), String> {
        self.log(format!("delete-ns {ns}"));
        Ok(())
    }
    async fn ns_fd(&self, _ns: &str) -> Result<RawFd, String> {
        Ok(42)
    }
    async fn netlink(&self, scope: &Scope, batch: Vec<Request>) -> Vec<Result<(), NlError>> {
        batch
            .iter()
            .map(|r| {
                let line = format!("{scope:?} {r}");
                self.log(line.clone());
                match self.fail_request {
                    Some((needle, errno)) if line.contains(needle) => Err(NlError::Kernel {
                        errno,
                        message: format!("errno {errno}"),
                    }),
                    _ => Ok(()),
                }
            })
            .collect()
    }
    async fn links(&self, _scope: &Scope) -> Result<Vec<ObservedLink>, String> {
        self.log("dump-links".into());
        Ok(vec![ObservedLink {
            index: 7,
            name: "br0".into(),
            ..ObservedLink::default()
        }])
    }
    async fn write_sysctls(&self, ns: &str, values: Vec<(String, String)>) -> Result<(), String> {
        self.log(format!("sysctl {ns} {values:?}"));
        Ok(())
    }
    async fn write_host_sysctls(&self, values: Vec<(String, String)>) -> Result<(), String> {
        self.log(format!("host-sysctl {values:?}"));
        Ok(())
    }
    async fn nft(&self, commands: String) -> Result<(), String> {
        self.log(format!("nft {}", commands.len()));
        Ok(())
    }
    fn release(&self, ns: &str) {
        self.log(format!("release {ns}"));
    }
    fn save_state(&self, state: &State) -> Result<(), String> {
        self.log("save-state".into());
        self.saved.borrow_mut().push(state.clone());
        Ok(())
    }
}

fn topology() -> Desired {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/plan/topology.toml");
    config::load(std::path::Path::new(path)).expect("valid test config")
}

fn run(fake: &Fake, d: &Desired, o: &Observed, state: &mut State) -> Report {
    let p = plan::plan(d, o, state, false).unwrap();
    futures::executor::block_on(apply(fake, &p, o, state))
}

#[test]
fn fresh_apply_records_then_creates_in_dependency_order() {
    let fake = Fake::default();
    let d = topology();
    let mut state = State::default();
    let report = run(&fake, &d, &Observed::default(), &mut state);
    assert!(report.is_ok(), "{:?}", report.failed().collect::<Vec<_>>());
    // Recorded before anything exists, so a crash cannot leak a namespace.
    assert!(fake.position("save-state") < fake.position("create-ns db"));
    assert_eq!(
        fake.saved.borrow()[0].namespaces.get("web"),
        Some(&NsRecord::new(Origin::Created, None))
    );
    // Completed with the pin's identity once it exists.
    assert_eq!(
        state.namespaces.get("web"),
        Some(&NsRecord::new(
            Origin::Created,
            Some(crate::testutil::pin_of("web"))
        ))
    );
    assert!(state.link_intents.is_empty(), "{:?}", state.link_intents);
    // The bridge exists (and its index is re-read) before veths enslave to it.
    assert!(fake.position("Host newlink 0") < fake.position("dump-links"));
    let veth = fake.position("Controller(7)");
    // The peer is brought up from inside after the pair exists.
    assert!(
        fake.calls.borrow()[veth + 1..]
            .iter()
            .any(|c| c.starts_with("Ns(\"db\") setlink 2")),
        "peer set up in db after the pair exists"
    );
    // Addresses come after their link, routes after addresses, in the namespace.
    assert!(fake.position("Ns(\"db\") newaddr 2") > veth);
    assert!(fake.position("Ns(\"db\") newroute") > fake.position("Ns(\"db\") newaddr 2"));
    assert!(fake.position("sysctl web") < fake.position("Ns(\"web\") newroute"));
    // The dummy is created inside the namespace with the next free index.
    assert!(fake.position("Ns(\"web\") newlink 3") > 0);
}

#[test]
fn failed_namespace_skips_its_changes_and_says_so() {
    let fake = Fake {
        fail_namespace: Some("db"),
        ..Fake::default()
    };
    let d = topology();
    let mut state = State::default();
    let report = run(&fake, &d, &Observed::default(), &mut state);
    let failed: Vec<String> = report
        .failed()
        .map(|o| format!("{}: {}", o.change, o.error.as_deref().unwrap()))
        .collect();
    assert!(failed[0].starts_with("+ namespace db: EPERM"), "{failed:?}");
    assert!(
        failed[1..].iter().all(|f| f.contains("not attempted")),
        "{failed:?}"
    );
    assert!(!fake.calls.borrow().iter().any(|c| c.contains("Ns(\"db\")")));
    // web is unaffected.
    assert!(
        report
            .done()
            .any(|c| c.to_string() == "+ route web 0.0.0.0/0 via 10.88.0.1 dev eth0")
    );
}

#[test]
fn deleting_what_is_gone_is_not_an_error() {
    let d = topology();
    let mut o = converged(&d);
    o.namespaces
        .get_mut("web")
        .unwrap()
        .addrs
        .push(crate::observe::ObservedAddr {
            index: 2,
            net: "10.88.0.99/24".parse().unwrap(),
            proto: 0,
            tentative: false,
        });
    let fake = Fake {
        fail_request: Some(("deladdr", 99)),
        ..Fake::default()
    };
    let mut state = crate::testutil::recorded(&d);
    let report = run(&fake, &d, &o, &mut state);
    assert!(report.is_ok());
    assert_eq!(report.done().count(), 1);
}

#[test]
fn kernel_errors_are_reported_per_change() {
    let fake = Fake {
        fail_request: Some(("newroute", 101)),
        ..Fake::default()
    };
    let d = topology();
    let mut state = State::default();
    let report = run(&fake, &d, &Observed::default(), &mut state);
    let failed: Vec<String> = report.failed().map(|o| o.change.to_string()).collect();
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(failed.iter().all(|f| f.starts_with("+ route")));
    let json = report.to_json();
    assert_eq!(json["errors"].as_array().unwrap().len(), 4);
    assert_eq!(json["errors"][0]["kind"], "route");
}
