//! Applying and reading back `table inet netd`, through the `nftables`
//! crate's helpers (which run `nft -j`).

use serde::Deserialize;

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

/// Reads the whole ruleset once, without set and map elements (`-t`): netd's
/// table, and netd's tagged rules and the chains of the host's tables.
pub fn read_host() -> Result<NftObserved, NftError> {
    let listing =
        nftables::helper::get_current_ruleset_raw(None::<&str>, ["-t", "list", "ruleset"])
            .map_err(nft_error)?;
    if listing.trim().is_empty() {
        return Ok(NftObserved::default());
    }
    Ok(summarize(serde_json::from_str(&listing)?))
}

/// The parts of a `nft -j list ruleset` answer netd compares. Everything
/// else, rule expressions above all, is skipped while parsing: a host with
/// Docker and firewalld has thousands of them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Listing {
    #[serde(default)]
    nftables: Vec<Item>,
}

#[derive(Debug, Default, Deserialize)]
struct Item {
    table: Option<Named>,
    chain: Option<Named>,
    rule: Option<Named>,
}

#[derive(Debug, Default, Deserialize)]
struct Named {
    #[serde(default)]
    family: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    table: String,
    #[serde(default)]
    chain: String,
    hook: Option<String>,
    handle: Option<u64>,
    comment: Option<String>,
}

/// Condenses a listing to what netd compares.
pub(super) fn summarize(listing: Listing) -> NftObserved {
    let mut out = NftObserved::default();
    let mut own_rules = 0;
    let mut fingerprint = None;
    for item in listing.nftables {
        if let Some(t) = item.table
            && t.family == "inet"
            && t.name == TABLE
        {
            out.table = Some((None, 0));
        }
        if let Some(c) = item.chain {
            out.chains.push((c.family, c.table, c.name, c.hook));
        }
        let Some(r) = item.rule else { continue };
        if r.family == "inet" && r.table == TABLE {
            own_rules += 1;
            if let Some(fp) = r.comment.as_deref().and_then(|c| c.strip_prefix("netd ")) {
                fingerprint = Some(fp.to_string());
            }
        } else if let Some(comment) = r.comment.filter(|c| c.starts_with(TAG)) {
            out.tagged.push(TaggedRule {
                family: r.family,
                table: r.table,
                chain: r.chain,
                handle: r.handle.unwrap_or_default(),
                comment,
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
