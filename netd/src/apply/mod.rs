//! apply(plan): turns changes into netlink batches, namespace creations and
//! sysctl writes, in dependency order, and reports what was done and what
//! was not.

mod batch;
mod create;
mod kernel;
mod lower;
mod namespace;
mod order;
mod real;
mod records;
mod report;

pub use kernel::Kernel;
pub use lower::apply;
pub use real::RealKernel;
pub use report::{Outcome, Report};

#[cfg(test)]
mod converge_tests;
#[cfg(test)]
mod tests;
