//! The ruleset as it will be once netd applies its table: the host's own
//! tables, and netd's as rendered. Strict mode explains publishes against
//! this before anything changes, so that a first apply (no netd table yet)
//! or a new publish (not in the kernel's table yet) is judged by what netd
//! is about to load.

use serde_json::{Value as Json, json};

use super::ruleset::{Family, Ruleset};

impl Ruleset {
    /// This ruleset with `table inet netd` replaced by the one `batch` (an
    /// `nft -j -f` batch of `add` commands, as netd renders it) makes.
    pub fn with_netd_table(&self, batch: &Json) -> Ruleset {
        let mut handle = 0u64;
        let objects: Vec<Json> = batch
            .get("nftables")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|cmd| cmd.get("add"))
            .filter_map(|add| super::parse::single(add))
            .map(|(kind, body)| {
                handle += 1;
                let mut body = body.clone();
                if let Some(o) = body.as_object_mut() {
                    o.entry("handle").or_insert(json!(handle));
                }
                json!({ kind: body })
            })
            .collect();
        let planned = Ruleset::from_json(&json!({ "nftables": objects })).unwrap_or_default();
        let mut out = self.clone();
        out.tables
            .retain(|t| !(t.family == Family::Inet && t.name == "netd"));
        out.tables.extend(
            planned
                .tables
                .into_iter()
                .filter(|t| t.family == Family::Inet && t.name == "netd"),
        );
        out
    }
}
