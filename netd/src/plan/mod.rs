//! plan = diff(desired, observed): the exact kernel changes that converge
//! the host, as data. Pure; golden-tested.

mod change;
mod diff;
mod host;
mod links;
mod pins;
mod routes;
mod summary;

pub use change::{Change, LinkKind, LinkSettings, Scope};
pub use diff::{Conflict, Plan, plan};
pub use summary::ChangeSummary;

#[cfg(test)]
mod tests;
