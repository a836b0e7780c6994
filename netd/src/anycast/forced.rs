//! States forced with `netd anycast announce|withdraw`, kept in
//! `<state_dir>/anycast.json` so that they survive a restart of netd until
//! `netd anycast release`. Read with the state's care: no symlink, a size
//! cap, and every name checked as the config checks it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::verdict::Forced;
use crate::model::check_process_name;
use crate::state::{State, StateError};

pub const FILE: &str = "anycast.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stored {
    Announce,
    Withdraw,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    forced: BTreeMap<String, Stored>,
}

/// The forced states on disk. A file that cannot be read or trusted gives
/// none, with a warning: checks then decide, which is what a user who never
/// forced anything expects.
pub fn load(state_dir: &Path) -> BTreeMap<String, Forced> {
    let body = match State::read_file(state_dir, FILE) {
        Ok(Some(body)) => body,
        Ok(None) => return BTreeMap::new(),
        Err(e) => {
            tracing::warn!("ignoring forced anycast states: {e}");
            return BTreeMap::new();
        }
    };
    let file: File = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("ignoring {FILE}: {e}");
            return BTreeMap::new();
        }
    };
    file.forced
        .into_iter()
        .filter(|(name, _)| {
            let ok = check_process_name(name).is_ok();
            if !ok {
                tracing::warn!("ignoring a forced state for an invalid service name in {FILE}");
            }
            ok
        })
        .map(|(name, s)| {
            let forced = match s {
                Stored::Announce => Forced::Announce,
                Stored::Withdraw => Forced::Withdraw,
            };
            (name, forced)
        })
        .collect()
}

pub fn save(state_dir: &Path, forced: &BTreeMap<String, Forced>) -> Result<(), StateError> {
    let file = File {
        forced: forced
            .iter()
            .map(|(name, f)| {
                let stored = match f {
                    Forced::Announce => Stored::Announce,
                    Forced::Withdraw => Stored::Withdraw,
                };
                (name.clone(), stored)
            })
            .collect(),
    };
    let body = serde_json::to_vec_pretty(&file).map_err(|e| StateError::Write {
        path: state_dir.join(FILE),
        source: std::io::Error::other(e),
    })?;
    State::write_file(state_dir, FILE, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_states_survive_a_round_trip_and_bad_names_are_dropped() {
        let dir = std::env::temp_dir().join(format!("netd-forced-{}", std::process::id()));
        crate::state::ensure_dir(&dir).unwrap();
        let mut forced = BTreeMap::new();
        forced.insert("dns".to_string(), Forced::Withdraw);
        forced.insert("web".to_string(), Forced::Announce);
        save(&dir, &forced).unwrap();
        assert_eq!(load(&dir), forced);
        std::fs::write(
            dir.join(FILE),
            br#"{"forced":{"../x":"withdraw","dns":"announce"}}"#,
        )
        .unwrap();
        let loaded = load(&dir);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded["dns"], Forced::Announce);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
