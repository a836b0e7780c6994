//! The control socket: a unix socket in the state directory, 0600 (0660
//! with `[daemon] socket_group`), answering one JSON request per
//! connection. Requests go to the daemon's loop, which answers them
//! between cycles, so they never race a repair.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::protocol::{self, Command, MAX_REQUEST, Request};

/// A request and where its answer goes.
pub type Asked = (Request, oneshot::Sender<Value>);

/// The daemon's last published status: a status request is answered from
/// it at once, even while a long converge runs. Anycast services publish
/// their own status as it changes, so that part is always current.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub status: Arc<std::sync::RwLock<Value>>,
    pub anycast: crate::anycast::Board,
}

/// How long a status request waits for the loop before it is answered
/// from the snapshot (the loop is in the middle of a long converge).
const BUSY: Duration = Duration::from_millis(300);

/// The last published status, marked as such.
fn busy_status(snapshot: &Snapshot) -> Value {
    let mut value = snapshot
        .status
        .read()
        .map(|s| s.clone())
        .unwrap_or_else(|_| protocol::error_reply("status unavailable"));
    if let Some(d) = value.get_mut("daemon").and_then(|d| d.as_object_mut()) {
        d.insert("busy".into(), Value::Bool(true));
        if let Ok(board) = snapshot.anycast.read() {
            d.insert("anycast".into(), serde_json::json!(*board));
        }
    }
    value
}

/// Clients served at once; more wait in the listen backlog.
const CLIENTS: usize = 16;
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Control {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl Drop for Control {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes what a daemon that died left at `path`. Only a socket is
/// removed: anything else there is not netd's.
fn remove_stale(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn group_id(name: &str) -> io::Result<nix::unistd::Gid> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(nix::unistd::Gid::from_raw(n));
    }
    nix::unistd::Group::from_name(name)
        .map_err(io::Error::from)?
        .map(|g| g.gid)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no group {name:?}")))
}

/// Binds the socket. The caller holds the writer lock, so a socket left
/// there belongs to a daemon that is gone.
pub fn bind(
    state_dir: &Path,
    group: Option<&str>,
    tx: mpsc::Sender<Asked>,
    snapshot: Snapshot,
) -> io::Result<Control> {
    let path = protocol::socket_path(state_dir);
    remove_stale(&path)?;
    // The state directory is 0700, so nobody reaches the socket before
    // its mode is set.
    let listener = UnixListener::bind(&path)?;
    let mode = match group {
        Some(name) => {
            let gid = group_id(name)?;
            nix::unistd::chown(&path, None, Some(gid)).map_err(io::Error::from)?;
            // The group must be able to reach the socket, not to read or
            // write the state.
            nix::unistd::chown(state_dir, None, Some(gid)).map_err(io::Error::from)?;
            std::fs::set_permissions(state_dir, std::fs::Permissions::from_mode(0o710))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    let task = tokio::spawn(serve(listener, tx, snapshot));
    Ok(Control { path, task })
}

async fn serve(listener: UnixListener, tx: mpsc::Sender<Asked>, snapshot: Snapshot) {
    let slots = Arc::new(Semaphore::new(CLIENTS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let tx = tx.clone();
        let snapshot = snapshot.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, tx, snapshot).await {
                tracing::debug!(error = %e, "control socket: client dropped");
            }
            drop(slot);
        });
    }
}

async fn read_request(stream: &mut UnixStream) -> io::Result<String> {
    let mut reader = BufReader::new(stream.take(MAX_REQUEST as u64));
    let mut line = String::new();
    tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no request within 5 s"))??;
    Ok(line)
}

async fn answer(
    mut stream: UnixStream,
    tx: mpsc::Sender<Asked>,
    snapshot: Snapshot,
) -> io::Result<()> {
    let line = read_request(&mut stream).await?;
    let reply = match Request::parse(line.trim_end()) {
        Err(reply) => reply,
        Ok(request) => {
            let status = request.command == Command::Status;
            let (back, answer) = oneshot::channel();
            match tx.try_send((request, back)) {
                Ok(()) if status => match tokio::time::timeout(BUSY, answer).await {
                    Ok(Ok(reply)) => reply,
                    _ => busy_status(&snapshot),
                },
                Ok(()) => answer
                    .await
                    .unwrap_or_else(|_| protocol::error_reply("the daemon is stopping")),
                Err(_) if status => busy_status(&snapshot),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    protocol::error_reply("the daemon is busy; try again")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    protocol::error_reply("the daemon is stopping")
                }
            }
        }
    };
    let mut out = serde_json::to_string(&reply).map_err(io::Error::other)?;
    out.push('\n');
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}
