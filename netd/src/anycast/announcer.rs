//! The announcer's own netlink connection in a service namespace. It is
//! its own writer: its socket and thread are not the reconcile's, so
//! announcing or withdrawing never waits behind a full converge.

use std::collections::BTreeSet;
use std::fs::File;
use std::sync::Arc;

use rtnetlink::Handle;

use super::routes::{self, ServiceRoute};
use crate::model::ANNOUNCE_PROTO;
use crate::netlink::{DumpSocket, Request, execute};
use crate::netns::{NsWorker, Target, WorkerError};

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error("cannot enter the namespace: {0}")]
    Enter(#[from] WorkerError),
    #[error("{0}")]
    Netlink(String),
}

#[derive(Clone)]
pub struct Announcer {
    handle: Handle,
    worker: NsWorker,
    ns: Arc<File>,
}

impl Announcer {
    /// Opens a netlink connection inside the namespace `ns` refers to.
    pub async fn open(worker: &NsWorker, ns: Arc<File>) -> Result<Self, AnnounceError> {
        let rt = tokio::runtime::Handle::current();
        let handle = worker
            .run(Target::Ns(ns.clone()), move || {
                let _guard = rt.enter();
                let (conn, handle, _) = rtnetlink::new_connection()?;
                rt.spawn(conn);
                Ok::<_, std::io::Error>(handle)
            })
            .await?
            .map_err(|e| AnnounceError::Netlink(format!("cannot open a netlink socket: {e}")))?;
        Ok(Announcer {
            handle,
            worker: worker.clone(),
            ns,
        })
    }

    /// Adds (or replaces) every route; all are tried, the first failure
    /// is reported.
    pub async fn add(&self, list: &[ServiceRoute]) -> Result<(), AnnounceError> {
        self.send(list.iter().map(routes::add).collect(), &[]).await
    }

    /// Deletes every route; one that is already gone is not a failure.
    pub async fn delete(&self, list: &[ServiceRoute]) -> Result<(), AnnounceError> {
        let gone = [nix::libc::ESRCH, nix::libc::ENOENT];
        self.send(list.iter().map(routes::delete).collect(), &gone)
            .await
    }

    async fn send(&self, batch: Vec<Request>, ignored: &[i32]) -> Result<(), AnnounceError> {
        let shown: Vec<String> = batch.iter().map(|r| r.to_string()).collect();
        let results = execute(&self.handle, batch).await;
        for (result, what) in results.into_iter().zip(shown) {
            if let Err(e) = result
                && !e.errno().is_some_and(|n| ignored.contains(&n))
            {
                return Err(AnnounceError::Netlink(format!("{what}: {e}")));
            }
        }
        Ok(())
    }

    /// netd's announce routes the namespace has now (they outlive a
    /// restart of netd, which picks them up instead of flapping).
    pub async fn present(&self) -> Result<BTreeSet<ServiceRoute>, AnnounceError> {
        self.worker
            .run(Target::Ns(self.ns.clone()), || {
                let mut socket = DumpSocket::open().map_err(|e| e.to_string())?;
                let found = socket.routes().map_err(|e| e.to_string())?;
                Ok(found
                    .into_iter()
                    .filter(|r| r.proto == ANNOUNCE_PROTO)
                    .map(|r| ServiceRoute {
                        prefix: r.route.destination,
                        table: r.route.table,
                        local: r.route.table == routes::LOCAL_TABLE,
                    })
                    .collect())
            })
            .await?
            .map_err(AnnounceError::Netlink)
    }
}
