//! `netd exec NAME -- CMD…`: enter the namespace and replace this process.
//! Runs before any thread exists, so setns affects the whole process. Like
//! `ip netns exec` and netd's supervised processes, the command sees
//! `/etc/netns/NAME/*` in place of the same files in /etc, and a /sys of
//! the namespace.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;

use nix::sched::{CloneFlags, setns};

use super::{Cli, CliError, dirs};
use crate::model::{check_namespace_name, shown};
use crate::netns;
use crate::supervise::{self, MountPlan};

/// The pin of NAME: NAME is a namespace name as the config allows it (so
/// no `../x` reaches outside the netns dir), pinned right there.
fn open_pin(cli: &Cli, name: &str) -> Result<File, CliError> {
    check_namespace_name(name).map_err(CliError::Usage)?;
    let (netns_dir, _) = dirs(cli);
    supervise::open_pin(&netns_dir, name).map_err(|_| {
        CliError::Runtime(format!(
            "namespace {} does not exist ({} is not a pinned namespace); `netd status` lists them",
            shown(name),
            netns::pin_path(&netns_dir, name).display()
        ))
    })
}

pub fn exec(cli: &Cli, name: &str, command: &[String]) -> CliError {
    let file = match open_pin(cli, name) {
        Ok(f) => f,
        Err(e) => return e,
    };
    if let Err(e) = setns(file.as_fd(), CloneFlags::CLONE_NEWNET) {
        return CliError::runtime(format!("cannot enter namespace {name}: {e}"));
    }
    let mounts = match MountPlan::new(name) {
        Ok(m) => m,
        Err(e) => return CliError::runtime(format!("cannot read /etc/netns/{name}: {e}")),
    };
    if let Err((step, e)) = mounts.enter() {
        return CliError::runtime(format!(
            "cannot give the command namespace {name}'s view of /etc and /sys: {step}: {e}"
        ));
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
