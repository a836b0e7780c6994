//! `netd exec NAME -- CMD…`: enter the namespace and replace this process.
//! Runs before any thread exists, so setns affects the whole process.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use nix::sched::{CloneFlags, setns};

use super::{Cli, CliError, dirs};
use crate::model::{check_namespace_name, shown};
use crate::netns;

/// The pin of NAME, opened without following a symlink, and only if it is
/// a namespace: NAME is a namespace name as the config allows it (so no
/// `../x` reaches outside the netns dir), pinned right there.
fn open_pin(cli: &Cli, name: &str) -> Result<File, CliError> {
    check_namespace_name(name).map_err(CliError::Usage)?;
    let (netns_dir, _) = dirs(cli);
    let path = netns::pin_path(&netns_dir, name);
    let missing = || {
        CliError::Runtime(format!(
            "namespace {} does not exist ({} is not a pinned namespace); `netd status` lists them",
            shown(name),
            path.display()
        ))
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(&path)
        .map_err(|_| missing())?;
    match nix::sys::statfs::fstatfs(&file) {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC => Ok(file),
        _ => Err(missing()),
    }
}

pub fn exec(cli: &Cli, name: &str, command: &[String]) -> CliError {
    let file = match open_pin(cli, name) {
        Ok(f) => f,
        Err(e) => return e,
    };
    if let Err(e) = setns(file.as_fd(), CloneFlags::CLONE_NEWNET) {
        return CliError::runtime(format!("cannot enter namespace {name}: {e}"));
    }
    let args: Result<Vec<CString>, _> =
        command.iter().map(|a| CString::new(a.as_bytes())).collect();
    let Ok(args) = args else {
        return CliError::Usage("command contains a NUL byte".into());
    };
    match nix::unistd::execvp(&args[0], &args) {
        Err(e) => CliError::runtime(format!("cannot run {}: {e}", shown(&command[0]))),
        Ok(never) => match never {},
    }
}
