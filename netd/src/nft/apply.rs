//! Applying and reading back `table inet netd`, through the `nftables`
//! crate's helpers (which run `nft -j`).

use serde_json::Value;

use super::render::TABLE;

#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("nft: {0}")]
    Nft(String),
    #[error("cannot read nft's answer: {0}")]
    Json(#[from] serde_json::Error),
}

fn nft_error(e: nftables::helper::NftablesError) -> NftError {
    NftError::Nft(match e {
        nftables::helper::NftablesError::NftExecution { inner, .. } => {
            format!("cannot run nft ({inner}); install the nftables package to publish ports")
        }
        nftables::helper::NftablesError::NftFailed { stderr, .. } if !stderr.trim().is_empty() => {
            stderr.trim().to_string()
        }
        // nft's own message went straight to stderr.
        nftables::helper::NftablesError::NftFailed { .. } => "nft rejected the transaction".into(),
        other => other.to_string(),
    })
}

const NO_ARGS: [&str; 0] = [];

/// Runs one `nft -j -f` transaction: all of it takes effect, or none.
pub fn apply(commands: &str) -> Result<(), NftError> {
    nftables::helper::apply_ruleset_raw(commands, None::<&str>, NO_ARGS)
        .map(drop)
        .map_err(nft_error)
}

/// A rule netd inserted into a host chain (integrate mode), recognised by
/// its comment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaggedRule {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub handle: u64,
    pub comment: String,
}

/// What netd reads of the host's ruleset.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NftObserved {
    /// `table inet netd`: None when absent, else the fingerprint in its
    /// marker rule and its number of rules.
    pub table: Option<(Option<String>, usize)>,
    /// netd's rules in other tables.
    pub tagged: Vec<TaggedRule>,
    /// (family, table, chain) → hook, for every chain (None: not a base chain).
    pub chains: Vec<(String, String, String, Option<String>)>,
}

/// Reads the whole ruleset once: netd's table, and netd's tagged rules and
/// the chains of the host's tables.
pub fn read_host() -> Result<NftObserved, NftError> {
    let listing = nftables::helper::get_current_ruleset_raw(None::<&str>, ["list", "ruleset"])
        .map_err(nft_error)?;
    Ok(summarize(&serde_json::from_str(&listing)?))
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Condenses a `nft -j list ruleset` answer to what netd compares.
pub(super) fn summarize(listing: &Value) -> NftObserved {
    let mut out = NftObserved::default();
    let mut own_rules = 0;
    let mut fingerprint = None;
    for o in listing["nftables"].as_array().into_iter().flatten() {
        if let Some(t) = o.get("table")
            && text(t, "family") == "inet"
            && text(t, "name") == TABLE
        {
            out.table = Some((None, 0));
        }
        if let Some(c) = o.get("chain") {
            let hook = c.get("hook").and_then(Value::as_str).map(str::to_string);
            out.chains
                .push((text(c, "family"), text(c, "table"), text(c, "name"), hook));
        }
        let Some(r) = o.get("rule") else { continue };
        let comment = r.get("comment").and_then(Value::as_str);
        if text(r, "family") == "inet" && text(r, "table") == TABLE {
            own_rules += 1;
            if let Some(fp) = comment.and_then(|c| c.strip_prefix("netd ")) {
                fingerprint = Some(fp.to_string());
            }
        } else if let Some(c) = comment.filter(|c| c.starts_with(TAG)) {
            out.tagged.push(TaggedRule {
                family: text(r, "family"),
                table: text(r, "table"),
                chain: text(r, "chain"),
                handle: r.get("handle").and_then(Value::as_u64).unwrap_or_default(),
                comment: c.to_string(),
            });
        }
    }
    if out.table.is_some() {
        out.table = Some((fingerprint, own_rules));
    }
    out
}

/// Comment prefix of netd's rules in host chains.
pub const TAG: &str = "netd: ";
