//! pidfds: a descriptor that becomes readable when a process ends, whoever
//! its parent is. The daemon uses them for adopted processes (no SIGCHLD
//! comes for those) and anycast for the process a service is tied to.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: a syscall with plain integer arguments; the fd it returns is
    // owned by nobody else.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from the kernel, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A pidfd registered with tokio's reactor: `readable()` resolves when the
/// process has ended.
pub fn exit_watch(pid: i32) -> io::Result<AsyncFd<OwnedFd>> {
    let fd = pidfd_open(pid)?;
    // SAFETY: `fd` is owned by the AsyncFd from here on, so the descriptor
    // stays open and the same for as long as it is registered.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| e.into_parts().1)
}
