//! The state directory and its files, handled as a root daemon must: the
//! directory is 0700 and the files 0600 whatever the umask, nothing is
//! opened through a symlink, temporary files are created exclusively under
//! unique names, and a directory another user could write to is refused.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::StateError;

/// A state file larger than this is not netd's (1000 namespaces take ~150 KiB).
const MAX_STATE_BYTES: u64 = 64 << 20;

fn unsafe_dir(path: &Path, problem: impl Into<String>) -> StateError {
    StateError::Unsafe {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Refuses a state directory that is a symlink, not a directory, owned by
/// another user, or writable by group or others: whoever can write there
/// could steer what netd deletes.
pub fn check_dir(dir: &Path) -> Result<(), StateError> {
    let meta = fs::symlink_metadata(dir).map_err(|source| StateError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(dir, "it is a symlink; give the real directory"));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir(dir, "it is not a directory"));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(unsafe_dir(
            dir,
            format!(
                "it is owned by uid {}, not by uid {me} that netd runs as; chown it or remove it",
                meta.uid()
            ),
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_dir(
            dir,
            format!(
                "its mode {:04o} lets group or others write in it; `chmod 0700 {}`",
                meta.mode() & 0o7777,
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Creates the state directory 0700 (its parents 0755) if missing, then
/// checks it.
pub fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    let write_err = |source| StateError::Write {
        path: dir.to_path_buf(),
        source,
    };
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)
                    .map_err(write_err)?;
            }
            match DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {
                    // The umask may have taken bits from 0700 too.
                    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                        .map_err(write_err)?;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(write_err(e)),
            }
        }
        Err(source) => {
            return Err(StateError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    check_dir(dir)
}

/// Opens a file in the state directory for reading without following a
/// symlink; None when it (or the directory) does not exist.
pub(super) fn read(dir: &Path, path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    let err = |source| StateError::Read {
        path: path.to_path_buf(),
        source,
    };
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        _ => check_dir(dir)?,
    }
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc_flags::ELOOP) => {
            return Err(StateError::Unsafe {
                path: path.to_path_buf(),
                problem: "it is a symlink; netd never follows one in its state directory".into(),
            });
        }
        Err(e) => return Err(err(e)),
    };
    let meta = file.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(StateError::Unsafe {
            path: path.to_path_buf(),
            problem: "it is not a regular file".into(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(StateError::Corrupt {
            path: path.to_path_buf(),
            problem: format!("larger than {} MiB", MAX_STATE_BYTES >> 20),
        });
    }
    Ok(Some(bytes))
}

/// A temporary name no one can have planted in advance: pid, time and a
/// counter, and created with O_EXCL anyway.
fn temp_name(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        ".{name}.{}.{nanos:x}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `name` in `dir` atomically: exclusive temporary file (0600,
/// O_NOFOLLOW), fsync, rename over the old one.
pub(super) fn write_atomic(dir: &Path, name: &str, body: &[u8]) -> Result<(), StateError> {
    ensure_dir(dir)?;
    let path = dir.join(name);
    let tmp: PathBuf = dir.join(temp_name(name));
    let err = |source| StateError::Write {
        path: path.clone(),
        source,
    };
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc_flags::O_NOFOLLOW)
        .open(&tmp)
        .map_err(err)?;
    let written = file
        .set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(body))
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// The two flags std does not name, from nix's libc.
pub(super) mod libc_flags {
    pub const O_NOFOLLOW: i32 = nix::libc::O_NOFOLLOW;
    pub const ELOOP: i32 = nix::libc::ELOOP;
}
