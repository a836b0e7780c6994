//! exec: a command run inside the namespace; exit status 0 passes.
//!
//! The supervisor reaps every child of netd with `waitpid(-1)` (netd is a
//! subreaper), which would steal the command's exit status. So the command
//! runs under a small intermediate: a child made with clone3 and an exit
//! signal of 0, a "clone child" that `waitpid(-1)` never sees as long as it
//! does not exec (exec resets the exit signal to SIGCHLD). The intermediate
//! enters the namespace, forks the command, waits for it and exits with its
//! status; netd awaits the intermediate through a pidfd and reaps it with
//! `waitid(P_PIDFD, __WCLONE)`. Between clone and exec only async-signal-
//! safe system calls are made on memory prepared before. A probe dropped on
//! its timeout kills the process group (both of them) and reaps.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::libc;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::{InNamespace, Outcome};

const SEARCH_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

const CLONE_PIDFD: u64 = 0x1000;
const P_PIDFD: libc::idtype_t = 3;

pub(super) async fn check(ns: &InNamespace, command: &str, args: &[String]) -> Outcome {
    let path = resolve(command).ok_or_else(|| format!("cannot run {command}: not found"))?;
    let child = Child::spawn(&path, command, args, ns.ns_file().map(|f| f.as_ref()))
        .map_err(|e| format!("cannot run {command}: {e}"))?;
    child.wait().await
}

/// `command` as given when it has a slash, else the first match in PATH.
fn resolve(command: &str) -> Option<PathBuf> {
    if command.contains('/') {
        return Some(PathBuf::from(command)).filter(|p| p.is_file());
    }
    SEARCH_PATH
        .split(':')
        .map(|dir| Path::new(dir).join(command))
        .find(|p| p.is_file())
}

/// A running check command. Dropped before it ended, it is killed and
/// reaped: a timed-out probe leaves nothing behind.
struct Child {
    pid: i32,
    pidfd: Option<AsyncFd<OwnedFd>>,
}

impl Child {
    fn spawn(path: &Path, command: &str, args: &[String], ns: Option<&File>) -> io::Result<Child> {
        let c =
            |s: &str| CString::new(s).map_err(|_| io::Error::other("a NUL byte in an argument"));
        let program = c(&path.to_string_lossy())?;
        let mut argv_owned = vec![c(command)?];
        for a in args {
            argv_owned.push(c(a)?);
        }
        let mut argv: Vec<*const libc::c_char> = argv_owned.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let env = c(&format!("PATH={SEARCH_PATH}"))?;
        let envp = [env.as_ptr(), std::ptr::null()];
        let null = File::options().read(true).write(true).open("/dev/null")?;
        let null_fd = null.as_raw_fd();
        let ns_fd = ns.map(|f| f.as_raw_fd());

        let mut pidfd: libc::c_int = -1;
        let mut clone = CloneArgs {
            flags: CLONE_PIDFD,
            pidfd: &mut pidfd as *mut libc::c_int as u64,
            ..CloneArgs::default()
        };
        // SAFETY: clone3 without CLONE_VM is a fork. The child branch below
        // only makes async-signal-safe system calls on memory prepared
        // before the call, then execs or exits.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &mut clone as *mut CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if pid == 0 {
            // SAFETY: in the intermediate; see above.
            unsafe {
                if let Some(fd) = ns_fd
                    && libc::setns(fd, libc::CLONE_NEWNET) != 0
                {
                    libc::_exit(126);
                }
                libc::setpgid(0, 0);
                // A plain fork by system call, without glibc's atfork handlers.
                let command =
                    libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
                if command == 0 {
                    for target in 0..3 {
                        libc::dup2(null_fd, target);
                    }
                    libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
                    libc::_exit(127);
                }
                if command < 0 {
                    libc::_exit(125);
                }
                let mut status: libc::c_int = 0;
                while libc::waitpid(command as libc::pid_t, &mut status, 0) < 0 {
                    if *libc::__errno_location() != libc::EINTR {
                        libc::_exit(125);
                    }
                }
                if libc::WIFEXITED(status) {
                    libc::_exit(libc::WEXITSTATUS(status));
                }
                libc::_exit(128 + libc::WTERMSIG(status));
            }
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: clone3 gave this descriptor to the parent, owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(pidfd) };
        let mut child = Child {
            pid: pid as i32,
            pidfd: None,
        };
        // SAFETY: `fd` is owned by the AsyncFd from here on.
        let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
        match registered {
            Ok(fd) => child.pidfd = Some(fd),
            Err(e) => return Err(e.into_parts().1),
        }
        Ok(child)
    }

    async fn wait(mut self) -> Outcome {
        if let Some(fd) = &self.pidfd {
            let _ = fd.readable().await;
        }
        let Some(fd) = self.pidfd.take() else {
            return Err("lost the check command".into());
        };
        let info = reap(fd.get_ref()).map_err(|e| format!("cannot wait for the command: {e}"))?;
        // SAFETY: si_status and si_code are valid for a CLD_* siginfo.
        let (code, status) = unsafe { (info.si_code, info.si_status()) };
        match code {
            libc::CLD_EXITED if status == 0 => Ok("exit status 0".to_string()),
            libc::CLD_EXITED if status == 127 => Err("cannot execute the command".to_string()),
            libc::CLD_EXITED if status == 126 => Err("cannot enter the namespace".to_string()),
            libc::CLD_EXITED if status > 128 => Err(format!("killed by signal {}", status - 128)),
            libc::CLD_EXITED => Err(format!("exit status {status}")),
            _ => Err(format!("killed by signal {status}")),
        }
    }
}

/// Reaps the ended child behind `pidfd`; blocks only until it has ended.
fn reap(pidfd: &OwnedFd) -> io::Result<libc::siginfo_t> {
    // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waitid writes only into `info`.
        let rc = unsafe {
            libc::waitid(
                P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::__WCLONE,
            )
        };
        if rc == 0 {
            return Ok(info);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(fd) = self.pidfd.take() {
            // SAFETY: signals the child's own process group (setpgid above).
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
                libc::kill(self.pid, libc::SIGKILL);
            }
            let _ = reap(fd.get_ref());
        }
    }
}
