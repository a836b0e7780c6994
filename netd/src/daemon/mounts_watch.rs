//! Pins are bind mounts: when one is unmounted (`ip netns delete`) or
//! another namespace is mounted over it, the mount table changes, and the
//! kernel wakes pollers of /proc/self/mountinfo with POLLPRI. The loop then
//! examines the pins again, which costs a stat per namespace.

use std::fs::File;
use std::io;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::events::Event;

async fn watch(mounts: AsyncFd<File>, tx: UnboundedSender<Event>) {
    loop {
        let Ok(mut ready) = mounts.ready(Interest::PRIORITY).await else {
            return;
        };
        ready.clear_ready();
        if tx.send(Event::Pins).is_err() {
            return;
        }
    }
}

pub fn start(tx: UnboundedSender<Event>) -> io::Result<JoinHandle<()>> {
    let file = File::open("/proc/self/mountinfo")?;
    let mounts = super::fd::register(file, Interest::PRIORITY)?;
    Ok(tokio::spawn(watch(mounts, tx)))
}
