//! netd's nftables table, `table inet netd`: rendered by pure code from the
//! model, applied as one atomic transaction through the `nftables` crate.

mod apply;
mod integrate;
mod publish_maps;
mod render;

pub use apply::{NftError, NftObserved, TAG, TaggedRule, apply, read_host};
pub use integrate::{Wanted, commands as integrate_commands, wanted as integrate_wanted};
pub use render::{Rendered, TABLE, delete_commands, localnet_keys, needed, render};

#[cfg(test)]
mod tests;
