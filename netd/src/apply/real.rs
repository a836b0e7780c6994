//! [`Kernel`] on the real kernel, through the namespace registry.

use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

use super::Kernel;
use crate::netlink::{self, DumpSocket, NlError, Request};
use crate::netns::{self, Registry};
use crate::observe::ObservedLink;
use crate::plan::Scope;
use crate::state::{PinId, State};

pub struct RealKernel<'a> {
    pub registry: &'a Registry,
    pub state_dir: PathBuf,
}

impl RealKernel<'_> {
    async fn handle(&self, scope: &Scope) -> Result<rtnetlink::Handle, String> {
        match scope {
            Scope::Host => Ok(self.registry.host()),
            Scope::Ns(ns) => self
                .registry
                .open(ns)
                .await
                .map(|h| h.netlink)
                .map_err(|e| e.to_string()),
        }
    }
}

impl Kernel for RealKernel<'_> {
    async fn create_namespace(&self, ns: &str, reuse_empty: bool) -> Result<PinId, String> {
        self.registry
            .create(ns, reuse_empty)
            .await
            .map(|h| h.id)
            .map_err(|e| e.to_string())
    }

    async fn delete_namespace(&self, ns: &str, expected: Option<PinId>) -> Result<(), String> {
        self.registry.forget(ns);
        netns::unpin(&netns::pin_path(self.registry.netns_dir(), ns), expected)
            .map_err(|e| e.to_string())
    }

    async fn ns_fd(&self, ns: &str) -> Result<RawFd, String> {
        // The registry keeps the file open for the whole run, so the raw fd
        // stays valid while requests that carry it are in flight.
        self.registry
            .open(ns)
            .await
            .map(|h| h.file.as_raw_fd())
            .map_err(|e| e.to_string())
    }

    async fn netlink(&self, scope: &Scope, batch: Vec<Request>) -> Vec<Result<(), NlError>> {
        match self.handle(scope).await {
            Ok(h) => netlink::execute(&h, batch).await,
            Err(e) => batch
                .iter()
                .map(|_| {
                    Err(NlError::Kernel {
                        errno: 0,
                        message: e.clone(),
                    })
                })
                .collect(),
        }
    }

    async fn links(&self, scope: &Scope) -> Result<Vec<ObservedLink>, String> {
        let links = self
            .registry
            .run_in(scope.ns(), || DumpSocket::open()?.links())
            .await
            .map_err(|e| e.to_string())?;
        links.map_err(|e| e.to_string())
    }

    async fn write_sysctls(&self, ns: &str, values: Vec<(String, String)>) -> Result<(), String> {
        self.registry
            .write_sysctls(ns, values)
            .await
            .map_err(|e| e.to_string())
    }

    async fn write_host_sysctls(&self, values: Vec<(String, String)>) -> Result<(), String> {
        self.registry
            .run_in(None, move || {
                for (key, value) in values {
                    let path = std::path::Path::new("/proc/sys").join(&key);
                    std::fs::write(&path, &value)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?
    }

    async fn nft(&self, commands: String) -> Result<(), String> {
        let run = move || crate::nft::apply(&commands).map_err(|e| e.to_string());
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| e.to_string())?
    }

    fn release(&self, ns: &str) {
        self.registry.forget(ns);
    }

    fn save_state(&self, state: &State) -> Result<(), String> {
        state.save(&self.state_dir).map_err(|e| e.to_string())
    }
}
