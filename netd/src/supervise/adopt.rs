//! Taking over processes an earlier netd started. netd records the pid,
//! start time and launch of every running process in the state directory;
//! after netd crashed or was killed, its processes run on (a BIRD sidecar
//! keeps its BGP sessions), and the next netd adopts them instead of
//! starting a second copy.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::runner::Key;
use crate::state::{State, StateError};

const FILE: &str = "processes.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub namespace: String,
    pub name: String,
    pub pid: i32,
    /// Field 22 of /proc/PID/stat: with the pid, it names one process for
    /// good (a reused pid has another start time).
    pub start_time: u64,
    pub launch: String,
}

/// The start time of a live, not yet reaped-or-zombie process.
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields count from
    // the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); field 22 is fields[19].
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// The records of the processes running now.
pub fn records(running: &[(Key, i32, String)]) -> Vec<Record> {
    running
        .iter()
        .filter_map(|((ns, name), pid, launch)| {
            Some(Record {
                namespace: ns.clone(),
                name: name.clone(),
                pid: *pid,
                start_time: start_time(*pid)?,
                launch: launch.clone(),
            })
        })
        .collect()
}

pub fn save(state_dir: &Path, records: &[Record]) -> Result<(), StateError> {
    let body = serde_json::to_vec_pretty(records).unwrap_or_default();
    State::write_file(state_dir, FILE, &body)
}

/// The recorded processes that still run, by key. Records whose names
/// would not pass the config's checks are ignored: the file is netd's, but
/// what it names gets signals.
pub fn load_running(state_dir: &Path) -> BTreeMap<Key, (i32, u64, String)> {
    let records: Vec<Record> = match State::read_file(state_dir, FILE) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "ignoring an unreadable {FILE}");
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring {FILE}");
            Vec::new()
        }
    };
    records
        .into_iter()
        .filter(|r| {
            crate::model::check_namespace_name(&r.namespace).is_ok()
                && crate::model::check_process_name(&r.name).is_ok()
        })
        .filter(|r| start_time(r.pid) == Some(r.start_time))
        .map(|r| ((r.namespace, r.name), (r.pid, r.start_time, r.launch)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_start_time_and_pid_zero_none() {
        let me = std::process::id() as i32;
        let t = start_time(me).expect("own start time");
        assert_eq!(start_time(me), Some(t));
        assert_eq!(start_time(0), None);
        assert_eq!(start_time(-5), None);
    }

    #[test]
    fn records_of_gone_processes_are_dropped() {
        let me = std::process::id() as i32;
        let running = vec![(("web".to_string(), "app".to_string()), me, "L".to_string())];
        let r = records(&running);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].start_time, start_time(me).unwrap());
        let dir = tempdir();
        save(&dir, &r).unwrap();
        let loaded = load_running(&dir);
        assert_eq!(loaded.len(), 1);
        // A start time that does not match: another process with that pid.
        let mut wrong = r.clone();
        wrong[0].start_time += 1;
        save(&dir, &wrong).unwrap();
        assert!(load_running(&dir).is_empty());
        // A name that is not a valid namespace name is never trusted.
        let mut bad = r;
        bad[0].namespace = "../etc".into();
        save(&dir, &bad).unwrap();
        assert!(load_running(&dir).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempdir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("netd-adopt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }
}
