//! One writer at a time. Every command that changes the kernel or the state
//! holds an exclusive `flock` on `<state_dir>/lock` for its whole run; the
//! holder's pid is written in the file so that the one who waits can say who
//! it is waiting for. The lock file is never removed: removing it would let
//! a third process lock a new file while the second still holds the old.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::StateError;
use super::file::{ensure_dir, libc_flags};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}", busy_text(*.pid, *.waited))]
    Busy { pid: Option<u32>, waited: Duration },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn busy_text(pid: Option<u32>, waited: Duration) -> String {
    let who = match pid {
        Some(pid) => format!("another netd (pid {pid}) is applying"),
        None => "another netd is applying".to_string(),
    };
    let waited = if waited < Duration::from_millis(500) {
        "did not wait".to_string()
    } else {
        format!("waited {:.0} s", waited.as_secs_f64())
    };
    format!(
        "{who}; {waited}. Run this again once it is done, or give it longer with --wait SECONDS"
    )
}

/// Held until dropped.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

const FILE: &str = "lock";

fn try_flock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on an fd we own; no memory is passed.
    let rc = unsafe { nix::libc::flock(file.as_raw_fd(), nix::libc::LOCK_EX | nix::libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(nix::libc::EWOULDBLOCK) => Ok(false),
        Some(nix::libc::EINTR) => Ok(false),
        _ => Err(err),
    }
}

fn read_holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// The holder writes its pid right after it takes the lock; one who looks
/// in between finds the file empty and looks again a moment later.
fn holder(file: &mut File) -> Option<u32> {
    for _ in 0..5 {
        if let Some(pid) = read_holder(file) {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

impl WriterLock {
    /// Takes the writer lock, waiting up to `wait` for another writer to
    /// finish. The state directory is created (0700) and checked first.
    pub fn acquire(state_dir: &Path, wait: Duration) -> Result<WriterLock, LockError> {
        ensure_dir(state_dir)?;
        let path = state_dir.join(FILE);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc_flags::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc_flags::ELOOP) {
                    LockError::State(StateError::Unsafe {
                        path: path.clone(),
                        problem: "it is a symlink; netd never follows one in its state directory"
                            .into(),
                    })
                } else {
                    io_err(e)
                }
            })?;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err(LockError::State(StateError::Unsafe {
                path: path.clone(),
                problem: "the lock file is not a regular file owned by netd's user".into(),
            }));
        }
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            if try_flock(&file).map_err(io_err)? {
                break;
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Err(LockError::Busy {
                    pid: holder(&mut file),
                    waited,
                });
            }
            std::thread::sleep(pause.min(wait - waited));
            pause = (pause * 2).min(Duration::from_millis(100));
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(io_err)?;
        tracing::debug!(lock = %path.display(), waited_ms = started.elapsed().as_millis() as u64, "writer lock taken");
        Ok(WriterLock { _file: file })
    }
}
