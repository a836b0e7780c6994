//! plan = diff(desired, observed): the exact kernel changes that converge
//! the host, as data. Pure; golden-tested.

mod addresses;
mod bridge_mtu;
mod change;
mod diff;
mod host;
mod linklocal;
mod links;
mod pins;
mod replace;
mod routes;
mod summary;

pub use change::{Change, LinkKind, LinkSettings, Scope};
pub use diff::{Conflict, Plan, plan};
pub use linklocal::{MODE_EUI64, MODE_NONE, eui64_link_local, is_link_local};
pub use summary::ChangeSummary;

#[cfg(test)]
mod tests;
