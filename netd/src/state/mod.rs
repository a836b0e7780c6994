//! What netd created or adopted, kept under `<state_dir>` so that `destroy`
//! and `--prune` know which namespaces are netd's. Links, addresses and
//! routes carry their own marks (ifalias, protocol); the state adds what no
//! kernel mark can say: which pins are netd's (by their nsfs identity), what
//! netd was about to create when it was interrupted, the values of sysctls
//! it changed in namespaces it adopted, and whether `table inet netd` is its.
//!
//! Nothing read from the file is trusted: names are checked exactly as the
//! config's are, and a pin is only ever removed when its identity matches.

mod file;
mod lock;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use file::{check_dir, ensure_dir};
pub use lock::{LockError, WriterLock};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read netd state {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("netd state {path} is corrupt ({problem}); move it away to start afresh")]
    Corrupt { path: PathBuf, problem: String },
    #[error("cannot write netd state {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("refusing to use state directory {path}: {problem}")]
    Unsafe { path: PathBuf, problem: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// netd created it; `destroy` removes the namespace itself.
    Created,
    /// It existed before netd and the config said `adopt = true`; `destroy`
    /// removes netd's objects in it and leaves the namespace.
    Adopted,
}

/// The identity of a pinned namespace: the nsfs device and inode that
/// `stat` shows at the pin path. A namespace re-created under the same name
/// by someone else has another inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PinId {
    pub dev: u64,
    pub ino: u64,
}

impl std::fmt::Display for PinId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "nsfs inode {} on device {}", self.ino, self.dev)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RecordRepr")]
pub struct NsRecord {
    pub origin: Origin,
    /// None while only the intent is recorded: netd was about to create the
    /// pin. Filled in once the pin exists.
    pub pin: Option<PinId>,
    /// Sysctls netd changed in an adopted namespace, with the value each had
    /// before (None: the key did not exist); restored when netd lets go.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, Option<String>>,
}

impl NsRecord {
    pub fn new(origin: Origin, pin: Option<PinId>) -> Self {
        NsRecord {
            origin,
            pin,
            sysctls: BTreeMap::new(),
        }
    }
}

/// netd 0.1 wrote `"web": "created"`; such records are read as intents, so
/// their pins are claimed again on the next run.
#[derive(Deserialize)]
#[serde(untagged)]
enum RecordRepr {
    Legacy(Origin),
    Full {
        origin: Origin,
        pin: Option<PinId>,
        #[serde(default)]
        sysctls: BTreeMap<String, Option<String>>,
    },
}

impl From<RecordRepr> for NsRecord {
    fn from(r: RecordRepr) -> Self {
        match r {
            RecordRepr::Legacy(origin) => NsRecord::new(origin, None),
            RecordRepr::Full {
                origin,
                pin,
                sysctls,
            } => NsRecord {
                origin,
                pin,
                sysctls,
            },
        }
    }
}

/// A link netd is about to create. The kernel ignores the ifalias when it
/// creates a link, so the mark is set by the next request; a crash in
/// between leaves an unmarked link, which netd reclaims only when its intent
/// is recorded here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkIntent {
    /// None: the host namespace.
    pub ns: Option<String>,
    pub name: String,
}

pub const STATE_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default = "legacy_version")]
    pub version: u32,
    #[serde(default)]
    pub namespaces: BTreeMap<String, NsRecord>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub link_intents: BTreeSet<LinkIntent>,
    /// netd created `table inet netd` (or was about to). A table of that
    /// name without this record and without netd's marker rule is someone
    /// else's.
    #[serde(default)]
    pub nft_table: bool,
}

fn legacy_version() -> u32 {
    1
}

impl Default for State {
    fn default() -> Self {
        State {
            version: STATE_VERSION,
            namespaces: BTreeMap::new(),
            link_intents: BTreeSet::new(),
            nft_table: false,
        }
    }
}

const FILE: &str = "state.json";

impl State {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// A missing file (or directory) is an empty state: first run, or after
    /// a reboot cleared /run. Never blocks on a writer: files are replaced
    /// by rename, so a reader sees the old state or the new one.
    pub fn load(state_dir: &Path) -> Result<Self, StateError> {
        let path = Self::path(state_dir);
        let Some(bytes) = file::read(state_dir, &path)? else {
            return Ok(State::default());
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        state
            .validate()
            .map_err(|problem| StateError::Corrupt { path, problem })?;
        Ok(state)
    }

    /// Every name is checked as the config checks it: the state file steers
    /// deletions, so a tampered one must not reach outside netd's objects.
    fn validate(&self) -> Result<(), String> {
        if self.version > STATE_VERSION {
            return Err(format!(
                "it was written by a newer netd (state version {}); this netd knows {STATE_VERSION}",
                self.version
            ));
        }
        for (name, record) in &self.namespaces {
            crate::model::check_namespace_name(name)?;
            for key in record.sysctls.keys() {
                crate::model::check_sysctl_key(key)?;
            }
        }
        for intent in &self.link_intents {
            if let Some(ns) = &intent.ns {
                crate::model::check_namespace_name(ns)?;
            }
            crate::model::check_link_name(&intent.name)?;
        }
        Ok(())
    }

    /// Written to a fresh temporary file and renamed, so a crash never
    /// leaves a torn state file and a reader never sees half of one.
    pub fn save(&self, state_dir: &Path) -> Result<(), StateError> {
        let mut out = self.clone();
        out.version = STATE_VERSION;
        let body = serde_json::to_vec_pretty(&out).map_err(|e| StateError::Write {
            path: Self::path(state_dir),
            source: io::Error::other(e),
        })?;
        file::write_atomic(state_dir, FILE, &body)
    }

    /// Another file of netd's in the state directory, read with the same
    /// care as the state (no symlink, regular file, size cap).
    pub fn read_file(state_dir: &Path, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        file::read(state_dir, &state_dir.join(name))
    }

    /// Another file of netd's in the state directory, written as the state
    /// is (exclusive temporary file, 0600, rename).
    pub fn write_file(state_dir: &Path, name: &str, body: &[u8]) -> Result<(), StateError> {
        file::write_atomic(state_dir, name, body)
    }

    /// Removes the state file; the directory stays, since it holds the lock.
    pub fn remove(state_dir: &Path) -> Result<(), StateError> {
        let path = Self::path(state_dir);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Write { path, source }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.link_intents.is_empty() && !self.nft_table
    }

    pub fn has_link_intent(&self, ns: Option<&str>, name: &str) -> bool {
        self.link_intents.contains(&LinkIntent {
            ns: ns.map(str::to_string),
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
