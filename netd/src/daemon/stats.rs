//! What the daemon counts for `netd status` and the log: drift repairs and
//! resyncs, with their times.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Stats {
    pub repairs: u64,
    pub last_repair: Option<SystemTime>,
    /// Changes made by drift repairs, by kind of object.
    pub repaired: BTreeMap<String, u64>,
    pub resyncs: u64,
    pub last_resync: Option<SystemTime>,
    /// The last cycle's failure, cleared by a clean cycle.
    pub last_error: Option<String>,
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn time(t: Option<SystemTime>) -> Value {
    t.map_or(Value::Null, |t| json!(rfc3339(t)))
}

impl Stats {
    pub fn repaired(&mut self, kinds: impl IntoIterator<Item = String>) {
        self.repairs += 1;
        self.last_repair = Some(SystemTime::now());
        for kind in kinds {
            *self.repaired.entry(kind).or_default() += 1;
        }
    }

    pub fn resynced(&mut self) {
        self.resyncs += 1;
        self.last_resync = Some(SystemTime::now());
    }

    pub fn to_json(&self) -> Value {
        json!({
            "repairs": {
                "count": self.repairs,
                "last": time(self.last_repair),
                "changes_by_kind": self.repaired,
            },
            "resyncs": { "count": self.resyncs, "last": time(self.last_resync) },
            "last_error": self.last_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_are_counted_by_kind() {
        let mut s = Stats::default();
        assert_eq!(s.to_json()["repairs"]["last"], Value::Null);
        s.repaired([
            "address".to_string(),
            "route".to_string(),
            "address".to_string(),
        ]);
        let j = s.to_json();
        assert_eq!(j["repairs"]["count"], 1);
        assert_eq!(j["repairs"]["changes_by_kind"]["address"], 2);
        assert!(j["repairs"]["last"].as_str().unwrap().ends_with('Z'));
    }
}
