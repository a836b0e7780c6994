//! What netd created or adopted, kept under `<state_dir>` so that `destroy`
//! and `--prune` know which namespaces are netd's. Links, addresses and
//! routes carry their own marks (ifalias, protocol) and need no record.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read netd state {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("netd state {path} is corrupt ({source}); move it away to start afresh")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write netd state {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// netd created it; `destroy` removes the namespace itself.
    Created,
    /// It existed before netd; `destroy` removes netd's links in it but
    /// leaves the namespace.
    Adopted,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub namespaces: BTreeMap<String, Origin>,
}

const FILE: &str = "state.json";

impl State {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// A missing file is an empty state (first run, or after a reboot
    /// cleared /run).
    pub fn load(state_dir: &Path) -> Result<Self, StateError> {
        let path = Self::path(state_dir);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| StateError::Corrupt { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves a
    /// torn state file.
    pub fn save(&self, state_dir: &Path) -> Result<(), StateError> {
        let path = Self::path(state_dir);
        let err = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(state_dir).map_err(err)?;
        let tmp = state_dir.join(format!(".{FILE}.tmp"));
        let body = serde_json::to_vec_pretty(self).map_err(|e| err(io::Error::other(e)))?;
        fs::write(&tmp, body).map_err(err)?;
        fs::rename(&tmp, &path).map_err(err)
    }

    /// Removes the state file and the directory if it is then empty.
    pub fn remove(state_dir: &Path) -> Result<(), StateError> {
        let path = Self::path(state_dir);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(StateError::Write { path, source }),
        }
        let _ = fs::remove_dir(state_dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_missing_is_empty() {
        let dir = std::env::temp_dir().join(format!("netd-state-{}", std::process::id()));
        assert_eq!(State::load(&dir).unwrap(), State::default());
        let mut s = State::default();
        s.namespaces.insert("web".into(), Origin::Created);
        s.namespaces.insert("old".into(), Origin::Adopted);
        s.save(&dir).unwrap();
        assert_eq!(State::load(&dir).unwrap(), s);
        State::remove(&dir).unwrap();
        assert!(!dir.exists());
    }
}
