//! `netd exec NAME -- CMD…`: enter the namespace and replace this process.
//! Runs before any thread exists, so setns affects the whole process.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;

use nix::sched::{CloneFlags, setns};

use super::{Cli, CliError, dirs};
use crate::netns;

pub fn exec(cli: &Cli, name: &str, command: &[String]) -> CliError {
    let (netns_dir, _) = dirs(cli);
    let path = netns::pin_path(&netns_dir, name);
    if !netns::is_pinned(&path) {
        return CliError::Runtime(format!(
            "namespace {name} does not exist ({} is not a pinned namespace); `netd status` lists them",
            path.display()
        ));
    }
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => return CliError::runtime(format!("cannot open {}: {e}", path.display())),
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
        Err(e) => CliError::runtime(format!("cannot run {}: {e}", command[0])),
        Ok(never) => match never {},
    }
}
