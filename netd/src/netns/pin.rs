//! Pin files: a namespace lives as long as a bind mount of its nsfs inode
//! exists at `<netns_dir>/NAME`, with no process inside.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::statfs::{NSFS_MAGIC, statfs};

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("cannot prepare namespace directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot pin namespace at {path}: {source}")]
    Pin {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot remove namespace pin {path}: {source}")]
    Unpin {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub fn pin_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Makes `dir` a shared mount point, bound onto itself if needed, as
/// `ip netns add` does: pins made later then propagate to every mount
/// namespace that was cloned from ours (systemd units, containers).
pub fn ensure_shared_dir(dir: &Path) -> Result<(), PinError> {
    let err = |source| PinError::Dir {
        dir: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    let make_shared = || {
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match make_shared() {
        Ok(()) => Ok(()),
        // EINVAL: not a mount point yet.
        Err(nix::errno::Errno::EINVAL) => {
            mount(
                Some(dir),
                dir,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| err(e.into()))?;
            make_shared().map_err(|e| err(e.into()))
        }
        Err(e) => Err(err(e.into())),
    }
}

/// True when `path` is an nsfs bind mount, i.e. a live pinned namespace. A
/// plain file left by a crash between creating the file and mounting on it is
/// not.
pub fn is_pinned(path: &Path) -> bool {
    statfs(path).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC)
}

/// Creates the empty file a namespace is bind-mounted onto.
pub(crate) fn create_pin_file(path: &Path) -> Result<(), PinError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o444)
        .open(path)
        .map(drop)
        .map_err(|source| PinError::Pin {
            path: path.to_path_buf(),
            source,
        })
}

/// Bind-mounts the calling thread's network namespace onto `path`.
pub(crate) fn pin_current_thread(path: &Path) -> Result<(), PinError> {
    mount(
        Some("/proc/thread-self/ns/net"),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| PinError::Pin {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// Detaches the pin and removes the file. The namespace itself disappears
/// once no process and no open fd refer to it any more.
pub fn unpin(path: &Path) -> Result<(), PinError> {
    let err = |source| PinError::Unpin {
        path: path.to_path_buf(),
        source,
    };
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(err(e.into())),
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Names of live pinned namespaces in `dir` (not only netd's).
pub fn list_pinned(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| is_pinned(&e.path()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}
