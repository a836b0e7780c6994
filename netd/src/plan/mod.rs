//! plan = diff(desired, observed): the exact kernel changes that converge
//! the host, as data. Pure; golden-tested.

mod change;
mod diff;
mod host;
mod links;
mod pins;
mod routes;

pub use change::{Change, ChangeSummary, LinkSettings, Scope};
pub use diff::{Conflict, Plan, plan};

#[cfg(test)]
mod tests;
