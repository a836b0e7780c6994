//! Starting one process inside a namespace. Everything is worked out in
//! netd before the fork (users, groups, PATH, capability masks, mounts,
//! the namespace's fd); the child then only makes syscalls, in this order:
//! signals reset and a session of its own, setns, mounts (`etc_netns`),
//! bounding set, ids, the kept capabilities (raised as ambient so they
//! survive exec for a non-root user), working directory, no_new_privs. std's `Command::uid`/`gid` are
//! not used: they run before `pre_exec` and would drop the capabilities
//! that setns and mount need.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::libc;

use super::caps;
use super::etc_netns::{MountPlan, MountStep};
use super::ids::{Ids, resolve_ids};
use crate::model::ProcessConfig;
use crate::netns;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("namespace {ns} is not pinned at {path}: {source}")]
    Pin {
        ns: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot read /etc/netns/{ns}: {source}")]
    EtcNetns { ns: String, source: io::Error },
    #[error("{0}")]
    Resolve(String),
    #[error("cannot start {command}: {step}: {source}")]
    Child {
        command: String,
        step: &'static str,
        source: io::Error,
    },
}

/// The pin of `ns`, opened without following a symlink, and only if it is
/// a namespace.
pub fn open_pin(netns_dir: &Path, ns: &str) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(netns::pin_path(netns_dir, ns))?;
    match nix::sys::statfs::fstatfs(&file) {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC => Ok(file),
        _ => Err(io::Error::other("not a namespace")),
    }
}

/// The steps of the child, numbered for the status pipe.
const STEPS: [&str; 9] = [
    "reset signals and start a session (setsid)",
    "enter the network namespace (setns)",
    "a mount namespace of its own (unshare)",
    "mount propagation from the host only (make-rslave /)",
    "a /sys of the namespace (mount sysfs)",
    "drop capabilities from the bounding set",
    "switch user and group",
    "set capabilities",
    "change to working_dir",
];
const STEP_NO_NEW_PRIVS: &str = "set no_new_privs";

/// A started child; its stdout and stderr are for `output::forward`.
pub fn spawn(netns_dir: &Path, ns: &str, cfg: &ProcessConfig) -> Result<Child, SpawnError> {
    let pin = open_pin(netns_dir, ns).map_err(|source| SpawnError::Pin {
        ns: ns.to_owned(),
        path: netns::pin_path(netns_dir, ns),
        source,
    })?;
    let mounts = MountPlan::new(ns).map_err(|source| SpawnError::EtcNetns {
        ns: ns.to_owned(),
        source,
    })?;
    let ids = resolve_ids(cfg)?;
    let path = cfg.env.get("PATH").map_or(DEFAULT_PATH, String::as_str);
    let program = find_program(&cfg.command, path)?;
    let kept = cfg.capabilities.as_deref().map(caps::mask);
    let last_cap = caps::last_cap();
    let cwd = cfg
        .working_dir
        .as_ref()
        .map(|d| CString::new(d.as_os_str().as_encoded_bytes()).unwrap_or_default());
    let (status_read, status_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
            .map_err(|e| SpawnError::Resolve(format!("cannot make a pipe: {e}")))?;

    let mut command = Command::new(&program);
    command
        .arg0(&cfg.command)
        .args(&cfg.args)
        .env_clear()
        .env("PATH", DEFAULT_PATH)
        .envs(&cfg.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let steps = ChildSteps {
        pin,
        mounts,
        ids,
        kept,
        last_cap,
        cwd,
        no_new_privs: cfg.no_new_privs,
        status: status_write,
    };
    // SAFETY: `run` only makes syscalls on data it owns; it allocates
    // nothing, so it is safe in the child of a threaded process.
    unsafe {
        command.pre_exec(move || steps.run());
    }
    let spawned = command.spawn();
    // Closes netd's copies of the pin and of the status pipe's write end.
    drop(command);
    spawned.map_err(|source| SpawnError::Child {
        command: cfg.command.clone(),
        step: failed_step(status_read),
        source,
    })
}

/// Which step of the child failed, from the byte it wrote before exiting.
fn failed_step(status: OwnedFd) -> &'static str {
    let mut byte = [0u8; 1];
    match File::from(status).read(&mut byte) {
        Ok(1) => STEPS
            .get(usize::from(byte[0]))
            .copied()
            .unwrap_or(STEP_NO_NEW_PRIVS),
        _ => "exec",
    }
}

/// What the child does between fork and exec, prepared by netd.
struct ChildSteps {
    pin: File,
    mounts: MountPlan,
    ids: Option<Ids>,
    kept: Option<u64>,
    last_cap: u8,
    cwd: Option<CString>,
    no_new_privs: bool,
    /// The write end of a pipe that gets the number of a failed step.
    status: OwnedFd,
}

impl ChildSteps {
    fn run(&self) -> io::Result<()> {
        // SAFETY: syscalls only, on memory owned by the parent's frame.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
                return self.fail(0);
            }
            // A session and process group of its own: Ctrl-C on the
            // terminal of a foreground netd does not reach it, and netd's
            // stop signal reaches its children too.
            if libc::setsid() < 0 {
                return self.fail(0);
            }
            // Ignored signals stay ignored across exec; handled ones are
            // reset by exec itself.
            for sig in 1..=libc::SIGRTMAX() {
                libc::signal(sig, libc::SIG_DFL);
            }
            if libc::setns(self.pin.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return self.fail(1);
            }
        }
        if let Err((step, e)) = self.mounts.enter() {
            let n = match step {
                MountStep::Unshare => 2,
                MountStep::MakeSlave => 3,
                MountStep::Sysfs => 4,
            };
            return self.fail_with(n, e);
        }
        // SAFETY: as above.
        unsafe {
            if let Some(kept) = self.kept {
                // Needs CAP_SETPCAP in the effective set: before the ids
                // change, which clears it for a non-root user.
                for cap in 0..=self.last_cap {
                    if kept & (1u64 << cap) == 0
                        && libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0)
                            != 0
                    {
                        return self.fail(5);
                    }
                }
            }
            if let Some(ids) = &self.ids {
                if self.kept.is_some() && libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 {
                    return self.fail(6);
                }
                if libc::setgroups(ids.groups.len(), ids.groups.as_ptr()) != 0
                    || libc::setresgid(ids.gid, ids.gid, ids.gid) != 0
                {
                    return self.fail(6);
                }
                if let Some(uid) = ids.uid
                    && libc::setresuid(uid, uid, uid) != 0
                {
                    return self.fail(6);
                }
            }
            if let Some(kept) = self.kept {
                if caps::set_all(kept).is_err() {
                    return self.fail(7);
                }
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                );
                for cap in 0..=self.last_cap {
                    if kept & (1u64 << cap) != 0
                        && libc::prctl(
                            libc::PR_CAP_AMBIENT,
                            libc::PR_CAP_AMBIENT_RAISE,
                            libc::c_ulong::from(cap),
                            0,
                            0,
                        ) != 0
                    {
                        return self.fail(7);
                    }
                }
            }
            if let Some(dir) = &self.cwd
                && libc::chdir(dir.as_ptr()) != 0
            {
                return self.fail(8);
            }
            if self.no_new_privs && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return self.fail(9);
            }
        }
        Ok(())
    }

    fn fail(&self, step: u8) -> io::Result<()> {
        let e = io::Error::last_os_error();
        self.fail_with(step, e)
    }

    fn fail_with(&self, step: u8, e: io::Error) -> io::Result<()> {
        // SAFETY: a one-byte write to a pipe this child holds.
        unsafe {
            libc::write(self.status.as_raw_fd(), [step].as_ptr().cast(), 1);
        }
        Err(e)
    }
}

/// An absolute command as it is; a bare name in the first PATH directory
/// that has it as an executable file.
pub fn find_program(command: &str, path: &str) -> Result<PathBuf, SpawnError> {
    if command.contains('/') {
        return Ok(PathBuf::from(command));
    }
    path.split(':')
        .filter(|d| d.starts_with('/'))
        .map(|d| Path::new(d).join(command))
        .find(|p| is_executable(p))
        .ok_or_else(|| SpawnError::Resolve(format!("command {command:?} is not in PATH ({path})")))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_commands_are_found_in_path_and_paths_kept() {
        assert_eq!(
            find_program("sh", "relative:/nonexistent:/bin:/usr/bin").unwrap(),
            PathBuf::from("/bin/sh")
        );
        assert_eq!(
            find_program("/opt/x/app", "").unwrap(),
            PathBuf::from("/opt/x/app")
        );
        let e = find_program("no-such-netd-tool", DEFAULT_PATH).unwrap_err();
        assert!(e.to_string().contains("is not in PATH"), "{e}");
    }

    #[test]
    fn every_step_of_the_child_has_a_name() {
        // Steps 0..=8 are in STEPS; 9 is no_new_privs; anything else is exec.
        let name = |b: u8| {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
            nix::unistd::write(&w, &[b]).unwrap();
            drop(w);
            failed_step(r)
        };
        assert_eq!(name(1), "enter the network namespace (setns)");
        assert_eq!(name(9), STEP_NO_NEW_PRIVS);
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
        drop(w);
        assert_eq!(failed_step(r), "exec");
    }
}
