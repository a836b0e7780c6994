//! Pin files: a namespace lives as long as a bind mount of its nsfs inode
//! exists at `<netns_dir>/NAME`, with no process inside.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::Mode;
use nix::sys::statfs::{NSFS_MAGIC, fstatfs, statfs};

use crate::state::PinId;

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
    #[error("{path} is {found}, not the namespace netd pinned there; netd leaves it alone")]
    Foreign { path: PathBuf, found: String },
}

/// What is at a pin path, looked at without following a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PinKind {
    Missing,
    /// A live pinned namespace (an nsfs bind mount).
    Namespace {
        id: PinId,
    },
    /// An empty regular file: what a crash between creating the file and
    /// mounting on it leaves, or a file someone else made.
    EmptyFile,
    Symlink,
    Directory,
    NonEmptyFile,
    Special,
}

impl std::fmt::Display for PinKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinKind::Missing => write!(f, "nothing"),
            PinKind::Namespace { id } => write!(f, "a pinned namespace ({id})"),
            PinKind::EmptyFile => write!(f, "an empty file"),
            PinKind::Symlink => write!(f, "a symlink"),
            PinKind::Directory => write!(f, "a directory"),
            PinKind::NonEmptyFile => write!(f, "a non-empty file"),
            PinKind::Special => write!(f, "a special file"),
        }
    }
}

/// Looks at `path` through an O_PATH|O_NOFOLLOW descriptor, so that the
/// type, the filesystem and the identity all describe one object, and a
/// symlink is seen as a symlink rather than followed.
pub fn examine(path: &Path) -> io::Result<PinKind> {
    let fd = match open(
        path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) => return Ok(PinKind::Missing),
        Err(e) => return Err(e.into()),
    };
    let file = File::from(fd);
    let meta = file.metadata()?;
    let ft = meta.file_type();
    Ok(if ft.is_symlink() {
        PinKind::Symlink
    } else if ft.is_dir() {
        PinKind::Directory
    } else if !ft.is_file() {
        PinKind::Special
    } else if fstatfs(file.as_fd()).is_ok_and(|s| s.filesystem_type() == NSFS_MAGIC) {
        PinKind::Namespace {
            id: PinId {
                dev: meta.dev(),
                ino: meta.ino(),
            },
        }
    } else if meta.len() == 0 {
        PinKind::EmptyFile
    } else {
        PinKind::NonEmptyFile
    })
}

/// The identity of an open namespace file.
pub fn identity(file: &File) -> io::Result<PinId> {
    let meta = file.metadata()?;
    Ok(PinId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
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

/// Creates the empty file a namespace is bind-mounted onto, exclusively.
/// An empty file already there is reused only when `reuse_empty` says netd
/// recorded the intent to create it; anything else is someone else's.
pub(crate) fn create_pin_file(path: &Path, reuse_empty: bool) -> Result<(), PinError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let found = examine(path).map_err(|source| PinError::Pin {
                path: path.to_path_buf(),
                source,
            })?;
            if found == PinKind::EmptyFile && reuse_empty {
                return Ok(());
            }
            Err(PinError::Foreign {
                path: path.to_path_buf(),
                found: found.to_string(),
            })
        }
        Err(source) => Err(PinError::Pin {
            path: path.to_path_buf(),
            source,
        }),
    }
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

/// Detaches the pin and removes the file, but only if what is there is the
/// namespace netd recorded (`expected`), or, with `expected` None, an empty
/// leftover file from netd's own interrupted creation. The namespace itself
/// disappears once no process and no open fd refer to it any more.
pub fn unpin(path: &Path, expected: Option<PinId>) -> Result<(), PinError> {
    let err = |source| PinError::Unpin {
        path: path.to_path_buf(),
        source,
    };
    let found = examine(path).map_err(err)?;
    match (found, expected) {
        (PinKind::Missing, _) => return Ok(()),
        (PinKind::Namespace { id }, Some(want)) if id == want => {}
        (PinKind::EmptyFile, None) => {
            return match fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(err(e)),
            };
        }
        (found, _) => {
            return Err(PinError::Foreign {
                path: path.to_path_buf(),
                found: found.to_string(),
            });
        }
    }
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
