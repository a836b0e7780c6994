//! The side effects the supervisor needs, behind a trait so that its
//! bookkeeping (reloads, reaping, status) is tested with a recording fake.

use std::path::Path;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::machine::Exit;
use super::output::{Stream, forward};
use super::spawn::{SpawnError, spawn};
use crate::model::ProcessConfig;

pub trait Os: Send {
    /// Starts the process in namespace `ns`; its output is logged.
    fn spawn(&mut self, netns_dir: &Path, ns: &str, cfg: &ProcessConfig)
    -> Result<i32, SpawnError>;
    /// Signals the process and the rest of its process group.
    fn signal(&mut self, pid: i32, signal: i32);
    /// One child of netd that has ended, if any; never waits.
    fn reap_one(&mut self) -> Option<(i32, Exit)>;
    /// Whether the process `pid` that started at `start_time` still runs
    /// (for processes that are not netd's children).
    fn alive(&mut self, pid: i32, start_time: u64) -> bool {
        super::adopt::start_time(pid) == Some(start_time)
    }
}

/// The real thing.
pub struct Linux;

impl Os for Linux {
    fn spawn(
        &mut self,
        netns_dir: &Path,
        ns: &str,
        cfg: &ProcessConfig,
    ) -> Result<i32, SpawnError> {
        let mut child = spawn(netns_dir, ns, cfg)?;
        if let Some(out) = child.stdout.take() {
            forward(out, Stream::Stdout, ns, &cfg.name);
        }
        if let Some(err) = child.stderr.take() {
            forward(err, Stream::Stderr, ns, &cfg.name);
        }
        // Dropping a std Child neither waits nor kills: `reap_one` reaps it.
        Ok(child.id() as i32)
    }

    fn signal(&mut self, pid: i32, signal: i32) {
        let Ok(sig) = Signal::try_from(signal) else {
            tracing::warn!(pid, signal, "not a signal this system knows");
            return;
        };
        // The whole process group (each process leads its own session), so
        // that `sh -c` and forking servers end with their children. ESRCH:
        // it ended already; its exit is reaped as usual.
        if let Err(e) = kill(Pid::from_raw(-pid), sig)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::warn!(pid, signal = %sig, error = %e, "cannot signal a process");
        }
    }

    fn reap_one(&mut self) -> Option<(i32, Exit)> {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => return Some((pid.as_raw(), Exit::Code(code))),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    return Some((pid.as_raw(), Exit::Signal(sig as i32)));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                // StillAlive, ECHILD (no children), or a stop/continue
                // report, which waitpid only gives when asked.
                _ => return None,
            }
        }
    }
}
