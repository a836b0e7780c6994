//! One netlink connection per namespace, opened once and reused from any task.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::sys::statfs::{NSFS_MAGIC, fstatfs};
use rtnetlink::Handle;

use crate::state::PinId;

use super::pin::{self, PinError};
use super::worker::{NsWorker, Target, WorkerError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("namespace {ns}: {source}")]
    Worker {
        ns: String,
        #[source]
        source: WorkerError,
    },
    #[error("namespace {ns}: {source}")]
    Pin {
        ns: String,
        #[source]
        source: PinError,
    },
    #[error("namespace {ns}: cannot open {path}: {source}")]
    Open {
        ns: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("namespace {ns}: cannot open a netlink socket: {source}")]
    Netlink {
        ns: String,
        #[source]
        source: io::Error,
    },
    #[error("namespace {ns}: {path} is {found}; netd leaves it alone")]
    Foreign {
        ns: String,
        path: PathBuf,
        found: String,
    },
    #[error("namespace {ns}: sysctl {key}: {source}")]
    Sysctl {
        ns: String,
        key: String,
        #[source]
        source: io::Error,
    },
}

/// An open namespace: its nsfs file (kept open so the namespace cannot vanish
/// under us and so veth peers can be created straight into it) and its
/// netlink handle.
#[derive(Clone)]
pub struct NsHandle {
    pub file: Arc<File>,
    pub netlink: Handle,
    pub id: PinId,
}

/// Long-lived: a daemon keeps one for its whole life. Every use of a
/// namespace re-checks that the pin still holds the namespace the handle
/// was opened on (or the one netd recorded), so a namespace that someone
/// replaced under the same name is never written to.
pub struct Registry {
    dir: PathBuf,
    worker: NsWorker,
    host: Handle,
    open: Mutex<HashMap<String, NsHandle>>,
    expected: Mutex<HashMap<String, PinId>>,
}

/// Opens a netlink connection in the calling thread's namespace and hands it
/// to the runtime; the socket stays bound to that namespace for its life.
fn connect(rt: &tokio::runtime::Handle) -> io::Result<Handle> {
    let _guard = rt.enter();
    let (conn, handle, _) = rtnetlink::new_connection()?;
    rt.spawn(conn);
    Ok(handle)
}

impl Registry {
    /// Must be called from inside the tokio runtime.
    pub fn new(netns_dir: &Path) -> Result<Self, RegistryError> {
        let worker = NsWorker::spawn(2).map_err(|source| RegistryError::Worker {
            ns: "host".into(),
            source,
        })?;
        let host = connect(&tokio::runtime::Handle::current()).map_err(|source| {
            RegistryError::Netlink {
                ns: "host".into(),
                source,
            }
        })?;
        Ok(Registry {
            dir: netns_dir.to_path_buf(),
            worker,
            host,
            open: Mutex::new(HashMap::new()),
            expected: Mutex::new(HashMap::new()),
        })
    }

    /// The identity netd recorded for `ns`: opening a pin with another
    /// identity fails from now on.
    pub fn expect(&self, ns: &str, id: PinId) {
        if let Ok(mut expected) = self.expected.lock() {
            expected.insert(ns.to_string(), id);
        }
    }

    fn expected(&self, ns: &str) -> Option<PinId> {
        self.expected.lock().ok()?.get(ns).copied()
    }

    fn foreign(&self, ns: &str, found: String) -> RegistryError {
        RegistryError::Foreign {
            ns: ns.into(),
            path: pin::pin_path(&self.dir, ns),
            found,
        }
    }

    /// Opens the pin without following a symlink and checks that it is a
    /// namespace, and the expected one.
    fn open_pin(&self, ns: &str) -> Result<(File, PinId), RegistryError> {
        let path = pin::pin_path(&self.dir, ns);
        let open_err = |source| RegistryError::Open {
            ns: ns.into(),
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&path)
            .map_err(open_err)?;
        let is_ns = fstatfs(file.as_fd()).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC);
        if !is_ns {
            let found = pin::examine(&path).map_or_else(|e| e.to_string(), |k| k.to_string());
            return Err(self.foreign(ns, found));
        }
        let id = pin::identity(&file).map_err(open_err)?;
        match self.expected(ns) {
            Some(want) if want != id => Err(self.foreign(
                ns,
                format!("another namespace ({id}) than the one netd recorded ({want})"),
            )),
            _ => Ok((file, id)),
        }
    }

    /// A cached handle, if the pin still holds its namespace.
    fn checked_cache(&self, ns: &str) -> Result<Option<NsHandle>, RegistryError> {
        let Some(h) = self.cached(ns) else {
            return Ok(None);
        };
        match pin::examine(&pin::pin_path(&self.dir, ns)) {
            Ok(pin::PinKind::Namespace { id }) if id == h.id => Ok(Some(h)),
            found => {
                self.forget(ns);
                let found = found.map_or_else(|e| e.to_string(), |k| k.to_string());
                Err(self.foreign(ns, found))
            }
        }
    }

    pub fn netns_dir(&self) -> &Path {
        &self.dir
    }

    pub fn host(&self) -> Handle {
        self.host.clone()
    }

    fn cached(&self, ns: &str) -> Option<NsHandle> {
        self.open.lock().ok()?.get(ns).cloned()
    }

    fn remember(&self, ns: &str, handle: NsHandle) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(ns.to_string(), handle);
        }
    }

    pub fn forget(&self, ns: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(ns);
        }
    }

    /// Opens an existing pinned namespace (cached after the first call).
    pub async fn open(&self, ns: &str) -> Result<NsHandle, RegistryError> {
        if let Some(h) = self.checked_cache(ns)? {
            return Ok(h);
        }
        let (file, id) = self.open_pin(ns)?;
        let file = Arc::new(file);
        let rt = tokio::runtime::Handle::current();
        let netlink = self
            .worker
            .run(Target::Ns(file.clone()), move || connect(&rt))
            .await
            .map_err(|source| RegistryError::Worker {
                ns: ns.into(),
                source,
            })?
            .map_err(|source| RegistryError::Netlink {
                ns: ns.into(),
                source,
            })?;
        let handle = NsHandle { file, netlink, id };
        self.remember(ns, handle.clone());
        Ok(handle)
    }

    /// Creates a namespace and pins it. A leftover empty file at the pin
    /// path (from a crash before the mount) is reused only with
    /// `reuse_empty`, i.e. when netd recorded the intent to create it.
    pub async fn create(&self, ns: &str, reuse_empty: bool) -> Result<NsHandle, RegistryError> {
        let path = pin::pin_path(&self.dir, ns);
        let pin_err = |source| RegistryError::Pin {
            ns: ns.into(),
            source,
        };
        pin::ensure_shared_dir(&self.dir).map_err(pin_err)?;
        pin::create_pin_file(&path, reuse_empty).map_err(pin_err)?;
        let rt = tokio::runtime::Handle::current();
        let pin_at = path.clone();
        let (file, netlink) = self
            .worker
            .run(
                Target::Fresh,
                move || -> Result<(File, io::Result<Handle>), PinError> {
                    pin::pin_current_thread(&pin_at)?;
                    let file =
                        File::open("/proc/thread-self/ns/net").map_err(|source| PinError::Pin {
                            path: pin_at.clone(),
                            source,
                        })?;
                    Ok((file, connect(&rt)))
                },
            )
            .await
            .map_err(|source| RegistryError::Worker {
                ns: ns.into(),
                source,
            })?
            .map_err(pin_err)?;
        let netlink = netlink.map_err(|source| RegistryError::Netlink {
            ns: ns.into(),
            source,
        })?;
        let id = pin::identity(&file).map_err(|source| RegistryError::Open {
            ns: ns.into(),
            path: path.clone(),
            source,
        })?;
        self.expect(ns, id);
        let handle = NsHandle {
            file: Arc::new(file),
            netlink,
            id,
        };
        self.remember(ns, handle.clone());
        Ok(handle)
    }

    /// Runs `f` on the namespace thread inside `ns` (the host namespace for
    /// None), without opening or caching a netlink connection.
    pub async fn run_in<T, F>(&self, ns: Option<&str>, f: F) -> Result<T, RegistryError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let name = ns.unwrap_or("host");
        let target = match ns {
            None => Target::Host,
            Some(ns) => match self.checked_cache(ns)? {
                Some(h) => Target::Ns(h.file),
                None => Target::Ns(Arc::new(self.open_pin(ns)?.0)),
            },
        };
        self.worker
            .run(target, f)
            .await
            .map_err(|source| RegistryError::Worker {
                ns: name.into(),
                source,
            })
    }

    /// Writes sysctls inside the namespace, in order; stops at the first
    /// failure and reports it.
    pub async fn write_sysctls(
        &self,
        ns: &str,
        values: Vec<(String, String)>,
    ) -> Result<(), RegistryError> {
        let h = self.open(ns).await?;
        let owned_ns = ns.to_string();
        self.worker
            .run(Target::Ns(h.file), move || {
                for (k, v) in values {
                    fs::write(sysctl_path(&k), &v).map_err(|source| RegistryError::Sysctl {
                        ns: owned_ns.clone(),
                        key: k.clone(),
                        source,
                    })?;
                }
                Ok(())
            })
            .await
            .map_err(|source| RegistryError::Worker {
                ns: ns.into(),
                source,
            })?
    }
}

/// `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`. Interface names
/// may contain dots, which sysctl(8) writes as `/`; netd keeps the simple
/// mapping, since its own interface names are validated.
pub fn sysctl_path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}
