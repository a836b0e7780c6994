//! The side-effect boundary of apply. The real implementation talks to the
//! kernel; the test one records calls.

use std::os::fd::RawFd;

use crate::netlink::{NlError, Request};
use crate::observe::ObservedLink;
use crate::plan::Scope;
use crate::state::{PinId, State};

#[allow(async_fn_in_trait)]
pub trait Kernel {
    /// Creates and pins a namespace; returns the pin's identity. An empty
    /// file at the pin path is reused only with `reuse_empty`.
    async fn create_namespace(&self, ns: &str, reuse_empty: bool) -> Result<PinId, String>;
    /// Unpins a namespace, only if its pin has the `expected` identity (None:
    /// only an empty leftover file); it disappears once nothing else holds it.
    async fn delete_namespace(&self, ns: &str, expected: Option<PinId>) -> Result<(), String>;
    /// An fd of the namespace, valid for as long as the kernel object lives.
    async fn ns_fd(&self, ns: &str) -> Result<RawFd, String>;
    /// Sends a batch on the scope's socket, pipelined; one result per request.
    async fn netlink(&self, scope: &Scope, batch: Vec<Request>) -> Vec<Result<(), NlError>>;
    async fn links(&self, scope: &Scope) -> Result<Vec<ObservedLink>, String>;
    async fn write_sysctls(&self, ns: &str, values: Vec<(String, String)>) -> Result<(), String>;
    fn save_state(&self, state: &State) -> Result<(), String>;
    /// Sysctls of the host namespace, as paths under /proc/sys.
    async fn write_host_sysctls(&self, values: Vec<(String, String)>) -> Result<(), String>;
    /// One `nft -j -f` transaction.
    async fn nft(&self, commands: String) -> Result<(), String>;
    /// Done with this namespace for now: its connection may be closed.
    fn release(&self, ns: &str);
}
