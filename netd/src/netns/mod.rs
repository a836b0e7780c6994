//! Namespaces as long-lived objects: pinned at `<netns_dir>/NAME` exactly as
//! `ip netns add` does, and reached through one netlink socket each, opened
//! from a dedicated thread that entered the namespace.

mod pin;
mod registry;
mod worker;

pub use pin::{
    PinError, PinKind, ensure_shared_dir, examine, identity, is_pinned, list_pinned, pin_path,
    unpin,
};
pub use registry::{NsHandle, Registry, RegistryError, sysctl_path};
pub use worker::{NsWorker, Target, WorkerError};

/// Raise the open-file soft limit to the hard limit: netd keeps one namespace
/// fd and one netlink socket per namespace, which is past the usual 1024 soft
/// limit at a thousand namespaces.
pub fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::warn!(%err, "could not raise the open-file limit");
    }
}
