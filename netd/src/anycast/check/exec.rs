//! exec: a command run inside the namespace; exit status 0 passes. The
//! child enters the namespace between fork and exec, so no thread of netd
//! ever changes namespace for it; the probe's timeout drops the child,
//! which kills it.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use nix::sched::{CloneFlags, setns};
use tokio::process::Command;

use super::{InNamespace, Outcome};

pub(super) async fn check(ns: &InNamespace, command: &str, args: &[String]) -> Outcome {
    let mut cmd = Command::new(command);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(file) = ns.ns_file() {
        let fd = file.as_raw_fd();
        // SAFETY: the closure runs in the child between fork and exec and
        // makes one system call, which is async-signal-safe. `fd` stays open
        // until spawn returns: `ns` holds the file for the whole call.
        unsafe {
            cmd.pre_exec(move || {
                setns(BorrowedFd::borrow_raw(fd), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
            });
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {command}: {e}"))?;
    let status = child
        .wait()
        .await
        .map_err(|e| format!("cannot wait for {command}: {e}"))?;
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok("exit status 0".to_string()),
        (Some(code), _) => Err(format!("exit status {code}")),
        (None, Some(signal)) => Err(format!("killed by signal {signal}")),
        (None, None) => Err(format!("ended with {status}")),
    }
}
