//! Creation against a fake kernel whose answers are scripted per request.

use std::cell::RefCell;
use std::os::fd::RawFd;

use super::*;
use crate::model::MacAddr;
use crate::netlink::{NEEDS_ROOT, NlError};
use crate::observe::ObservedLink;
use crate::state::{PinId, State};

/// Answers each request whose text contains a key with that key's errno;
/// `links` is what any dump finds.
#[derive(Default)]
struct Scripted {
    answers: Vec<(&'static str, i32)>,
    links: Vec<&'static str>,
    sent: RefCell<Vec<String>>,
}

impl Kernel for Scripted {
    async fn create_namespace(&self, _: &str, _: bool) -> Result<PinId, String> {
        unreachable!()
    }
    async fn delete_namespace(&self, _: &str, _: Option<PinId>) -> Result<(), String> {
        unreachable!()
    }
    async fn ns_fd(&self, _: &str) -> Result<RawFd, String> {
        unreachable!()
    }
    async fn netlink(&self, _: &Scope, batch: Vec<Request>) -> Vec<Result<(), NlError>> {
        batch
            .iter()
            .map(|r| {
                let text = r.to_string();
                self.sent.borrow_mut().push(text.clone());
                match self.answers.iter().find(|(key, _)| text.contains(key)) {
                    Some(&(_, errno)) => Err(NlError::Kernel {
                        errno,
                        message: String::new(),
                    }),
                    None => Ok(()),
                }
            })
            .collect()
    }
    async fn links(&self, _: &Scope) -> Result<Vec<ObservedLink>, String> {
        Ok(self
            .links
            .iter()
            .map(|name| ObservedLink {
                name: name.to_string(),
                ..ObservedLink::default()
            })
            .collect())
    }
    async fn write_sysctls(&self, _: &str, _: Vec<(String, String)>) -> Result<(), String> {
        unreachable!()
    }
    fn save_state(&self, _: &State) -> Result<(), String> {
        unreachable!()
    }
    async fn write_host_sysctls(&self, _: Vec<(String, String)>) -> Result<(), String> {
        unreachable!()
    }
    async fn nft(&self, _: String) -> Result<(), String> {
        unreachable!()
    }
    fn release(&self, _: &str) {}
}

const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

/// A dummy `d0` netd wants at ifindex 5.
fn dummy() -> NewLink {
    NewLink {
        change: Change::CreateBridge {
            name: "d0".into(),
            mtu: None,
        },
        request: Request::create_dummy("d0", MAC, None, 5),
        fallback: Some(Request::create_dummy("d0", MAC, None, 0)),
        names: vec![(Scope::Host, "d0".into())],
    }
}

fn create(kernel: &Scripted) -> (Created, Report) {
    let mut report = Report::default();
    let created = futures::executor::block_on(create_links(
        kernel,
        &Scope::Host,
        vec![dummy()],
        &mut report,
    ));
    (created, report)
}

#[test]
fn a_taken_index_is_retried_with_the_kernels_choice() {
    let kernel = Scripted {
        answers: vec![("newlink 5 ", 17)],
        ..Scripted::default()
    };
    let (created, report) = create(&kernel);
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert_eq!(created.ok.len(), 1);
    assert!(created.kernel_chose);
    let sent = kernel.sent.borrow();
    assert_eq!(sent.len(), 2);
    assert!(sent[1].starts_with("newlink 0 "), "{sent:?}");
}

#[test]
fn a_taken_name_is_a_conflict_naming_the_link() {
    let kernel = Scripted {
        answers: vec![("newlink", 17)],
        links: vec!["lo", "d0"],
        ..Scripted::default()
    };
    let (created, report) = create(&kernel);
    assert!(created.ok.is_empty());
    let error = report.outcomes[0].error.as_deref().unwrap();
    assert!(
        error
            .starts_with("link d0 in the host namespace already exists and netd did not create it"),
        "{error}"
    );
}

#[test]
fn other_failures_are_not_retried_and_keep_their_cause() {
    let kernel = Scripted {
        answers: vec![("newlink", 1)],
        ..Scripted::default()
    };
    let (created, report) = create(&kernel);
    assert!(created.ok.is_empty() && !created.kernel_chose);
    assert_eq!(kernel.sent.borrow().len(), 1);
    assert!(
        report.outcomes[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with(NEEDS_ROOT)
    );
}
