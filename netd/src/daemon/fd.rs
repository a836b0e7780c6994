//! Registers a watcher's socket or file with tokio's reactor.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::io::AsRawFd;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `inner` must own its descriptor, as sockets and files do: the type
/// bound asks for [`AsFd`], which only owners of a descriptor implement.
pub fn register<T: AsRawFd + AsFd>(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    // SAFETY: `inner` owns its descriptor (it is AsFd), so the descriptor
    // stays open and the same for as long as the AsyncFd holds `inner`.
    unsafe { AsyncFd::register_with_interest(inner, interest) }.map_err(|e| e.into_parts().1)
}
