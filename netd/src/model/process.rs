//! Processes netd runs inside namespaces, and the daemon's own settings.
//! Plain data: neither is a kernel object, so plan and apply ignore them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::supervise::{Capability, RestartPolicy};

/// One `[[namespace.NAME.process]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessConfig {
    /// Unique within its namespace.
    pub name: String,
    /// An absolute path, or a name looked up in PATH when it starts.
    pub command: String,
    pub args: Vec<String>,
    /// Added to a clean environment (PATH has a default), never netd's own:
    /// NOTIFY_SOCKET and the like belong to netd.
    pub env: BTreeMap<String, String>,
    pub working_dir: Option<PathBuf>,
    /// A name or a numeric id, resolved when the process starts.
    pub user: Option<String>,
    pub group: Option<String>,
    /// The capabilities kept in every set, including the bounding set;
    /// `None` leaves them as a process of `user` gets them by default.
    pub capabilities: Option<Vec<Capability>>,
    pub no_new_privs: bool,
    pub restart: RestartPolicy,
    #[serde(serialize_with = "seconds")]
    pub restart_delay: Duration,
    #[serde(serialize_with = "seconds")]
    pub restart_delay_max: Duration,
    pub stop_signal: i32,
    #[serde(serialize_with = "seconds")]
    pub stop_timeout: Duration,
}

/// `[daemon]` settings that only `netd run` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonSettings {
    /// A full observe and converge at least this often.
    #[serde(serialize_with = "seconds")]
    pub resync_interval: Duration,
    /// Where the Prometheus endpoint listens, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The group that may use the control socket, besides root.
    pub socket_group: Option<String>,
}

pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(60);

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            resync_interval: DEFAULT_RESYNC_INTERVAL,
            metrics: None,
            socket_group: None,
        }
    }
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
